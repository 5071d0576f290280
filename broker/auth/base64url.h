// Strict base64url (RFC 4648 §5, no padding) for JWS segments, and lenient base64 for config.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald::auth {

// Unpadded base64url, as JWS requires.
std::string base64url_encode(std::string_view bytes);

// Strict JWS decoding: only [A-Za-z0-9-_], no '=' padding, no whitespace, no impossible length
// (len % 4 == 1) and no non-zero trailing bits, so every byte string has exactly one encoding.
std::optional<std::string> base64url_decode(std::string_view text);

// For configuration values only: accepts the standard and url-safe alphabets, optional padding.
std::optional<std::string> base64_decode_lenient(std::string_view text);

}  // namespace herald::auth
