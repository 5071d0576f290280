// Engine.IO v4 packet codec: websocket frames and HTTP long-polling payloads (no I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::eio {

// The wire digit of each type is '0' + its value.
enum class PacketType : uint8_t {
  kOpen = 0,
  kClose = 1,
  kPing = 2,
  kPong = 3,
  kMessage = 4,
  kUpgrade = 5,
  kNoop = 6,
};

// "open", "close", ... as engine.io-parser names them (for logs).
std::string_view packet_type_name(PacketType type);

inline constexpr char packet_type_char(PacketType type) {
  return static_cast<char>('0' + static_cast<uint8_t>(type));
}

// Separates packets in a polling payload (ASCII record separator).
inline constexpr char kRecordSeparator = '\x1e';

// One Engine.IO packet. `binary` is only meaningful for kMessage: its `data` holds raw bytes that
// travel as a binary websocket frame, or as 'b' + base64 in a polling payload.
struct Packet {
  PacketType type = PacketType::kMessage;
  bool binary = false;
  std::string data;

  friend bool operator==(const Packet&, const Packet&) = default;
};

// --- WebSocket: one packet per frame ---------------------------------------------------------

// Bytes of the frame payload `append_ws_frame` writes: a binary message is its raw bytes, anything
// else is the type digit followed by the data.
inline std::size_t ws_frame_size(const Packet& packet) {
  return packet.binary ? packet.data.size() : 1 + packet.data.size();
}

// Appends the websocket frame payload for `packet` to `out`; the caller sends it as a binary frame
// when `packet.binary`, otherwise as a text frame.
void append_ws_frame(const Packet& packet, std::string& out);

// Decodes a text frame (also used for each packet of a polling payload): "<type digit>[data]", or
// "b<base64>" for a binary message. Errors: empty packet, unknown packet type, bad base64.
Result<Packet> decode_text_packet(std::string_view text);

// A binary websocket frame is always a binary message carrying the frame's bytes.
inline Packet decode_binary_frame(std::string_view bytes) {
  return Packet{PacketType::kMessage, true, std::string(bytes)};
}

// --- HTTP long-polling payloads ----------------------------------------------------------------

// Bytes `append_payload` writes for `packets`.
std::size_t payload_size(std::span<const Packet> packets);

// Appends a polling response body: packets joined by '\x1e', binary messages as 'b' + base64.
// Like the reference server, text data is written as is: it must not contain '\x1e'.
void append_payload(std::span<const Packet> packets, std::string& out);

struct PayloadLimits {
  std::size_t max_bytes = 1'000'000;  // the handshake's maxPayload
  std::size_t max_packets = 1000;
};

// Decodes a polling POST body. The whole body is refused on the first bad packet (the reference
// server closes the session with "parse error"); an empty body is an empty packet.
Result<std::vector<Packet>> decode_payload(std::string_view body, const PayloadLimits& limits = {});

}  // namespace herald::eio
