// RFC 6455 framing: the incremental FrameParser and unmasked frame encoding.
#include "edge/websocket/frame.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace herald::ws {
namespace {

constexpr std::uint8_t kFinBit = 0x80;
constexpr std::uint8_t kRsvBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLengthBits = 0x7F;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;
constexpr std::size_t kMaxControlPayload = 125;
constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;

bool is_known_opcode(std::uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// Header length implied by the second header byte.
std::size_t header_size(std::uint8_t b1) {
  std::size_t n = 2;
  const std::uint8_t len = b1 & kLengthBits;
  if (len == kLength16) n += 2;
  if (len == kLength64) n += 8;
  if (b1 & kMaskBit) n += 4;
  return n;
}

std::uint64_t read_be(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// 0 when a received close payload is acceptable, else the close code to fail with.
std::uint16_t check_close_payload(std::string_view payload) {
  if (payload.empty()) return 0;
  if (payload.size() == 1) return static_cast<std::uint16_t>(CloseCode::kProtocolError);
  const auto code =
      static_cast<std::uint16_t>(read_be(reinterpret_cast<const std::uint8_t*>(payload.data()), 2));
  if (!is_valid_close_code(code)) return static_cast<std::uint16_t>(CloseCode::kProtocolError);
  if (!is_valid_utf8(payload.substr(2))) {
    return static_cast<std::uint16_t>(CloseCode::kInvalidPayload);
  }
  return 0;
}

// Writes the header for `payload_size` into `out` (at least 14 bytes); returns its length.
std::size_t write_header(char* out, Opcode opcode, std::uint64_t payload_size, bool fin,
                         bool masked) {
  out[0] = static_cast<char>((fin ? kFinBit : 0) | static_cast<std::uint8_t>(opcode));
  const std::uint8_t mask_bit = masked ? kMaskBit : 0;
  if (payload_size < kLength16) {
    out[1] = static_cast<char>(mask_bit | payload_size);
    return 2;
  }
  int bytes = 8;
  if (payload_size <= 0xFFFF) {
    out[1] = static_cast<char>(mask_bit | kLength16);
    bytes = 2;
  } else {
    out[1] = static_cast<char>(mask_bit | kLength64);
  }
  for (int i = 0; i < bytes; ++i) {
    out[2 + i] = static_cast<char>((payload_size >> (8 * (bytes - 1 - i))) & 0xFF);
  }
  return 2 + static_cast<std::size_t>(bytes);
}

}  // namespace

std::string_view opcode_name(Opcode op) {
  switch (op) {
    case Opcode::kContinuation:
      return "continuation";
    case Opcode::kText:
      return "text";
    case Opcode::kBinary:
      return "binary";
    case Opcode::kClose:
      return "close";
    case Opcode::kPing:
      return "ping";
    case Opcode::kPong:
      return "pong";
  }
  return "reserved";
}

bool is_valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

Result<CloseInfo> parse_close_payload(std::string_view payload) {
  if (const std::uint16_t bad = check_close_payload(payload); bad != 0) {
    return invalid_argument(bad == static_cast<std::uint16_t>(CloseCode::kInvalidPayload)
                                ? "websocket: close reason is not valid UTF-8"
                                : "websocket: invalid close code or payload length");
  }
  CloseInfo info;
  if (!payload.empty()) {
    info.code = static_cast<std::uint16_t>(
        read_be(reinterpret_cast<const std::uint8_t*>(payload.data()), 2));
    info.reason = payload.substr(2);
  }
  return info;
}

void apply_mask(char* data, std::size_t size, std::array<std::uint8_t, 4> mask,
                std::size_t offset) {
  // Rotate the key so that data[0] lines up with key byte `offset`, then XOR a word at a time.
  std::array<std::uint8_t, 8> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = mask[(offset + i) & 3];
  std::uint64_t key64;
  std::memcpy(&key64, key.data(), sizeof key64);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, sizeof word);
    word ^= key64;
    std::memcpy(data + i, &word, sizeof word);
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[i & 3]);
}

FrameParser::FrameParser(std::size_t max_message_size, Role role)
    : max_message_size_(
          static_cast<std::uint32_t>(std::min(max_message_size, kMaxMessageSizeLimit))),
      server_(role == Role::kServer) {}

Status FrameParser::fail(CloseCode code, std::string_view why) {
  phase_ = Phase::kFailed;
  error_code_ = static_cast<std::uint16_t>(code);
  release_buffer();
  std::string message = "websocket: ";
  message += why;
  return {code == CloseCode::kMessageTooBig ? StatusCode::kResourceExhausted
                                            : StatusCode::kInvalidArgument,
          std::move(message)};
}

void FrameParser::release_buffer() {
  buffer_.reset();
  trim_pending_ = false;
}

Status FrameParser::check_frame_start(std::uint8_t b0, std::uint8_t b1) {
  if (b0 & kRsvBits) return fail(CloseCode::kProtocolError, "RSV bits set without an extension");
  const std::uint8_t op = b0 & kOpcodeBits;
  if (!is_known_opcode(op)) return fail(CloseCode::kProtocolError, "reserved opcode");
  const auto opcode = static_cast<Opcode>(op);
  const bool fin = (b0 & kFinBit) != 0;
  if (is_control(opcode)) {
    if (!fin) return fail(CloseCode::kProtocolError, "fragmented control frame");
    if ((b1 & kLengthBits) > kMaxControlPayload) {
      return fail(CloseCode::kProtocolError, "control frame payload longer than 125 bytes");
    }
  } else if (opcode == Opcode::kContinuation) {
    if (message_opcode_ == Opcode::kContinuation) {
      return fail(CloseCode::kProtocolError, "continuation frame without a message to continue");
    }
  } else if (message_opcode_ != Opcode::kContinuation) {
    return fail(CloseCode::kProtocolError, "new data frame inside a fragmented message");
  }
  const bool masked = (b1 & kMaskBit) != 0;
  if (server_ && !masked) return fail(CloseCode::kProtocolError, "unmasked client frame");
  if (!server_ && masked) return fail(CloseCode::kProtocolError, "masked server frame");
  return Status::ok_status();
}

Status FrameParser::start_payload(const std::uint8_t* header) {
  frame_fin_ = (header[0] & kFinBit) != 0;
  frame_opcode_ = static_cast<Opcode>(header[0] & kOpcodeBits);
  frame_masked_ = (header[1] & kMaskBit) != 0;
  std::uint64_t length = header[1] & kLengthBits;
  std::size_t pos = 2;
  if (length == kLength16) {
    length = read_be(header + pos, 2);
    pos += 2;
  } else if (length == kLength64) {
    length = read_be(header + pos, 8);
    pos += 8;
    if (length >> 63)
      return fail(CloseCode::kProtocolError, "64-bit payload length has its top bit set");
  }
  if (frame_masked_) std::memcpy(mask_.data(), header + pos, mask_.size());
  if (!is_control(frame_opcode_)) {
    if (frame_opcode_ != Opcode::kContinuation) {
      message_opcode_ = frame_opcode_;
      message_size_ = 0;
      utf8_.reset();
    }
    if (length > max_message_size_ - message_size_) {
      return fail(CloseCode::kMessageTooBig, "message exceeds the maximum size");
    }
  }
  remaining_ = static_cast<std::uint32_t>(length);  // <= max_message_size_ or 125
  mask_offset_ = 0;
  frame_partial_ = false;
  phase_ = Phase::kPayload;
  return Status::ok_status();
}

Result<std::optional<Message>> FrameParser::finish_frame(std::string_view payload,
                                                         bool from_buffer) {
  phase_ = Phase::kHeader;
  frame_partial_ = false;
  if (is_control(frame_opcode_)) {
    if (frame_opcode_ == Opcode::kClose) {
      if (const std::uint16_t bad = check_close_payload(payload); bad != 0) {
        return fail(static_cast<CloseCode>(bad),
                    bad == static_cast<std::uint16_t>(CloseCode::kInvalidPayload)
                        ? "close reason is not valid UTF-8"
                        : "invalid close code or payload length");
      }
      phase_ = Phase::kClosed;
    }
    trim_pending_ = from_buffer;
    return std::optional<Message>(Message{frame_opcode_, payload});
  }
  if (!frame_fin_) return std::optional<Message>();
  if (message_opcode_ == Opcode::kText && !utf8_.complete()) {
    return fail(CloseCode::kInvalidPayload, "text message ends inside a UTF-8 sequence");
  }
  Message message{message_opcode_, payload};
  message_opcode_ = Opcode::kContinuation;
  message_size_ = 0;
  trim_pending_ = from_buffer;
  return std::optional<Message>(message);
}

Result<std::optional<Message>> FrameParser::next(std::span<char>& input) {
  if (trim_pending_) {
    // The payload returned last time lived in buffer_: keep only an unfinished message.
    trim_pending_ = false;
    if (message_opcode_ != Opcode::kContinuation && message_size_ > 0) {
      buffer_->resize(message_size_);
    } else {
      release_buffer();
    }
  }
  for (;;) {
    switch (phase_) {
      case Phase::kFailed:
        input = {};
        return Status(
            error_code() == CloseCode::kMessageTooBig ? StatusCode::kResourceExhausted
                                                      : StatusCode::kInvalidArgument,
            "websocket: connection already failed with close code " + std::to_string(error_code_));
      case Phase::kClosed:
        input = {};
        release_buffer();
        return std::optional<Message>();
      case Phase::kHeader: {
        if (input.empty()) return std::optional<Message>();
        const auto* in = reinterpret_cast<const std::uint8_t*>(input.data());
        const std::uint8_t* header = nullptr;
        if (header_len_ == 0 && input.size() >= 2 && input.size() >= header_size(in[1])) {
          // The whole header is in this read: parse it where it is.
          if (Status st = check_frame_start(in[0], in[1]); !st.ok()) return st;
          header = in;
          input = input.subspan(header_size(in[1]));
        } else {
          // The header spans reads: collect it in header_.
          const std::size_t had = header_len_;
          auto take = [&](std::size_t want) {
            const std::size_t n = std::min(want - header_len_, input.size());
            std::memcpy(header_.data() + header_len_, input.data(), n);
            header_len_ = static_cast<std::uint8_t>(header_len_ + n);
            input = input.subspan(n);
          };
          if (header_len_ < 2) take(2);
          if (header_len_ < 2) return std::optional<Message>();
          if (had < 2) {
            if (Status st = check_frame_start(header_[0], header_[1]); !st.ok()) return st;
          }
          const std::size_t need = header_size(header_[1]);
          take(need);
          if (header_len_ < need) return std::optional<Message>();
          header = header_.data();
          header_len_ = 0;
        }
        if (Status st = start_payload(header); !st.ok()) return st;
        break;
      }
      case Phase::kPayload: {
        if (remaining_ > 0 && input.empty()) return std::optional<Message>();
        const std::size_t take = std::min<std::size_t>(remaining_, input.size());
        char* data = input.data();
        input = input.subspan(take);
        if (frame_masked_) {
          apply_mask(data, take, mask_, mask_offset_);
          mask_offset_ = static_cast<std::uint8_t>((mask_offset_ + take) & 3);
        }
        const bool control = is_control(frame_opcode_);
        if (!control && message_opcode_ == Opcode::kText && !utf8_.feed({data, take})) {
          return fail(CloseCode::kInvalidPayload, "text message is not valid UTF-8");
        }
        const bool last = take == remaining_;
        remaining_ -= static_cast<std::uint32_t>(take);
        if (last && !frame_partial_ &&
            (control || (frame_fin_ && frame_opcode_ != Opcode::kContinuation))) {
          // A whole frame that is a whole message (or a control frame), in the caller's buffer.
          auto r = finish_frame({data, take}, /*from_buffer=*/false);
          if (!r.ok() || r->has_value()) return r;
          break;
        }
        if (!buffer_) buffer_ = std::make_unique<std::string>();
        buffer_->append(data, take);
        if (!control) message_size_ += static_cast<std::uint32_t>(take);
        if (!last) {
          frame_partial_ = true;
          return std::optional<Message>();
        }
        std::string_view payload = *buffer_;
        if (control) payload = payload.substr(message_size_);
        auto r = finish_frame(payload, /*from_buffer=*/true);
        if (!r.ok() || r->has_value()) return r;
        break;
      }
    }
  }
}

FrameHeader make_header(Opcode opcode, std::uint64_t payload_size, bool fin) {
  FrameHeader h;
  h.size =
      static_cast<std::uint8_t>(write_header(h.bytes.data(), opcode, payload_size, fin, false));
  return h;
}

void encode_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin) {
  const FrameHeader h = make_header(opcode, payload.size(), fin);
  out.reserve(out.size() + h.size + payload.size());
  out.append(h.view());
  out.append(payload);
}

std::string make_close_payload(std::uint16_t code, std::string_view reason) {
  std::string payload;
  if (code == static_cast<std::uint16_t>(CloseCode::kNoStatus)) return payload;
  if (reason.size() > kMaxCloseReason) {
    // Cut before a continuation byte so that the reason stays valid UTF-8.
    std::size_t cut = kMaxCloseReason;
    while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  payload.reserve(2 + reason.size());
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  return payload;
}

void encode_close(std::string& out, CloseCode code, std::string_view reason) {
  encode_frame(out, Opcode::kClose, make_close_payload(code, reason));
}

void encode_ping(std::string& out, std::string_view payload) {
  encode_frame(out, Opcode::kPing, payload.substr(0, kMaxControlPayload));
}

void encode_pong(std::string& out, std::string_view payload) {
  encode_frame(out, Opcode::kPong, payload.substr(0, kMaxControlPayload));
}

void encode_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::array<std::uint8_t, 4> mask, bool fin) {
  std::array<char, 14> header{};
  std::size_t n = write_header(header.data(), opcode, payload.size(), fin, true);
  std::memcpy(header.data() + n, mask.data(), mask.size());
  n += mask.size();
  const std::size_t start = out.size();
  out.append(header.data(), n);
  out.append(payload);
  apply_mask(out.data() + start + n, payload.size(), mask);
}

}  // namespace herald::ws
