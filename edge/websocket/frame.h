// RFC 6455 framing without I/O: an incremental frame parser and server-to-client frame encoding.
//
// Built for the edge's idle-memory model (docs/DESIGN §6): a connection keeps no read buffer
// of its own. The transport waits with `socket.async_wait(wait_read)`, reads whatever is there
// into one buffer per shard, and hands it to the connection's FrameParser, which keeps bytes
// only for a frame or fragmented message that spans reads:
//
//   void Connection::on_readable() {            // after socket_.async_wait(wait_read, ...)
//     std::span<char> buf = shard_.read_buffer();  // shared by every connection on the shard
//     std::size_t n = socket_.read_some(asio::buffer(buf.data(), buf.size()), ec);
//     // (would_block: wait again; eof / error: close without a handshake)
//     herald::Status st = parser_.feed(buf.first(n), [&](const ws::Message& m) {
//       switch (m.opcode) {
//         case ws::Opcode::kText: case ws::Opcode::kBinary: on_message(m); break;
//         case ws::Opcode::kPing: queue_pong(m.payload); break;   // ws::encode_pong
//         case ws::Opcode::kPong: note_alive(); break;
//         case ws::Opcode::kClose: reply_close_and_shutdown(m); break;  // ws::parse_close_payload
//         default: break;
//       }
//     });
//     if (!st.ok()) fail(parser_.error_code(), st.message());  // send a close frame, shut down
//     else if (!parser_.closed()) wait_readable();
//   }
//
// A message's payload view points either into the caller's buffer (a whole unfragmented frame
// that arrived in one read: unmasked in place, never copied) or into the parser's own buffer
// (a frame that spanned reads, or a fragmented message). Either way it is valid only until the
// next call into the parser and while the caller's buffer is unchanged: handlers copy what they
// keep. Outbound frames are never masked (server role), so a shared immutable payload can be
// gather-written after a 2-10 byte header from make_header() without copying it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "edge/websocket/utf8.h"

namespace herald::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

constexpr bool is_control(Opcode op) {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}
std::string_view opcode_name(Opcode op);

// Close status codes (RFC 6455 §7.4 and the IANA registry). Applications may use 3000-4999, so
// a received code is carried as a plain uint16_t.
enum class CloseCode : std::uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kNoStatus = 1005,  // never on the wire: "the close frame had no code"
  kAbnormal = 1006,  // never on the wire: "the connection dropped without a close frame"
  kInvalidPayload = 1007,
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kMandatoryExtension = 1010,
  kInternalError = 1011,
  kServiceRestart = 1012,
  kTryAgainLater = 1013,
  kBadGateway = 1014,
  kTlsHandshake = 1015,  // never on the wire
};

// Whether a peer may send `code` in a close frame: 1000-1003, 1007-1014 and 3000-4999 (the
// same set as `ws` and Autobahn case 7.x; 1004-1006, 1015, other 1xxx/2xxx and >= 5000 are not).
bool is_valid_close_code(std::uint16_t code);

// The code and reason carried by a close frame; code is kNoStatus (1005) for an empty payload.
struct CloseInfo {
  std::uint16_t code = static_cast<std::uint16_t>(CloseCode::kNoStatus);
  std::string_view reason;  // points into the payload
};

// Validates a received close payload: empty, or a valid code followed by a UTF-8 reason.
// The parser already rejects invalid close frames, so on its output this cannot fail.
Result<CloseInfo> parse_close_payload(std::string_view payload);

// One complete message or control frame from the peer.
struct Message {
  Opcode opcode = Opcode::kText;  // kText, kBinary, kClose, kPing or kPong; never kContinuation
  std::string_view payload;  // unmasked; text is valid UTF-8 (see the file comment on lifetime)
};

// Which end of the connection the parser runs on. A server requires masked frames (§5.1); a
// client (load generator, tests) requires unmasked ones.
enum class Role : std::uint8_t { kServer, kClient };

// Incremental parser for one connection's inbound byte stream. Rejections, with the close code
// the endpoint should send (error_code()):
//   1002  RSV1-3 set (no extension is negotiated), reserved opcode, unmasked client frame,
//         control frame fragmented or > 125 bytes, continuation without a message in progress,
//         new data frame inside a fragmented message, 64-bit length with the top bit set,
//         close payload of 1 byte or with an invalid code;
//   1007  text message or close reason that is not valid UTF-8 (checked as bytes arrive);
//   1009  data message (all fragments together) longer than max_message_size.
// Like `ws` and browsers, non-minimal length encodings are accepted. After a close frame the
// parser discards everything else (§5.5.1); after an error it keeps returning that error.
class FrameParser {
 public:
  static constexpr std::size_t kDefaultMaxMessageSize = 1 << 20;
  // The largest limit the parser can enforce (lengths are kept in 32 bits).
  static constexpr std::size_t kMaxMessageSizeLimit = 0xFFFFFFFFu;

  explicit FrameParser(std::size_t max_message_size = kDefaultMaxMessageSize,
                       Role role = Role::kServer);

  // Parses from the front of `input`, advancing it past what was consumed. Returns a message as
  // soon as one is complete (the rest of `input` is left for the next call), std::nullopt once
  // `input` is used up, or an error Status (kInvalidArgument or kResourceExhausted; the close
  // code to send is error_code()). Unmasks `input` in place.
  Result<std::optional<Message>> next(std::span<char>& input);

  // Parses all of `input`, calling on_message(const Message&) for each message in order.
  template <typename OnMessage>
  Status feed(std::span<char> input, OnMessage&& on_message) {
    for (;;) {
      auto r = next(input);
      if (!r.ok()) return r.status();
      if (!r->has_value()) return Status::ok_status();
      on_message(**r);
    }
  }

  // The peer's close frame has been returned; further input is ignored.
  bool closed() const { return phase_ == Phase::kClosed; }
  bool failed() const { return phase_ == Phase::kFailed; }
  // The close code to send after an error (1002, 1007 or 1009); kNormal while not failed.
  CloseCode error_code() const { return static_cast<CloseCode>(error_code_); }
  // Capacity of the buffer kept for frames that span reads and fragmented messages; between
  // messages it is 0 (no heap).
  std::size_t buffer_capacity() const { return buffer_ ? buffer_->capacity() : 0; }

 private:
  enum class Phase : std::uint8_t { kHeader, kPayload, kClosed, kFailed };
  static constexpr std::size_t kMaxHeaderSize = 14;  // 2 + 8 (64-bit length) + 4 (mask)

  Status check_frame_start(std::uint8_t b0, std::uint8_t b1);
  Status start_payload(const std::uint8_t* header);
  Result<std::optional<Message>> finish_frame(std::string_view payload, bool from_buffer);
  Status fail(CloseCode code, std::string_view why);
  void release_buffer();

  // Partial frame payload or fragmented message; a control frame that spans reads during a
  // fragmented message is appended after the message's bytes and trimmed off once returned.
  // Behind a pointer: most connections never need it, and every idle connection has a parser.
  std::unique_ptr<std::string> buffer_;
  std::uint32_t max_message_size_;
  std::uint32_t remaining_ = 0;     // payload bytes of the current frame still to come
  std::uint32_t message_size_ = 0;  // bytes of the current data message in buffer_
  std::array<std::uint8_t, 4> mask_{};
  std::array<std::uint8_t, kMaxHeaderSize> header_{};  // a header that spans reads
  std::uint8_t header_len_ = 0;
  Phase phase_ = Phase::kHeader;
  Opcode frame_opcode_ = Opcode::kContinuation;
  Opcode message_opcode_ = Opcode::kContinuation;  // kContinuation: no data message in progress
  std::uint8_t mask_offset_ = 0;
  bool server_ : 1;
  bool frame_fin_ : 1 = false;
  bool frame_masked_ : 1 = false;
  bool frame_partial_ : 1 = false;  // part of the current frame's payload is in buffer_
  bool trim_pending_ : 1 = false;   // buffer_ holds a returned payload to drop on the next call
  Utf8Validator utf8_;              // the text message in progress
  std::uint16_t error_code_ = static_cast<std::uint16_t>(CloseCode::kNormal);
};

// XORs `data` with the 4-byte masking key, starting at key byte `offset` (0-3).
void apply_mask(char* data, std::size_t size, std::array<std::uint8_t, 4> mask,
                std::size_t offset = 0);

// A server-to-client frame header (unmasked), 2-10 bytes, to gather-write before a payload.
struct FrameHeader {
  std::array<char, 10> bytes{};
  std::uint8_t size = 0;
  std::string_view view() const { return {bytes.data(), size}; }
};
FrameHeader make_header(Opcode opcode, std::uint64_t payload_size, bool fin = true);

// Appends a whole unmasked frame (header + payload) to `out`.
void encode_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true);

// Close payload: nothing for kNoStatus, else the code and as much of `reason` as fits in a
// control frame (123 bytes, cut at a UTF-8 character boundary).
std::string make_close_payload(std::uint16_t code, std::string_view reason = {});
inline std::string make_close_payload(CloseCode code, std::string_view reason = {}) {
  return make_close_payload(static_cast<std::uint16_t>(code), reason);
}
void encode_close(std::string& out, CloseCode code, std::string_view reason = {});
// Ping and pong payloads longer than 125 bytes are truncated (control frame limit).
void encode_ping(std::string& out, std::string_view payload = {});
void encode_pong(std::string& out, std::string_view payload = {});

// Client-side (masked) frame, for the load generator and tests.
void encode_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::array<std::uint8_t, 4> mask, bool fin = true);

}  // namespace herald::ws
