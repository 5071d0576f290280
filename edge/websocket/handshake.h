// RFC 6455 §4.2 server opening handshake: request validation and the 101 response, Beast-free.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace herald::ws {

// The parts of an HTTP Upgrade request the handshake looks at. The transport fills it from its
// HTTP parser (e.g. a Beast request: method_string(), version(), and the header values); a header
// that appears more than once is passed as its values joined with ", ".
struct HandshakeRequest {
  std::string_view method = "GET";
  unsigned http_version = 11;   // 10 for HTTP/1.0, 11 for HTTP/1.1 (Beast's encoding)
  std::string_view upgrade;     // Upgrade
  std::string_view connection;  // Connection
  std::string_view version;     // Sec-WebSocket-Version
  std::string_view key;         // Sec-WebSocket-Key
};

// Checks the request: GET, HTTP/1.1 or later, an Upgrade token list containing "websocket" and
// a Connection token list containing "upgrade" (both case-insensitive), Sec-WebSocket-Version 13
// and a Sec-WebSocket-Key that is base64 of 16 bytes. Returns the Sec-WebSocket-Accept value.
// Errors: kUnimplemented for an unsupported version (reply 426, see make_rejection_response),
// kInvalidArgument for anything else (reply 400).
Result<std::string> check_handshake(const HandshakeRequest& request);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string compute_accept_key(std::string_view key);

// The complete "101 Switching Protocols" response. `extra_headers` is inserted verbatim before
// the blank line; each of its lines must end with "\r\n".
std::string make_accept_response(std::string_view accept_key, std::string_view extra_headers = {});

// A complete response refusing the upgrade: 426 with "Sec-WebSocket-Version: 13" for
// kUnimplemented, 500 for kInternal, 400 otherwise; the body is the status message.
std::string make_rejection_response(const Status& status);

// Whether a comma-separated header value contains `token` (ASCII case-insensitive, optional
// whitespace around items).
bool header_has_token(std::string_view value, std::string_view token);

}  // namespace herald::ws
