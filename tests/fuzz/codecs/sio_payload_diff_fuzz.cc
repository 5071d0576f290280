// Fuzzes decode_packet's payload checks (json_scan) against the nlohmann SAX validator they
// replaced (tests/support/sio_payload_oracle.h): the same verdict and message for every payload.
// The first byte picks the packet type, the second the attachment count, placeholder strictness
// and depth limit; the rest is the JSON payload.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "edge/socketio/packet.h"
#include "tests/support/sio_payload_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto type = static_cast<herald::sio::PacketType>(data[0] % 7);
  static constexpr uint32_t kDepths[8] = {64, 1, 2, 3, 4, 5, 8, 32};
  herald::sio::DecodeLimits limits;
  limits.strict_placeholders = (data[1] & 0x4) != 0;
  limits.max_json_depth = kDepths[(data[1] >> 3) & 7];
  const uint32_t attachments = data[1] & 3;
  const std::string json(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::string diff = herald::sio::oracle::disagreement(type, attachments, json, limits);
  if (!diff.empty()) {
    std::fprintf(stderr, "%s\n", diff.c_str());
    std::abort();
  }
  return 0;
}
