// Engine.IO handshake JSON and HTTP error responses.
#include "edge/engineio/handshake.h"

#include <cstdint>

#include "edge/engineio/json_text.h"

namespace herald::eio {
namespace {

void append_uint(uint64_t v, std::string& out) {
  char buf[20];
  char* p = buf + sizeof(buf);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, buf + sizeof(buf) - p);
}

}  // namespace

void append_handshake_json(const Handshake& handshake, std::string& out) {
  out += "{\"sid\":";
  append_json_string(handshake.sid, out);
  out += ",\"upgrades\":[";
  for (std::size_t i = 0; i < handshake.upgrades.size(); ++i) {
    if (i != 0) out += ',';
    append_json_string(handshake.upgrades[i], out);
  }
  out += "],\"pingInterval\":";
  append_uint(handshake.ping_interval_ms, out);
  out += ",\"pingTimeout\":";
  append_uint(handshake.ping_timeout_ms, out);
  out += ",\"maxPayload\":";
  append_uint(handshake.max_payload, out);
  out += '}';
}

std::string handshake_json(const Handshake& handshake) {
  std::string out;
  append_handshake_json(handshake, out);
  return out;
}

Packet open_packet(const Handshake& handshake) {
  return Packet{PacketType::kOpen, false, handshake_json(handshake)};
}

std::string_view error_message(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnknownTransport:
      return "Transport unknown";
    case ErrorCode::kUnknownSid:
      return "Session ID unknown";
    case ErrorCode::kBadHandshakeMethod:
      return "Bad handshake method";
    case ErrorCode::kBadRequest:
      return "Bad request";
    case ErrorCode::kForbidden:
      return "Forbidden";
    case ErrorCode::kUnsupportedProtocolVersion:
      return "Unsupported protocol version";
  }
  return "Bad request";
}

int error_http_status(ErrorCode code) {
  return code == ErrorCode::kForbidden ? 403 : 400;
}

std::string error_body(ErrorCode code) {
  return error_body(code, error_message(code));
}

std::string error_body(ErrorCode code, std::string_view message) {
  std::string out = "{\"code\":";
  append_uint(static_cast<uint64_t>(code), out);
  out += ",\"message\":";
  append_json_string(message, out);
  out += '}';
  return out;
}

}  // namespace herald::eio
