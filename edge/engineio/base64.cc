// Table-driven base64 encoder and strict decoder.
#include "edge/engineio/base64.h"

#include <array>
#include <cstdint>

namespace herald::eio {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> make_decode_table() {
  std::array<uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<uint8_t, 256> kDecode = make_decode_table();

}  // namespace

void base64_append(std::string_view bytes, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + base64_encoded_size(bytes.size()));
  char* dst = out.data() + start;
  const auto* src = reinterpret_cast<const uint8_t*>(bytes.data());
  std::size_t n = bytes.size();
  while (n >= 3) {
    const uint32_t v = (uint32_t{src[0]} << 16) | (uint32_t{src[1]} << 8) | src[2];
    dst[0] = kAlphabet[v >> 18];
    dst[1] = kAlphabet[(v >> 12) & 63];
    dst[2] = kAlphabet[(v >> 6) & 63];
    dst[3] = kAlphabet[v & 63];
    src += 3;
    dst += 4;
    n -= 3;
  }
  if (n == 1) {
    const uint32_t v = uint32_t{src[0]} << 16;
    dst[0] = kAlphabet[v >> 18];
    dst[1] = kAlphabet[(v >> 12) & 63];
    dst[2] = '=';
    dst[3] = '=';
  } else if (n == 2) {
    const uint32_t v = (uint32_t{src[0]} << 16) | (uint32_t{src[1]} << 8);
    dst[0] = kAlphabet[v >> 18];
    dst[1] = kAlphabet[(v >> 12) & 63];
    dst[2] = kAlphabet[(v >> 6) & 63];
    dst[3] = '=';
  }
}

bool base64_decode_append(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  if (text.empty()) return true;
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t start = out.size();
  out.resize(start + text.size() / 4 * 3 - pad);
  char* dst = out.data() + start;
  const auto* src = reinterpret_cast<const uint8_t*>(text.data());
  const std::size_t full_groups = text.size() / 4 - (pad != 0 ? 1 : 0);
  uint8_t bad = 0;  // OR of all table lookups: one branch per payload instead of per character
  for (std::size_t g = 0; g < full_groups; ++g, src += 4, dst += 3) {
    const uint8_t a = kDecode[src[0]], b = kDecode[src[1]], c = kDecode[src[2]],
                  d = kDecode[src[3]];
    bad |= a | b | c | d;
    const uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
    dst[0] = static_cast<char>(v >> 16);
    dst[1] = static_cast<char>((v >> 8) & 0xff);
    dst[2] = static_cast<char>(v & 0xff);
  }
  if (pad != 0) {
    const uint8_t a = kDecode[src[0]], b = kDecode[src[1]];
    const uint8_t c = pad == 1 ? kDecode[src[2]] : 0;
    bad |= a | b | c;
    if ((bad & 0xc0) == 0) {
      // Non-zero bits beyond the last byte mean a non-canonical encoding.
      if (pad == 2 && (b & 0x0f) != 0) bad = kInvalid;
      if (pad == 1 && (c & 0x03) != 0) bad = kInvalid;
      dst[0] = static_cast<char>((a << 2) | (b >> 4));
      if (pad == 1) dst[1] = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
    }
  }
  if ((bad & 0xc0) != 0) {
    out.resize(start);
    return false;
  }
  return true;
}

}  // namespace herald::eio
