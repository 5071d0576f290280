// Policy decisions for the broker: may this socket connect, and what does this client event do.
#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "broker/policy/policy.h"
#include "broker/policy/rate_limiter.h"
#include "common/client_error.h"

namespace herald::policy {

// What the token verifier (broker/auth) concluded about the presented token.
struct TokenVerification {
  bool ok = false;
  std::string sub;                                         // verified subject, when ok
  nlohmann::json claims;                                   // verified claims object, when ok
  ClientErrorCode error = ClientErrorCode::kInvalidToken;  // kExpiredToken or kInvalidToken
  std::string message;                                     // why, when !ok
};

struct ConnectContext {
  bool has_token = false;  // auth.token or the `token` query parameter was present
  TokenVerification token;
  const NamespaceMatch* match = nullptr;  // from PolicySet::find
};

struct ConnectDecision {
  bool allowed = false;
  ClientError error;               // when !allowed
  bool anonymous = true;           // no verified identity (auth none, or optional without a token)
  std::string user_id;             // the verified sub; empty when anonymous
  std::vector<std::string> rooms;  // auto_join rooms, templated, deduplicated
};

ConnectDecision decide_connect(const NamespacePolicy& policy, const ConnectContext& ctx);

// The accepted session's data, compact JSON with sorted keys:
// {"anonymous": bool, "claims": {...}, "ns": {"captures": [...], "name": str}, "sub": str|null}.
// `claims_json` is ctx.token.claims already encoded (the broker keeps that text for the session),
// so the claims are neither copied nor encoded a second time.
std::string session_data_json(const NamespacePolicy& policy, const ConnectContext& ctx,
                              const ConnectDecision& decision, std::string_view claims_json);

// Who is asking, for template expansion and join ACLs.
struct Identity {
  std::string_view sub;                    // empty when anonymous
  const nlohmann::json* claims = nullptr;  // null when anonymous
  const NamespaceMatch* match = nullptr;
};

// True when `room` matches one of the namespace's join_allowed patterns for this identity.
bool join_allowed(const NamespacePolicy& policy, std::string_view room, const Identity& who);

struct EventContext {
  std::string_view event;
  const nlohmann::json* args = nullptr;  // the event's argument array (without the ack callback)
  size_t payload_bytes = 0;              // encoded size of the event, attachments included
  Identity identity;
  std::string_view socket_id;
  std::span<const std::string> rooms;  // the socket's current rooms in this namespace
  RateLimiter* limiter = nullptr;      // this socket's buckets; required when a rate applies
  RateClock::time_point now{};
};

struct RelayAction {
  std::vector<std::string> rooms;
  bool except_sender = false;
  std::string except_socket;  // the sender's socket id when except_sender
  bool is_volatile = false;
};
struct JoinAction {
  std::vector<std::string> rooms;
};
struct LeaveAction {
  std::vector<std::string> rooms;
};
struct ForwardAction {
  bool declared = true;  // false when forwarded because unknown_events is `forward`
};

struct EventDecision {
  std::variant<ClientError, RelayAction, JoinAction, LeaveAction, ForwardAction> outcome;
  const EventPolicy* event = nullptr;  // the matched declaration, if any

  bool ok() const { return !std::holds_alternative<ClientError>(outcome); }
  const ClientError* error() const { return std::get_if<ClientError>(&outcome); }
};

EventDecision decide_event(const NamespacePolicy& policy, const EventContext& ctx);

// Whether decide_event reads EventContext::args for `event`: a schema, or room templates
// (relay/join/leave). A forward without a schema, or an unknown event, needs no parsed arguments.
bool event_reads_args(const NamespacePolicy& policy, std::string_view event);

}  // namespace herald::policy
