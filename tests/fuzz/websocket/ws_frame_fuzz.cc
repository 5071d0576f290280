// libFuzzer target for the RFC 6455 frame parser: one-shot and chunked parsing must agree, every
// message must satisfy the protocol's invariants, and re-encoded messages must parse back.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "edge/websocket/frame.h"
#include "edge/websocket/utf8.h"

namespace {

using herald::ws::CloseCode;
using herald::ws::FrameParser;
using herald::ws::Message;
using herald::ws::Opcode;
using herald::ws::Role;

struct Got {
  Opcode opcode;
  std::string payload;
  bool operator==(const Got&) const = default;
};

struct Outcome {
  std::vector<Got> messages;
  bool ok = true;
  CloseCode code = CloseCode::kNormal;
  bool operator==(const Outcome&) const = default;
};

void check(bool condition) {
  if (!condition) std::abort();
}

// Feeds `wire` in reads of `chunk` bytes (0: all at once) through a scratch buffer that is
// scribbled over after each read, as the per-shard read buffer will be.
Outcome run(const std::string& wire, Role role, std::size_t max, std::size_t chunk) {
  FrameParser parser(max, role);
  Outcome out;
  std::vector<char> scratch;
  std::size_t pos = 0;
  do {
    const std::size_t n = chunk == 0 ? wire.size() : std::min(chunk, wire.size() - pos);
    scratch.assign(wire.begin() + static_cast<std::ptrdiff_t>(pos),
                   wire.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
    herald::Status st = parser.feed(std::span<char>(scratch), [&](const Message& m) {
      check(m.opcode != Opcode::kContinuation);
      if (herald::ws::is_control(m.opcode)) {
        check(m.payload.size() <= 125);
      } else {
        check(m.payload.size() <= max);
      }
      if (m.opcode == Opcode::kText) check(herald::ws::is_valid_utf8(m.payload));
      if (m.opcode == Opcode::kClose) {
        check(herald::ws::parse_close_payload(m.payload).ok());
        check(parser.closed());
      }
      out.messages.push_back({m.opcode, std::string(m.payload)});
    });
    std::memset(scratch.data(), 0xA5, scratch.size());
    if (!st.ok()) {
      check(parser.failed());
      out.ok = false;
      out.code = parser.error_code();
      check(out.code == CloseCode::kProtocolError || out.code == CloseCode::kInvalidPayload ||
            out.code == CloseCode::kMessageTooBig);
      break;
    }
  } while (pos < wire.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0: role and limit; byte 1: read size for the chunked run; the rest is the wire.
  const Role role = (data[0] & 1) ? Role::kClient : Role::kServer;
  const std::size_t max = (data[0] & 2) ? 64 : 4096;
  const std::size_t chunk = data[1] % 17 + 1;
  const std::string wire(reinterpret_cast<const char*>(data + 2), size - 2);

  const Outcome whole = run(wire, role, max, 0);
  check(run(wire, role, max, chunk) == whole);

  // Whatever parsed must parse again, identically, after re-encoding (data messages unfragmented).
  std::string again;
  for (const Got& g : whole.messages) {
    if (role == Role::kServer) {
      herald::ws::encode_masked_frame(again, g.opcode, g.payload, {0x11, 0x22, 0x33, 0x44});
    } else {
      herald::ws::encode_frame(again, g.opcode, g.payload);
    }
  }
  const Outcome reparsed = run(again, role, max, 0);
  check(reparsed.ok);
  check(reparsed.messages == whole.messages);
  return 0;
}
