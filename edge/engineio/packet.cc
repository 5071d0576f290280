// Engine.IO v4 packet encoding and decoding, following engine.io-parser's lib/ byte for byte.
#include "edge/engineio/packet.h"

#include <cassert>

#include "edge/engineio/base64.h"

namespace herald::eio {
namespace {

constexpr uint8_t kMaxType = static_cast<uint8_t>(PacketType::kNoop);

std::size_t polling_packet_size(const Packet& packet) {
  return packet.binary ? 1 + base64_encoded_size(packet.data.size()) : 1 + packet.data.size();
}

void append_polling_packet(const Packet& packet, std::string& out) {
  if (packet.binary) {
    assert(packet.type == PacketType::kMessage);
    out += 'b';
    base64_append(packet.data, out);
  } else {
    out += packet_type_char(packet.type);
    out += packet.data;
  }
}

}  // namespace

std::string_view packet_type_name(PacketType type) {
  switch (type) {
    case PacketType::kOpen:
      return "open";
    case PacketType::kClose:
      return "close";
    case PacketType::kPing:
      return "ping";
    case PacketType::kPong:
      return "pong";
    case PacketType::kMessage:
      return "message";
    case PacketType::kUpgrade:
      return "upgrade";
    case PacketType::kNoop:
      return "noop";
  }
  return "unknown";
}

void append_ws_frame(const Packet& packet, std::string& out) {
  if (packet.binary) {
    assert(packet.type == PacketType::kMessage);
    out += packet.data;
  } else {
    out += packet_type_char(packet.type);
    out += packet.data;
  }
}

Result<Packet> decode_text_packet(std::string_view text) {
  if (text.empty()) return invalid_argument("engine.io: empty packet");
  const char c = text.front();
  if (c == 'b') {
    Packet packet{PacketType::kMessage, true, {}};
    packet.data.reserve(base64_max_decoded_size(text.size() - 1));
    if (!base64_decode_append(text.substr(1), packet.data)) {
      return invalid_argument("engine.io: bad base64 in binary packet");
    }
    return packet;
  }
  const auto digit = static_cast<uint8_t>(c - '0');
  if (c < '0' || digit > kMaxType) {
    return invalid_argument("engine.io: unknown packet type");
  }
  return Packet{static_cast<PacketType>(digit), false, std::string(text.substr(1))};
}

std::size_t payload_size(std::span<const Packet> packets) {
  if (packets.empty()) return 0;
  std::size_t size = packets.size() - 1;  // separators
  for (const Packet& packet : packets) size += polling_packet_size(packet);
  return size;
}

void append_payload(std::span<const Packet> packets, std::string& out) {
  out.reserve(out.size() + payload_size(packets));
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i != 0) out += kRecordSeparator;
    append_polling_packet(packets[i], out);
  }
}

Result<std::vector<Packet>> decode_payload(std::string_view body, const PayloadLimits& limits) {
  if (body.size() > limits.max_bytes) {
    return resource_exhausted("engine.io: payload of " + std::to_string(body.size()) +
                              " bytes is over the limit of " + std::to_string(limits.max_bytes));
  }
  std::vector<Packet> packets;
  std::size_t pos = 0;
  while (true) {
    const std::size_t sep = body.find(kRecordSeparator, pos);
    const std::string_view text =
        body.substr(pos, sep == std::string_view::npos ? std::string_view::npos : sep - pos);
    if (packets.size() == limits.max_packets) {
      return resource_exhausted("engine.io: payload has more than " +
                                std::to_string(limits.max_packets) + " packets");
    }
    Result<Packet> packet = decode_text_packet(text);
    if (!packet.ok()) {
      return Status(packet.status().code(), packet.status().message() + " (packet " +
                                                std::to_string(packets.size()) + " of payload)");
    }
    packets.push_back(std::move(packet).value());
    if (sep == std::string_view::npos) break;
    pos = sep + 1;
  }
  return packets;
}

}  // namespace herald::eio
