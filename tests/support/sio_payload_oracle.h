// The Socket.IO payload check the edge used before json_scan (nlohmann's SAX parser), kept as a
// reference: the unit and fuzz differential tests check that decode_packet agrees with it on every
// input, error messages included (except the byte position of a syntax error).
#pragma once

#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "edge/socketio/packet.h"

namespace herald::sio::oracle {

using Json = nlohmann::json;

inline Status bad(std::string message) {
  return invalid_argument("socket.io: " + std::move(message));
}

enum class Kind : uint8_t { kNone, kNull, kBool, kNumber, kString, kObject, kArray };

// Validates a payload in one pass without building a DOM. nlohmann's SAX parser is iterative, so
// refusing at start_object/start_array bounds the nesting before it grows. For binary packets it
// also checks the placeholders: an object whose (last) "_placeholder" key is `true` must have an
// integral "num" in 0..attachments-1.
class PayloadValidator final : public nlohmann::json_sax<Json> {
 public:
  PayloadValidator(uint32_t max_depth, bool track_placeholders, uint32_t attachments)
      : max_depth_(max_depth), track_placeholders_(track_placeholders) {
    if (track_placeholders_) {
      seen_.assign(attachments, 0);
      frames_.reserve(8);
    }
  }

  bool null() override { return value(Kind::kNull); }
  bool boolean(bool v) override {
    if (in_object()) {
      Frame& f = frames_.back();
      if (f.key == Key::kPlaceholder) f.placeholder = v;
      if (f.key == Key::kNum) f.num_valid = false;
    }
    return value(Kind::kBool);
  }
  bool number_integer(number_integer_t v) override {
    if (v < 0) return number(false, 0);
    return number(true, static_cast<uint64_t>(v));
  }
  bool number_unsigned(number_unsigned_t v) override { return number(true, v); }
  bool number_float(number_float_t v, const string_t& /*text*/) override {
    // JavaScript has only doubles: "1.0" indexes like 1.
    const bool integral =
        std::isfinite(v) && v >= 0 && v < 9007199254740992.0 && std::floor(v) == v;
    return number(integral, integral ? static_cast<uint64_t>(v) : 0);
  }
  bool string(string_t& /*v*/) override { return value(Kind::kString); }
  bool binary(binary_t& /*v*/) override { return false; }  // not produced by the JSON parser

  bool start_object(std::size_t /*size*/) override {
    if (!value(Kind::kObject) || !enter()) return false;
    if (track_placeholders_) frames_.push_back(Frame{true});
    return true;
  }
  bool key(string_t& k) override {
    if (track_placeholders_) {
      Frame& f = frames_.back();
      f.key = k == "_placeholder" ? Key::kPlaceholder : k == "num" ? Key::kNum : Key::kOther;
      // A repeated key replaces the earlier value, as in JSON.parse.
      if (f.key == Key::kPlaceholder) f.placeholder = false;
      if (f.key == Key::kNum) f.num_valid = false;
    }
    return true;
  }
  bool end_object() override {
    --depth_;
    if (!track_placeholders_) return true;
    const Frame f = frames_.back();
    frames_.pop_back();
    if (!f.placeholder) return true;
    if (!f.num_valid || f.num >= seen_.size()) {
      error_ = "placeholder does not reference one of the " + std::to_string(seen_.size()) +
               " attachments";
      return false;
    }
    ++seen_[f.num];
    return true;
  }
  bool start_array(std::size_t /*size*/) override {
    if (!value(Kind::kArray) || !enter()) return false;
    if (track_placeholders_) frames_.push_back(Frame{false});
    return true;
  }
  bool end_array() override {
    --depth_;
    if (track_placeholders_) frames_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) override {
    // nlohmann's message quotes the input, which may be anything: keep only the position.
    if (error_.empty()) error_ = "invalid JSON payload (at byte " + std::to_string(position) + ")";
    return false;
  }

  Kind top() const { return top_; }
  Kind first_element() const { return first_element_; }
  const std::string& error() const { return error_; }

  // Placeholder references per attachment, once parsing succeeded.
  const std::vector<uint32_t>& references() const { return seen_; }

 private:
  enum class Key : uint8_t { kOther, kPlaceholder, kNum };
  struct Frame {
    bool is_object;
    Key key = Key::kOther;
    bool placeholder = false;
    bool num_valid = false;
    uint64_t num = 0;
  };

  bool in_object() const {
    return track_placeholders_ && !frames_.empty() && frames_.back().is_object;
  }

  bool value(Kind kind) {
    if (depth_ == 0) {
      top_ = kind;
    } else if (depth_ == 1 && top_ == Kind::kArray && first_element_ == Kind::kNone) {
      first_element_ = kind;
    }
    // Any value other than `true` under "_placeholder" (or a number under "num") voids it.
    if (in_object() && kind != Kind::kBool && kind != Kind::kNumber) {
      Frame& f = frames_.back();
      if (f.key == Key::kPlaceholder) f.placeholder = false;
      if (f.key == Key::kNum) f.num_valid = false;
    }
    return true;
  }

  bool number(bool valid_index, uint64_t v) {
    if (in_object()) {
      Frame& f = frames_.back();
      if (f.key == Key::kNum) {
        f.num_valid = valid_index;
        f.num = v;
      } else if (f.key == Key::kPlaceholder) {
        f.placeholder = false;
      }
    }
    return value(Kind::kNumber);
  }

  bool enter() {
    if (++depth_ > max_depth_) {
      error_ = "JSON payload nested deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    return true;
  }

  uint32_t max_depth_;
  bool track_placeholders_;
  uint32_t depth_ = 0;
  Kind top_ = Kind::kNone;
  Kind first_element_ = Kind::kNone;
  std::string error_;
  std::vector<Frame> frames_;
  std::vector<uint32_t> seen_;
};

inline Status validate_payload(const Packet& packet, const DecodeLimits& limits) {
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

  // nlohmann's lexer takes a NUL byte for the end of input; JSON never has one outside a string,
  // nor raw inside one.
  if (packet.data_json.find('\0') != std::string::npos)
    return bad("invalid JSON payload (NUL byte)");

  const bool binary = is_binary_type(type);
  PayloadValidator validator(limits.max_json_depth, binary, packet.attachments);
  bool parsed = false;
  try {
    parsed = Json::sax_parse(packet.data_json.begin(), packet.data_json.end(), &validator);
  } catch (const std::exception&) {
    parsed = false;
  }
  if (!parsed) {
    return bad(validator.error().empty() ? "invalid JSON payload" : validator.error());
  }

  const Kind top = validator.top();
  switch (type) {
    case PacketType::kConnect:
      if (top != Kind::kObject) return bad("CONNECT payload must be an object");
      break;
    case PacketType::kConnectError:
      if (top != Kind::kObject && top != Kind::kString) {
        return bad("CONNECT_ERROR payload must be an object or a string");
      }
      break;
    case PacketType::kEvent:
    case PacketType::kBinaryEvent:
      if (top != Kind::kArray) return bad("EVENT payload must be an array");
      if (validator.first_element() == Kind::kNone) return bad("EVENT payload is an empty array");
      if (validator.first_element() != Kind::kString) return bad("event name must be a string");
      break;
    case PacketType::kAck:
    case PacketType::kBinaryAck:
      if (top != Kind::kArray) return bad("ACK payload must be an array");
      break;
    case PacketType::kDisconnect:
      break;  // handled above
  }

  if (binary && limits.strict_placeholders) {
    const auto& refs = validator.references();
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i] != 1) {
        return bad("attachment " + std::to_string(i) +
                   (refs[i] == 0 ? " has no placeholder" : " has more than one placeholder"));
      }
    }
  }
  return {};
}

// A status as "<code> <message>" with a syntax error's byte position dropped (json_scan stops at
// the offending byte; nlohmann counted the characters it had read).
inline std::string comparable(const Status& status) {
  if (status.ok()) return "ok";
  std::string message = status.message();
  const std::size_t at = message.find(" (at byte ");
  if (at != std::string::npos) message.erase(at);
  return std::to_string(static_cast<int>(status.code())) + " " + message;
}

// Decodes the packet <type>[<attachments>-]/n,<json> and checks the verdict against
// validate_payload's. Returns "" when they agree, else a description of the difference.
inline std::string disagreement(PacketType type, uint32_t attachments, std::string json,
                                const DecodeLimits& limits) {
  // A leading digit would be read as an ack id: a space keeps it in the payload.
  if (!json.empty() && json[0] >= '0' && json[0] <= '9') json.insert(0, " ");
  std::string frame(1, static_cast<char>('0' + static_cast<int>(type)));
  if (is_binary_type(type)) frame += std::to_string(attachments) + "-";
  frame += "/n,";
  frame += json;

  Packet packet;
  packet.type = type;
  packet.attachments = is_binary_type(type) ? attachments : 0;
  packet.data_json = json;
  // The one intended difference: a payload led by a UTF-8 byte order mark is not JSON (JSON.parse
  // in socket.io-parser refuses it; nlohmann skipped it). The reference sees a byte that no JSON
  // text starts with in its place, so every check that comes first still applies.
  if (packet.data_json.starts_with("\xEF\xBB\xBF")) packet.data_json.replace(0, 3, "#");
  const std::string expected = comparable(validate_payload(packet, limits));
  const Result<Packet> decoded = decode_packet(frame, limits);
  const std::string got = comparable(decoded.status());
  if (got != expected) return "frame " + frame + ": decode_packet " + got + ", before " + expected;
  if (decoded.ok() && decoded->data_json != json) return "frame " + frame + ": payload changed";
  return "";
}

}  // namespace herald::sio::oracle
