// Base64url encoding and strict decoding.
#include "broker/auth/base64url.h"

#include <array>
#include <cstdint>

namespace herald::auth {
namespace {

constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_table(bool lenient) {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<uint8_t>(kUrlAlphabet[i])] = static_cast<int8_t>(i);
  if (lenient) {
    table[static_cast<uint8_t>('+')] = 62;
    table[static_cast<uint8_t>('/')] = 63;
  }
  return table;
}

constexpr auto kStrictTable = make_table(false);
constexpr auto kLenientTable = make_table(true);

std::optional<std::string> decode(std::string_view text, const std::array<int8_t, 256>& table) {
  if (text.size() % 4 == 1) return std::nullopt;
  // Written through a pointer into a pre-sized string: a token's three parts are decoded on every
  // handshake, and push_back per byte was most of the cost.
  std::string out(text.size() / 4 * 3 + 2, '\0');
  char* p = out.data();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int8_t v = table[static_cast<uint8_t>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *p++ = static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero, otherwise two encodings would decode to the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(p - out.data()));
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kUrlAlphabet[(n >> 18) & 63]);
    out.push_back(kUrlAlphabet[(n >> 12) & 63]);
    out.push_back(kUrlAlphabet[(n >> 6) & 63]);
    out.push_back(kUrlAlphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kUrlAlphabet[(n >> 18) & 63]);
    out.push_back(kUrlAlphabet[(n >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(kUrlAlphabet[(n >> 18) & 63]);
    out.push_back(kUrlAlphabet[(n >> 12) & 63]);
    out.push_back(kUrlAlphabet[(n >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, kStrictTable);
}

std::optional<std::string> base64_decode_lenient(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  return decode(text, kLenientTable);
}

}  // namespace herald::auth
