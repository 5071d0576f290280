// Bus subject names (DESIGN.md §3) and the reversible encoding of names into subject tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald::bus {

// Encodes any byte string as one subject token: [A-Za-z0-9_:-] stay, every other byte becomes
// '~' and two upper-case hex digits; the empty string is "~". Reversible and injective.
std::string encode_token(std::string_view name);
// Inverse of encode_token; nullopt for anything encode_token cannot produce.
std::optional<std::string> decode_token(std::string_view token);

class Subjects {
 public:
  explicit Subjects(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  std::string room(std::string_view ns, std::string_view room) const;
  std::string ns(std::string_view ns) const;
  std::string edge(std::string_view edge_id) const;
  std::string presence(std::string_view edge_id) const;
  std::string presence_all() const;  // wildcard over every edge
  std::string handle(std::string_view ns, std::string_view event) const;
  std::string broker(std::string_view broker_id) const;  // replies to one broker
  std::string heartbeat(std::string_view role) const;    // <p>.heartbeat.<role>
  std::string snapshot_request() const;

 private:
  std::string prefix_;
};

}  // namespace herald::bus
