// Socket.IO v5 packet codec (socket.io-parser's wire format): decode, validate, encode (no I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::sio {

// The wire digit of each type is '0' + its value.
enum class PacketType : uint8_t {
  kConnect = 0,
  kDisconnect = 1,
  kEvent = 2,
  kAck = 3,
  kConnectError = 4,
  kBinaryEvent = 5,
  kBinaryAck = 6,
};

// "CONNECT", "DISCONNECT", ... as socket.io-parser names them (for logs).
std::string_view packet_type_name(PacketType type);

inline constexpr bool is_binary_type(PacketType type) {
  return type == PacketType::kBinaryEvent || type == PacketType::kBinaryAck;
}

// Largest ack id accepted: Number.MAX_SAFE_INTEGER, beyond which JavaScript peers lose precision.
inline constexpr uint64_t kMaxAckId = (uint64_t{1} << 53) - 1;

// One Socket.IO packet as it is on the wire. `data_json` is the raw JSON text of the payload
// (empty when absent), kept as received so that the edge forwards arguments without re-encoding;
// binary packets keep their {"_placeholder":true,"num":n} objects, the attachments travel apart.
struct Packet {
  PacketType type = PacketType::kEvent;
  std::string nsp = "/";
  std::optional<uint64_t> id;
  std::string data_json;
  uint32_t attachments = 0;  // binary types only

  friend bool operator==(const Packet&, const Packet&) = default;
};

struct DecodeLimits {
  uint32_t max_attachments = 10;  // socket.io-parser's default maxAttachments
  uint32_t max_json_depth = 64;   // arrays/objects nested deeper are refused
  // Every attachment must be referenced by exactly one placeholder (what every client's encoder
  // produces). When false, only the reference's check applies: each num in 0..attachments-1.
  bool strict_placeholders = true;
};

// Decodes a text frame the way socket.io-parser's decodeString does:
//   <type>[<attachments>-][<nsp>,][<ack id>][<JSON payload>]
// and validates the payload like isPayloadValid, more strictly where the reference is loose:
//  - CONNECT: absent or an object; DISCONNECT: absent; CONNECT_ERROR: an object or a string;
//  - EVENT / BINARY_EVENT: an array whose first element is a string (the event name; numbers
//    are refused, reserved names are not: see is_reserved_event_name);
//  - ACK / BINARY_ACK: an array;
//  - binary types: an attachment count of 1-10 digits then '-', at most max_attachments, and
//    placeholders that reference the attachments (see DecodeLimits::strict_placeholders);
//  - ack id: digits, at most kMaxAckId; namespace: valid UTF-8; JSON: RFC 8259 with valid UTF-8,
//    at most max_json_depth levels of nesting.
Result<Packet> decode_packet(std::string_view text, const DecodeLimits& limits = {});

// True when `json_text` nests arrays/objects deeper than `max_depth` (a linear scan that skips
// strings; it does not validate). Run before handing untrusted text to a recursive consumer.
bool json_depth_exceeds(std::string_view json_text, uint32_t max_depth);

// Parses JSON text (e.g. a decoded packet's data_json) into a DOM, refusing nesting deeper than
// `max_depth` before parsing. Never throws.
Result<nlohmann::json> parse_json(std::string_view json_text, uint32_t max_depth = 64);

// These names have a meaning of their own; socket.io-parser refuses EVENT packets that use them.
// Whether to refuse them is the server layer's choice.
bool is_reserved_event_name(std::string_view name);

// An EVENT payload cut into its event name and the remaining arguments, without parsing the
// arguments: `["name",1,{"a":2}]` gives name "name" and args_rest `1,{"a":2}]`.
struct EventParts {
  std::string name;            // unescaped
  std::string_view args_rest;  // what follows the name's comma, up to and with the final ']'
  // The arguments as a JSON array: '[' + args_rest, e.g. `[1,{"a":2}]` (`[]` when none).
  std::string args_json() const;
};

// Splits a data_json that decode_packet accepted as an EVENT / BINARY_EVENT. `data_json` must
// outlive the result.
Result<EventParts> split_event(std::string_view data_json);

// --- Encoding ---------------------------------------------------------------------------------

// Bytes append_packet writes for `packet`.
std::size_t encoded_size(const Packet& packet);

// Appends the text frame of `packet` ("51-/chat,12[...]"), as socket.io-parser's encodeAsString:
// the namespace is written (followed by ',') unless it is "/" or empty; `attachments` only for
// binary types. The binary attachments themselves go in the frames that follow. `packet` is
// trusted: its fields are written as they are.
void append_packet(const Packet& packet, std::string& out);

inline std::string encode_packet(const Packet& packet) {
  std::string out;
  out.reserve(encoded_size(packet));
  append_packet(packet, out);
  return out;
}

// An EVENT (or BINARY_EVENT when attachments > 0) from its parts, spliced without re-encoding
// the arguments: `["name",` + args_json without its '['. `args_json` must be a JSON array text
// (first byte '[', last non-whitespace byte ']'); it is not otherwise checked. The event name is
// JSON-escaped. An empty `nsp` means "/".
Status append_event(std::string_view nsp, std::string_view name, std::string_view args_json,
                    uint32_t attachments, std::optional<uint64_t> ack_id, std::string& out);

// Whether `json` is framed as a JSON array: first byte '[', last non-whitespace byte ']' (what
// append_event requires of the arguments it splices; the content is not validated).
bool is_array_text(std::string_view json);

// Bytes append_event writes for the same arguments (meaningful only when it succeeds).
std::size_t event_encoded_size(std::string_view nsp, std::string_view name,
                               std::string_view args_json, uint32_t attachments,
                               std::optional<uint64_t> ack_id);

// --- Binary packets ----------------------------------------------------------------------------

// A binary packet with its attachments (raw bytes of the binary frames that followed it).
struct BinaryPacket {
  Packet packet;
  std::vector<std::string> attachments;
};

// Collects the binary frames that follow a BINARY_EVENT / BINARY_ACK header, like
// socket.io-parser's BinaryReconstructor (the header's placeholders were already checked by
// decode_packet). Usage per connection:
//   text frame:   if (r.in_progress()) -> error; decode_packet; if binary type: r.start(packet)
//                 and, when r.complete(), deliver r.take();
//   binary frame: r.add(bytes) -> true when complete, then deliver r.take().
class BinaryReconstructor {
 public:
  // `max_total_bytes` caps the sum of the attachments' sizes.
  explicit BinaryReconstructor(std::size_t max_total_bytes = SIZE_MAX)
      : max_total_bytes_(max_total_bytes) {}

  // Begins a packet. Refused while another is in progress (socket.io-parser: "got plaintext data
  // when reconstructing a packet"), while a complete one was not taken, or when `header` is not a
  // binary type. A header that announces
  // no attachment is complete at once.
  Status start(Packet header);

  // Adds the next attachment; returns whether the packet is now complete. Refused when no
  // packet is in progress ("got binary data when not reconstructing a packet") or when the
  // attachments exceed max_total_bytes (the reconstructor is then reset).
  Result<bool> add(std::string attachment);

  // Waiting for attachments.
  bool in_progress() const { return started_ && !complete(); }
  bool complete() const { return started_ && current_.attachments.size() == expected_; }

  // Hands over the completed packet and resets. Only when complete().
  BinaryPacket take();

  // Drops any partial packet (socket.io-parser's destroy()).
  void reset();

 private:
  std::size_t max_total_bytes_;
  std::size_t total_bytes_ = 0;
  std::size_t expected_ = 0;
  bool started_ = false;
  BinaryPacket current_;
};

}  // namespace herald::sio
