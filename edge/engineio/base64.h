// Standard (RFC 4648 §4) base64 for Engine.IO binary packets in polling payloads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herald::eio {

// Length of the padded encoding of `n` bytes.
constexpr std::size_t base64_encoded_size(std::size_t n) {
  return (n + 2) / 3 * 4;
}

// Upper bound of the decoded length of `n` base64 characters.
constexpr std::size_t base64_max_decoded_size(std::size_t n) {
  return n / 4 * 3 + 3;
}

// Appends the padded base64 encoding of `bytes` to `out`, exactly as Node's
// Buffer.toString("base64") writes it.
void base64_append(std::string_view bytes, std::string& out);

inline std::string base64_encode(std::string_view bytes) {
  std::string out;
  base64_append(bytes, out);
  return out;
}

// Strict decode: standard alphabet only, length a multiple of 4, '=' only as the last one or
// two characters, and unused bits of the last group zero (the canonical encoding every
// Engine.IO client produces). Appends to `out` and returns true, or returns false and leaves
// `out` with its original size.
[[nodiscard]] bool base64_decode_append(std::string_view text, std::string& out);

}  // namespace herald::eio
