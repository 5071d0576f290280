// Namespace policy model (auth, rooms, events, schemas, rates) and its parser from config YAML.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/policy/rate_limiter.h"
#include "broker/policy/schema.h"
#include "broker/policy/template.h"
#include "common/status.h"

namespace herald::policy {

enum class AuthMode { kRequired, kOptional, kNone };
enum class UnknownEvents { kReject, kForward };
enum class ActionKind { kRelay, kJoin, kLeave, kForward };

std::string_view to_string(AuthMode mode);
std::string_view to_string(ActionKind kind);

// Event names a client may never send; refused at connect-time config parse and at event time.
bool is_reserved_event(std::string_view name);

struct EventPolicy {
  std::string name;
  ActionKind action = ActionKind::kForward;
  std::vector<Template> rooms;  // relay `to`, join/leave `room`
  bool require_member = false;  // relay: the sender must be in every target room
  bool except_sender = false;   // relay: not delivered back to the sender's socket
  bool is_volatile = false;     // relay: may be dropped instead of queued
  ArgsSchema schema;
  std::optional<RateSpec> rate;
  size_t rate_slot = 0;    // RateLimiter slot when `rate` is set
  size_t max_payload = 0;  // 0 = the namespace's cap
};

// `require_claims` entry: the claim at `path` must equal (or, for an array claim, contain) one of
// the values the template expands to.
struct RequiredClaim {
  std::vector<std::string> path;
  std::string name;  // as written, e.g. "tenant" or "org.id"
  Template value;
};

struct NamespacePolicy {
  std::string name;  // as configured: "/chat" or the pattern "/tenant-*"
  bool is_pattern = false;
  size_t captures = 0;  // number of '*' in the pattern
  AuthMode auth = AuthMode::kRequired;
  std::vector<RequiredClaim> require_claims;
  std::vector<Template> auto_join;
  std::vector<Template> join_allowed;  // room patterns after expansion; empty = no client joins
  size_t max_rooms = 0;                // rooms.max_per_socket; 0 = unlimited
  size_t max_payload = 0;              // 0 = no namespace cap (the edge's maxPayload still holds)
  UnknownEvents unknown_events = UnknownEvents::kReject;
  std::optional<RateSpec> rate;  // all events of a socket together; RateLimiter slot 0
  std::map<std::string, EventPolicy, std::less<>> events;
  size_t rate_slots = 1;  // RateLimiter size a socket in this namespace needs
  // Some template evaluated at event time (event rooms, join_allowed, auto_join for leaves)
  // reads {claims...}: only then does an event need the socket's claims parsed.
  bool events_use_claims = false;

  const EventPolicy* find_event(std::string_view event) const;
};

// Which namespace a socket connected to, and what the pattern's '*' matched ({ns.1}, ...).
struct NamespaceMatch {
  std::string name;
  std::vector<std::string> captures;
};

class PolicySet {
 public:
  // Exact names first, then patterns in declaration order; nullptr for an unknown namespace.
  // `out` (may be null) receives the name and captures.
  const NamespacePolicy* find(std::string_view ns, NamespaceMatch* out) const;

  const std::vector<NamespacePolicy>& namespaces() const { return namespaces_; }

 private:
  friend Result<PolicySet> parse_policy(const YAML::Node&, std::string_view);
  std::vector<NamespacePolicy> namespaces_;  // declaration order
  std::map<std::string, size_t, std::less<>> exact_;
  std::vector<size_t> patterns_;
};

// Parses the `namespaces:` mapping. Unknown keys and bad values are refused with their full path,
// e.g. "namespaces./chat.events.message.schema.text.maxx: unknown key".
Result<PolicySet> parse_policy(const YAML::Node& namespaces_node, std::string_view path_prefix);

// Parses YAML/JSON text whose top level holds `namespaces:` (other top-level keys are ignored).
Result<PolicySet> parse_policy_document(std::string_view text);

}  // namespace herald::policy
