// Fuzzes Engine.IO single-packet decoding (websocket text/binary frames) and checks round trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "edge/engineio/base64.h"
#include "edge/engineio/packet.h"

using herald::eio::Packet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  herald::Result<Packet> packet = herald::eio::decode_text_packet(input);
  if (packet.ok()) {
    std::string out;
    if (packet->binary) {
      // The decoder accepts only canonical base64, so re-encoding gives the input back.
      out += 'b';
      herald::eio::base64_append(packet->data, out);
    } else {
      herald::eio::append_ws_frame(*packet, out);
      if (out.size() != herald::eio::ws_frame_size(*packet)) abort();
    }
    if (out != input) abort();
  }

  const Packet binary = herald::eio::decode_binary_frame(input);
  std::string frame;
  herald::eio::append_ws_frame(binary, frame);
  if (frame != input || frame.size() != herald::eio::ws_frame_size(binary)) abort();

  // base64 round trip of arbitrary bytes.
  std::string decoded;
  if (!herald::eio::base64_decode_append(herald::eio::base64_encode(input), decoded) ||
      decoded != input) {
    abort();
  }
  return 0;
}
