// Fuzzes a Socket.IO connection's frame sequence: '\n'-separated chunks, the first byte of each
// saying whether it is a text frame ('t') or a binary frame (anything else), fed to decode_packet
// and BinaryReconstructor like the edge does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "edge/socketio/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  herald::sio::DecodeLimits limits;
  limits.max_attachments = 8;
  limits.strict_placeholders = (size & 1) == 0;
  herald::sio::BinaryReconstructor reconstructor(4096);

  while (!input.empty()) {
    const std::size_t end = input.find('\n');
    const std::string_view chunk = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (chunk.empty()) continue;
    const std::string_view frame = chunk.substr(1);

    if (chunk[0] == 't') {
      if (reconstructor.in_progress()) {
        if (reconstructor.start(herald::sio::Packet{}).ok()) abort();
        reconstructor.reset();
      }
      auto packet = herald::sio::decode_packet(frame, limits);
      if (!packet.ok() || !herald::sio::is_binary_type(packet->type)) continue;
      if (packet->attachments > limits.max_attachments) abort();
      if (!reconstructor.start(std::move(packet).value()).ok()) abort();
    } else {
      const bool was_in_progress = reconstructor.in_progress();
      auto added = reconstructor.add(std::string(frame));
      if (added.ok() && !was_in_progress) abort();
      if (!added.ok()) continue;
    }
    if (reconstructor.complete()) {
      const herald::sio::BinaryPacket done = reconstructor.take();
      if (done.attachments.size() != done.packet.attachments) abort();
      if (reconstructor.in_progress() || reconstructor.complete()) abort();
    }
  }
  return 0;
}
