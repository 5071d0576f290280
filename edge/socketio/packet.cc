// Socket.IO v5 packet decoding/validation (socket.io-parser's decodeString and isPayloadValid,
// made strict) and encoding by string splicing.
#include "edge/socketio/packet.h"

#include <array>
#include <cassert>
#include <vector>

#include "common/json/json_scan.h"
#include "edge/engineio/json_text.h"

namespace herald::sio {
namespace {

using Json = nlohmann::json;

constexpr uint8_t kMaxType = static_cast<uint8_t>(PacketType::kBinaryAck);
constexpr std::size_t kMaxAttachmentDigits = 10;  // fits uint64 comfortably; limits check follows
constexpr std::size_t kMaxAckIdDigits = 16;       // kMaxAckId has 16 digits

constexpr std::array<std::string_view, 6> kReservedEvents = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

Status bad(std::string message) {
  return invalid_argument("socket.io: " + std::move(message));
}

std::size_t decimal_size(uint64_t v) {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

void append_decimal(uint64_t v, std::string& out) {
  char buf[20];
  char* p = buf + sizeof(buf);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, buf + sizeof(buf) - p);
}

// The checks socket.io-parser's isPayloadValid makes, on json_scan's one pass over the text (no
// DOM, no copy of its strings): this runs for every packet a client sends.
Status validate_payload(const Packet& packet, const DecodeLimits& limits) {
  const PacketType type = packet.type;
  if (packet.data_json.empty()) {
    switch (type) {
      case PacketType::kConnect:
      case PacketType::kDisconnect:
        return {};
      case PacketType::kConnectError:
        return bad("CONNECT_ERROR without payload");
      default:
        return bad(std::string(packet_type_name(type)) + " without payload");
    }
  }
  if (type == PacketType::kDisconnect) return bad("DISCONNECT with a payload");

  const bool binary = is_binary_type(type);
  json::ScanOptions options;
  options.max_depth = limits.max_json_depth;
  options.depth_rule = json::DepthRule::kContainers;
  options.placeholders = binary ? json::Placeholders::kEvery : json::Placeholders::kIgnore;
  options.attachments = packet.attachments;
  // A leading byte order mark is refused, as JSON.parse in socket.io-parser refuses it (nlohmann,
  // which the edge used before, skipped it, and split_event then refused such an EVENT).
  options.skip_bom = false;
  const json::JsonScan scan = json::scan_json(packet.data_json, options);
  if (scan.error != json::JsonScanError::kNone) {
    // A NUL byte is reported as such, whatever else is wrong (JSON never has one outside a
    // string, nor raw inside one); looked for only once the text is refused.
    if (packet.data_json.find('\0') != std::string::npos) {
      return bad("invalid JSON payload (NUL byte)");
    }
    if (scan.error == json::JsonScanError::kDepth) {
      return bad("JSON payload nested deeper than " + std::to_string(limits.max_json_depth) +
                 " levels");
    }
    if (scan.error == json::JsonScanError::kPlaceholder) {
      return bad("placeholder does not reference one of the " + std::to_string(packet.attachments) +
                 " attachments");
    }
    return bad("invalid JSON payload (at byte " + std::to_string(scan.error_offset) + ")");
  }

  const json::Kind top = scan.top;
  switch (type) {
    case PacketType::kConnect:
      if (top != json::Kind::kObject) return bad("CONNECT payload must be an object");
      break;
    case PacketType::kConnectError:
      if (top != json::Kind::kObject && top != json::Kind::kString) {
        return bad("CONNECT_ERROR payload must be an object or a string");
      }
      break;
    case PacketType::kEvent:
    case PacketType::kBinaryEvent:
      if (top != json::Kind::kArray) return bad("EVENT payload must be an array");
      if (scan.first_element == json::Kind::kNone) return bad("EVENT payload is an empty array");
      if (scan.first_element != json::Kind::kString) return bad("event name must be a string");
      break;
    case PacketType::kAck:
    case PacketType::kBinaryAck:
      if (top != json::Kind::kArray) return bad("ACK payload must be an array");
      break;
    case PacketType::kDisconnect:
      break;  // handled above
  }

  if (binary && limits.strict_placeholders) {
    // Every attachment referenced exactly once (scan_json checked each num is in range).
    std::vector<uint32_t> refs(packet.attachments, 0);
    for (const int64_t num : scan.placeholders) ++refs[static_cast<std::size_t>(num)];
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i] != 1) {
        return bad("attachment " + std::to_string(i) +
                   (refs[i] == 0 ? " has no placeholder" : " has more than one placeholder"));
      }
    }
  }
  return {};
}

// Position just after the JSON string starting at s[pos] == '"', or npos; sets `escaped` when the
// string holds a backslash escape.
std::size_t skip_json_string(std::string_view s, std::size_t pos, bool& escaped) {
  escaped = false;
  for (std::size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      escaped = true;
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

std::size_t skip_space(std::string_view s, std::size_t pos) {
  while (pos < s.size() && is_json_space(s[pos])) ++pos;
  return pos;
}

// For append_event: whether args_json is '[' ... ']' and whether it has no element.
bool inspect_args(std::string_view args, bool& empty) {
  if (args.empty() || args.front() != '[') return false;
  std::size_t end = args.size();
  while (end > 1 && is_json_space(args[end - 1])) --end;
  if (end < 2 || args[end - 1] != ']') return false;
  empty = skip_space(args, 1) == end - 1;
  return true;
}

std::size_t header_size(PacketType type, uint32_t attachments, std::string_view nsp,
                        const std::optional<uint64_t>& id) {
  std::size_t size = 1;
  if (is_binary_type(type)) size += decimal_size(attachments) + 1;
  if (!nsp.empty() && nsp != "/") size += nsp.size() + 1;
  if (id) size += decimal_size(*id);
  return size;
}

void append_header(PacketType type, uint32_t attachments, std::string_view nsp,
                   const std::optional<uint64_t>& id, std::string& out) {
  out += static_cast<char>('0' + static_cast<uint8_t>(type));
  if (is_binary_type(type)) {
    append_decimal(attachments, out);
    out += '-';
  }
  if (!nsp.empty() && nsp != "/") {
    out += nsp;
    out += ',';
  }
  if (id) append_decimal(*id, out);
}

}  // namespace

std::string_view packet_type_name(PacketType type) {
  switch (type) {
    case PacketType::kConnect:
      return "CONNECT";
    case PacketType::kDisconnect:
      return "DISCONNECT";
    case PacketType::kEvent:
      return "EVENT";
    case PacketType::kAck:
      return "ACK";
    case PacketType::kConnectError:
      return "CONNECT_ERROR";
    case PacketType::kBinaryEvent:
      return "BINARY_EVENT";
    case PacketType::kBinaryAck:
      return "BINARY_ACK";
  }
  return "UNKNOWN";
}

Result<Packet> decode_packet(std::string_view text, const DecodeLimits& limits) {
  if (text.empty()) return bad("empty packet");
  const auto digit = static_cast<uint8_t>(text[0] - '0');
  if (!is_digit(text[0]) || digit > kMaxType) return bad("unknown packet type");

  Packet packet;
  packet.type = static_cast<PacketType>(digit);
  std::size_t i = 1;

  if (is_binary_type(packet.type)) {
    const std::size_t start = i;
    uint64_t n = 0;
    while (i < text.size() && is_digit(text[i]) && i - start < kMaxAttachmentDigits) {
      n = n * 10 + static_cast<uint64_t>(text[i] - '0');
      ++i;
    }
    if (i == start || i == text.size() || text[i] != '-') {
      return bad("illegal attachments (expected a count followed by '-')");
    }
    if (n > limits.max_attachments) {
      return Status(StatusCode::kResourceExhausted,
                    "socket.io: too many attachments (" + std::to_string(n) + " > " +
                        std::to_string(limits.max_attachments) + ")");
    }
    packet.attachments = static_cast<uint32_t>(n);
    ++i;  // '-'
  }

  if (i < text.size() && text[i] == '/') {
    const std::size_t comma = text.find(',', i);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view nsp = text.substr(i, end - i);
    if (!eio::is_valid_utf8(nsp)) return bad("namespace is not valid UTF-8");
    packet.nsp.assign(nsp);
    i = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  if (i < text.size() && is_digit(text[i])) {
    const std::size_t start = i;
    uint64_t id = 0;
    while (i < text.size() && is_digit(text[i])) {
      if (i - start == kMaxAckIdDigits) return bad("ack id overflow");
      id = id * 10 + static_cast<uint64_t>(text[i] - '0');
      ++i;
    }
    if (id > kMaxAckId) return bad("ack id overflow");
    packet.id = id;
  }

  packet.data_json.assign(text.substr(i));
  if (Status status = validate_payload(packet, limits); !status.ok()) return status;
  return packet;
}

bool json_depth_exceeds(std::string_view json_text, uint32_t max_depth) {
  uint32_t depth = 0;
  const std::size_t n = json_text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = json_text[i];
    if (c == '"') {
      bool escaped;
      const std::size_t next = skip_json_string(json_text, i, escaped);
      if (next == std::string_view::npos) return false;  // unterminated: the parser will refuse
      i = next - 1;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

Result<nlohmann::json> parse_json(std::string_view json_text, uint32_t max_depth) {
  if (json_text.find('\0') != std::string_view::npos) return bad("invalid JSON (NUL byte)");
  if (json_depth_exceeds(json_text, max_depth)) {
    return bad("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  }
  try {
    Json json =
        Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return bad("invalid JSON");
    return json;
  } catch (const std::exception&) {
    return bad("invalid JSON");
  }
}

bool is_reserved_event_name(std::string_view name) {
  for (std::string_view reserved : kReservedEvents) {
    if (name == reserved) return true;
  }
  return false;
}

std::string EventParts::args_json() const {
  std::string out;
  out.reserve(1 + args_rest.size());
  out += '[';
  out += args_rest;
  return out;
}

Result<EventParts> split_event(std::string_view data_json) {
  std::size_t i = skip_space(data_json, 0);
  if (i == data_json.size() || data_json[i] != '[') return bad("EVENT payload must be an array");
  i = skip_space(data_json, i + 1);
  if (i == data_json.size() || data_json[i] != '"') return bad("event name must be a string");
  bool escaped;
  const std::size_t end = skip_json_string(data_json, i, escaped);
  if (end == std::string_view::npos) return bad("unterminated event name");

  EventParts parts;
  if (!escaped) {
    parts.name.assign(data_json.substr(i + 1, end - i - 2));
  } else {
    Result<Json> name = parse_json(data_json.substr(i, end - i), 1);
    if (!name.ok() || !name->is_string()) return bad("invalid event name");
    parts.name = std::move(name->get_ref<std::string&>());
  }
  i = skip_space(data_json, end);
  if (i == data_json.size()) return bad("unterminated EVENT payload");
  if (data_json[i] == ',') {
    parts.args_rest = data_json.substr(i + 1);
  } else if (data_json[i] == ']') {
    parts.args_rest = data_json.substr(i);
  } else {
    return bad("malformed EVENT payload");
  }
  return parts;
}

std::size_t encoded_size(const Packet& packet) {
  return header_size(packet.type, packet.attachments, packet.nsp, packet.id) +
         packet.data_json.size();
}

void append_packet(const Packet& packet, std::string& out) {
  append_header(packet.type, packet.attachments, packet.nsp, packet.id, out);
  out += packet.data_json;
}

std::size_t event_encoded_size(std::string_view nsp, std::string_view name,
                               std::string_view args_json, uint32_t attachments,
                               std::optional<uint64_t> ack_id) {
  const PacketType type = attachments > 0 ? PacketType::kBinaryEvent : PacketType::kEvent;
  bool empty = true;
  inspect_args(args_json, empty);
  // '[' name, then ']' alone or ',' and args_json without its '['.
  const std::size_t args = empty ? 1 : args_json.size();
  return header_size(type, attachments, nsp, ack_id) + 1 + eio::json_string_size(name) + args;
}

bool is_array_text(std::string_view json) {
  bool empty = true;
  return inspect_args(json, empty);
}

Status append_event(std::string_view nsp, std::string_view name, std::string_view args_json,
                    uint32_t attachments, std::optional<uint64_t> ack_id, std::string& out) {
  bool empty = true;
  if (!inspect_args(args_json, empty)) return bad("event arguments must be a JSON array");
  const PacketType type = attachments > 0 ? PacketType::kBinaryEvent : PacketType::kEvent;
  append_header(type, attachments, nsp, ack_id, out);
  out += '[';
  eio::append_json_string(name, out);
  if (empty) {
    out += ']';
  } else {
    out += ',';
    out.append(args_json.substr(1));
  }
  return {};
}

Status BinaryReconstructor::start(Packet header) {
  if (in_progress()) return bad("got plaintext data when reconstructing a packet");
  if (started_) return bad("the previous binary packet was not taken");
  if (!is_binary_type(header.type)) return bad("not a binary packet");
  reset();
  started_ = true;
  expected_ = header.attachments;
  current_.packet = std::move(header);
  current_.attachments.reserve(expected_);
  return {};
}

Result<bool> BinaryReconstructor::add(std::string attachment) {
  if (!in_progress()) return bad("got binary data when not reconstructing a packet");
  if (attachment.size() > max_total_bytes_ - total_bytes_) {
    reset();
    return Status(StatusCode::kResourceExhausted, "socket.io: binary attachments too large");
  }
  total_bytes_ += attachment.size();
  current_.attachments.push_back(std::move(attachment));
  return complete();
}

BinaryPacket BinaryReconstructor::take() {
  assert(complete());
  BinaryPacket out = std::move(current_);
  reset();
  return out;
}

void BinaryReconstructor::reset() {
  started_ = false;
  expected_ = 0;
  total_bytes_ = 0;
  current_ = BinaryPacket{};
}

}  // namespace herald::sio
