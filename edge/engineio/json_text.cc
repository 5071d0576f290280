// JSON string escaping (JSON.stringify-compatible) and UTF-8 validation.
#include "edge/engineio/json_text.h"

#include <cstdint>

namespace herald::eio {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

// Length of the valid UTF-8 sequence at the start of `s` (s[0] >= 0x80), or 0 when invalid.
std::size_t utf8_sequence_length(std::string_view s) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  std::size_t len;
  uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // UTF-16 surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  const auto b1 = static_cast<uint8_t>(s[1]);
  if (b1 < lo || b1 > hi) return 0;
  for (std::size_t i = 2; i < len; ++i) {
    if ((static_cast<uint8_t>(s[i]) & 0xc0) != 0x80) return 0;
  }
  return len;
}

// Walks `text` once, handing verbatim runs and escapes to `sink` (counting or appending), so that
// the size and the bytes can never disagree.
template <typename Sink>
void escape_json(std::string_view text, Sink&& sink) {
  std::size_t run = 0;  // start of the pending verbatim run
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence_length(text.substr(i));
      if (len != 0) {
        i += len;
        continue;
      }
    }
    sink(text.substr(run, i - run));
    switch (c) {
      case '"':
        sink("\\\"");
        break;
      case '\\':
        sink("\\\\");
        break;
      case '\b':
        sink("\\b");
        break;
      case '\f':
        sink("\\f");
        break;
      case '\n':
        sink("\\n");
        break;
      case '\r':
        sink("\\r");
        break;
      case '\t':
        sink("\\t");
        break;
      default:
        if (c < 0x20) {
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          sink(std::string_view(esc, sizeof(esc)));
        } else {
          sink(kReplacement);
        }
    }
    ++i;
    run = i;
  }
  sink(text.substr(run));
}

}  // namespace

void append_json_string(std::string_view text, std::string& out) {
  out += '"';
  escape_json(text, [&out](std::string_view piece) { out.append(piece); });
  out += '"';
}

std::size_t json_string_size(std::string_view text) {
  std::size_t size = 2;
  escape_json(text, [&size](std::string_view piece) { size += piece.size(); });
  return size;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text.substr(i));
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace herald::eio
