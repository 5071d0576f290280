// The per-session outbound queue's element and its two wire encodings (websocket frames and
// polling payload), shared by the polling and websocket transports.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "edge/engineio/session_handler.h"
#include "edge/websocket/frame.h"

namespace herald::eio {

// Payload bytes of a message: '4' + text + binaries (the per-session byte limit counts these).
inline std::size_t payload_bytes(const OutboundMessage& m) {
  if (m.ws_prefix_size != 0) return m.payload_size;
  std::size_t n = 1 + m.text.size();
  for (const auto& b : m.binaries) n += b.size();
  return n;
}

// Computes a message's shared framing (OutboundMessage::payload_size, ws_prefix) once its text
// and binaries are final.
inline void seal_message(OutboundMessage& m) {
  m.ws_prefix_size = 0;
  m.payload_size = payload_bytes(m);
  const ws::FrameHeader h = ws::make_header(ws::Opcode::kText, 1 + m.text.size());
  std::copy_n(h.bytes.data(), h.size, m.ws_prefix.data());
  m.ws_prefix[h.size] = '4';
  m.ws_prefix_size = static_cast<std::uint8_t>(h.size + 1);
}

// One queued item: a shared message (never copied), or a small Engine.IO packet or websocket
// control frame owned by the item.
struct OutItem {
  enum class Kind : uint8_t {
    kMessage,    // `message`: '4' + text, then each binary
    kPacket,     // `text`: an Engine.IO packet (type digit + data), e.g. "2", "3probe", "1"
    kWsControl,  // `text`: payload of a websocket control frame `opcode` (never on polling)
    kRaw,        // `text`: bytes written as they are — the HTTP 101 ahead of the first frame
  };

  SharedMessage message;
  std::string text;
  Kind kind = Kind::kPacket;
  ws::Opcode opcode = ws::Opcode::kText;

  static OutItem of_message(SharedMessage m) {
    OutItem item;
    item.message = std::move(m);
    item.kind = Kind::kMessage;
    return item;
  }
  static OutItem packet(std::string text) {
    OutItem item;
    item.text = std::move(text);
    return item;
  }
  static OutItem control(ws::Opcode op, std::string payload) {
    OutItem item;
    item.text = std::move(payload);
    item.kind = Kind::kWsControl;
    item.opcode = op;
    return item;
  }

  static OutItem raw(std::string bytes) {
    OutItem item;
    item.text = std::move(bytes);
    item.kind = Kind::kRaw;
    return item;
  }

  // Payload bytes, for the per-session byte limit.
  std::size_t payload_bytes() const {
    return kind == Kind::kMessage ? eio::payload_bytes(*message) : text.size();
  }

  bool is_close_packet() const { return kind == Kind::kPacket && text == "1"; }
};

}  // namespace herald::eio
