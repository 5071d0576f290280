// Fuzzes Socket.IO text frame decoding; accepted packets must re-encode, re-decode identically,
// parse as JSON, and (events) split and splice back to the same packet.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "edge/socketio/packet.h"

using herald::sio::Packet;
using herald::sio::PacketType;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  herald::sio::DecodeLimits limits;
  limits.max_json_depth = 32;
  herald::Result<Packet> packet = herald::sio::decode_packet(input, limits);
  if (!packet.ok()) return 0;

  const std::string encoded = herald::sio::encode_packet(*packet);
  if (encoded.size() != herald::sio::encoded_size(*packet)) abort();
  herald::Result<Packet> again = herald::sio::decode_packet(encoded, limits);
  if (!again.ok() || !(*again == *packet)) abort();

  if (!packet->data_json.empty() && !herald::sio::parse_json(packet->data_json, 32).ok()) abort();

  if (packet->type == PacketType::kEvent || packet->type == PacketType::kBinaryEvent) {
    auto parts = herald::sio::split_event(packet->data_json);
    if (!parts.ok()) abort();
    const std::string args = parts->args_json();
    std::string frame;
    if (!herald::sio::append_event(packet->nsp, parts->name, args, packet->attachments, packet->id,
                                   frame)
             .ok()) {
      abort();
    }
    if (frame.size() != herald::sio::event_encoded_size(packet->nsp, parts->name, args,
                                                        packet->attachments, packet->id)) {
      abort();
    }
    herald::Result<Packet> spliced = herald::sio::decode_packet(frame, limits);
    // A BINARY_EVENT with 0 attachments is re-spliced as a plain EVENT.
    if (!spliced.ok() || spliced->nsp != packet->nsp || spliced->id != packet->id ||
        spliced->attachments != packet->attachments) {
      abort();
    }
    auto parts2 = herald::sio::split_event(spliced->data_json);
    if (!parts2.ok() || parts2->name != parts->name) abort();
    // Splicing drops the whitespace of an empty argument list, so compare the values.
    auto args_value = herald::sio::parse_json(args, 32);
    auto args2_value = herald::sio::parse_json(parts2->args_json(), 32);
    if (!args_value.ok() || !args2_value.ok() || *args_value != *args2_value) abort();
  }
  return 0;
}
