// RFC 6455 §4.2 server opening handshake: request checks, Sec-WebSocket-Accept, responses.
#include "edge/websocket/handshake.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>

namespace herald::ws {
namespace {

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// base64 of exactly 16 bytes: 22 alphabet characters then "==" (the check `ws` makes).
bool is_valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

}  // namespace

bool header_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string compute_accept_key(std::string_view key) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  // Fetched once: an implicit fetch by EVP_sha1() on every handshake cost more than the hash.
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr && sha1 != nullptr &&
                  EVP_DigestInit_ex2(ctx, sha1, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, key.data(), key.size()) == 1 &&
                  EVP_DigestUpdate(ctx, kAcceptGuid.data(), kAcceptGuid.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest.data(), &digest_size) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return {};
  // 20 bytes of SHA-1 -> 28 base64 characters, plus EVP_EncodeBlock's terminating NUL.
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> encoded{};
  const int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_size));
  return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n)};
}

Result<std::string> check_handshake(const HandshakeRequest& request) {
  if (request.method != "GET") return invalid_argument("websocket upgrade must use GET");
  if (request.http_version < 11) {
    return invalid_argument("websocket upgrade needs HTTP/1.1 or later");
  }
  if (!header_has_token(request.upgrade, "websocket")) {
    return invalid_argument("missing or wrong Upgrade header (expected websocket)");
  }
  if (!header_has_token(request.connection, "upgrade")) {
    return invalid_argument("Connection header does not contain upgrade");
  }
  if (trim(request.version) != "13") {
    return Status(StatusCode::kUnimplemented, "unsupported Sec-WebSocket-Version (expected 13)");
  }
  const std::string_view key = trim(request.key);
  if (!is_valid_key(key)) return invalid_argument("invalid Sec-WebSocket-Key");
  std::string accept = compute_accept_key(key);
  if (accept.empty()) return internal_error("SHA-1 unavailable for Sec-WebSocket-Accept");
  return accept;
}

std::string make_accept_response(std::string_view accept_key, std::string_view extra_headers) {
  std::string out;
  out.reserve(128 + extra_headers.size());
  out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  out += "Sec-WebSocket-Accept: ";
  out += accept_key;
  out += "\r\n";
  out += extra_headers;
  out += "\r\n";
  return out;
}

std::string make_rejection_response(const Status& status) {
  std::string out;
  if (status.code() == StatusCode::kUnimplemented) {
    out = "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n";
  } else if (status.code() == StatusCode::kInternal) {
    out = "HTTP/1.1 500 Internal Server Error\r\n";
  } else {
    out = "HTTP/1.1 400 Bad Request\r\n";
  }
  out += "Connection: close\r\nContent-Type: text/plain\r\nContent-Length: ";
  out += std::to_string(status.message().size());
  out += "\r\n\r\n";
  out += status.message();
  return out;
}

}  // namespace herald::ws
