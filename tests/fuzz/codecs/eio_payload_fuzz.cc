// Fuzzes Engine.IO polling payload decoding (POST bodies) and checks that encoding gives it back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "edge/engineio/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  herald::eio::PayloadLimits limits;
  limits.max_bytes = 64 * 1024;
  limits.max_packets = 256;
  auto packets = herald::eio::decode_payload(body, limits);
  if (!packets.ok()) return 0;
  if (packets->empty() || packets->size() > limits.max_packets) abort();
  std::string out;
  herald::eio::append_payload(*packets, out);
  if (out.size() != herald::eio::payload_size(*packets)) abort();
  if (out != body) abort();
  return 0;
}
