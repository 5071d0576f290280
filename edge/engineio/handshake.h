// Engine.IO v4 handshake ("open" packet JSON) and the HTTP error table of the reference server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edge/engineio/packet.h"

namespace herald::eio {

// Values announced in the open packet. A websocket-only session announces no upgrades.
struct Handshake {
  std::string sid;
  std::vector<std::string> upgrades = {"websocket"};
  uint64_t ping_interval_ms = 25000;
  uint64_t ping_timeout_ms = 20000;
  uint64_t max_payload = 1000000;
};

// {"sid":"...","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,
//  "maxPayload":1000000}, keys in the order engine.io's Socket sends them.
void append_handshake_json(const Handshake& handshake, std::string& out);
std::string handshake_json(const Handshake& handshake);

// The open packet (type kOpen, data the handshake JSON).
Packet open_packet(const Handshake& handshake);

// Engine.IO's Server.errors; the numbers are part of the protocol (the "code" of the error body).
enum class ErrorCode : int {
  kUnknownTransport = 0,
  kUnknownSid = 1,
  kBadHandshakeMethod = 2,
  kBadRequest = 3,
  kForbidden = 4,
  kUnsupportedProtocolVersion = 5,
};

// "Transport unknown", "Session ID unknown", ... exactly as Server.errorMessages spells them.
std::string_view error_message(ErrorCode code);

// 403 for kForbidden, 400 otherwise (abortRequest in engine.io's server.ts).
int error_http_status(ErrorCode code);

// The application/json body of the error response: {"code":3,"message":"Bad request"}.
// The second form replaces the message, as an allowRequest callback's error message does.
std::string error_body(ErrorCode code);
std::string error_body(ErrorCode code, std::string_view message);

}  // namespace herald::eio
