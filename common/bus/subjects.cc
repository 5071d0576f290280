// Subject construction and token encoding.
#include "common/bus/subjects.h"

namespace herald::bus {

namespace {

bool is_plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower-case hex is never produced, so it is refused (keeps the encoding 1:1)
}

}  // namespace

std::string encode_token(std::string_view name) {
  if (name.empty()) return "~";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if (is_plain(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('~');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> decode_token(std::string_view token) {
  if (token == "~") return std::string();
  if (token.empty()) return std::nullopt;
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(token[i]);
    if (is_plain(c)) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (c != '~' || i + 2 >= token.size()) return std::nullopt;
    int hi = hex_value(token[i + 1]);
    int lo = hex_value(token[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    unsigned char decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (is_plain(decoded)) return std::nullopt;  // would have been written plain
    out.push_back(static_cast<char>(decoded));
    i += 2;
  }
  return out;
}

std::string Subjects::room(std::string_view ns_name, std::string_view room_name) const {
  return prefix_ + ".room." + encode_token(ns_name) + "." + encode_token(room_name);
}
std::string Subjects::ns(std::string_view ns_name) const {
  return prefix_ + ".ns." + encode_token(ns_name);
}
std::string Subjects::edge(std::string_view edge_id) const {
  return prefix_ + ".edge." + encode_token(edge_id);
}
std::string Subjects::presence(std::string_view edge_id) const {
  return prefix_ + ".presence." + encode_token(edge_id);
}
std::string Subjects::presence_all() const {
  return prefix_ + ".presence.*";
}
std::string Subjects::handle(std::string_view ns_name, std::string_view event) const {
  return prefix_ + ".handle." + encode_token(ns_name) + "." + encode_token(event);
}
std::string Subjects::broker(std::string_view broker_id) const {
  return prefix_ + ".broker." + encode_token(broker_id);
}
std::string Subjects::heartbeat(std::string_view role) const {
  return prefix_ + ".heartbeat." + encode_token(role);
}
std::string Subjects::snapshot_request() const {
  return prefix_ + ".snapshot";
}

}  // namespace herald::bus
