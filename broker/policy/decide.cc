// Connect and event decisions: auth mode × token state, size, rate, schema, templates, ACLs.
#include "broker/policy/decide.h"

#include <algorithm>
#include <optional>

#include "broker/policy/glob.h"

namespace herald::policy {
namespace {

ClientError make_error(ClientErrorCode code, std::string message,
                       nlohmann::json details = nullptr) {
  return ClientError{code, std::move(message), std::move(details)};
}

TemplateScope scope_for(const Identity& who, const nlohmann::json* args) {
  TemplateScope scope;
  scope.sub = who.sub;
  scope.claims = who.claims;
  scope.args = args;
  if (who.match != nullptr) {
    scope.ns_name = who.match->name;
    scope.ns_captures = &who.match->captures;
  }
  return scope;
}

void add_unique(std::vector<std::string>& out, std::string value) {
  if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(std::move(value));
}

// Does claim value `v` equal (or contain) `want`?
bool claim_matches(const nlohmann::json& v, const std::string& want) {
  if (v.is_array()) {
    for (const nlohmann::json& item : v) {
      if (claim_matches(item, want)) return true;
    }
    return false;
  }
  if (v.is_string()) return v.get_ref<const std::string&>() == want;
  if (v.is_number_integer()) return v.dump() == want;
  return false;
}

const nlohmann::json* claim_at(const nlohmann::json* claims, const std::vector<std::string>& path) {
  const nlohmann::json* cur = claims;
  for (const std::string& seg : path) {
    if (cur == nullptr || !cur->is_object()) return nullptr;
    auto it = cur->find(seg);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

// A failed room template: the client's fault when it came from the arguments, else a refusal.
ClientError template_error(const Expansion& e) {
  if (e.failed != nullptr && e.failed->source == RefSource::kArgs) {
    std::string rule = e.failure == ExpandFailure::kMissing   ? "required"
                       : e.failure == ExpandFailure::kBadType ? "type"
                                                              : "max";
    std::string message = e.failure == ExpandFailure::kMissing ? "is required"
                          : e.failure == ExpandFailure::kBadType
                              ? "must be a string, an integer or an array of them"
                              : "names too many or too long rooms";
    nlohmann::json details = nlohmann::json::array();
    details.push_back({{"field", e.failed->field_path()}, {"rule", rule}, {"message", message}});
    return make_error(ClientErrorCode::kValidationFailed, "invalid event arguments",
                      std::move(details));
  }
  return make_error(ClientErrorCode::kForbidden, describe_failure(e));
}

// Expands the event's room templates; the error is set when a template fails.
std::vector<std::string> expand_rooms(const EventPolicy& ev, const TemplateScope& scope,
                                      std::optional<ClientError>* error) {
  std::vector<std::string> rooms;
  for (const Template& t : ev.rooms) {
    Expansion e = t.expand(scope);
    if (!e.ok()) {
      *error = template_error(e);
      return {};
    }
    for (std::string& room : e.values) {
      if (room.empty()) {
        *error = make_error(ClientErrorCode::kValidationFailed, "room name must not be empty");
        return {};
      }
      add_unique(rooms, std::move(room));
    }
  }
  if (rooms.empty()) {
    *error = make_error(ClientErrorCode::kValidationFailed, "the event names no room");
  }
  return rooms;
}

bool is_member(std::span<const std::string> rooms, std::string_view room) {
  return std::find(rooms.begin(), rooms.end(), room) != rooms.end();
}

ClientError rate_error(const TokenBucket& bucket, const RateSpec& spec, RateClock::time_point now,
                       std::string message) {
  return make_error(ClientErrorCode::kRateLimited, std::move(message),
                    {{"retry_after_ms", bucket.retry_after(spec, now).count()}});
}

}  // namespace

ConnectDecision decide_connect(const NamespacePolicy& policy, const ConnectContext& ctx) {
  ConnectDecision out;
  auto deny = [&](ClientErrorCode code, std::string message) {
    out.allowed = false;
    out.error = make_error(code, std::move(message));
    out.rooms.clear();
    return out;
  };
  const bool verified = ctx.has_token && ctx.token.ok;
  switch (policy.auth) {
    case AuthMode::kRequired:
      if (!ctx.has_token) return deny(ClientErrorCode::kMissingToken, "a token is required");
      [[fallthrough]];
    case AuthMode::kOptional:
      if (ctx.has_token && !ctx.token.ok) {
        ClientErrorCode code = ctx.token.error == ClientErrorCode::kExpiredToken
                                   ? ClientErrorCode::kExpiredToken
                                   : ClientErrorCode::kInvalidToken;
        return deny(code,
                    ctx.token.message.empty() ? std::string(to_string(code)) : ctx.token.message);
      }
      out.anonymous = !verified;
      break;
    case AuthMode::kNone:
      out.anonymous = true;  // a token, if any, is not looked at
      break;
  }
  Identity who;
  if (!out.anonymous) {
    out.user_id = ctx.token.sub;
    who.sub = ctx.token.sub;
    who.claims = &ctx.token.claims;
  }
  who.match = ctx.match;
  TemplateScope scope = scope_for(who, nullptr);

  for (const RequiredClaim& rc : policy.require_claims) {
    const nlohmann::json* have = claim_at(who.claims, rc.path);
    if (have == nullptr)
      return deny(ClientErrorCode::kForbidden, "claim '" + rc.name + "' is required");
    Expansion want = rc.value.expand(scope);
    bool matched = false;
    for (const std::string& w : want.values) matched = matched || claim_matches(*have, w);
    if (!matched) {
      return deny(ClientErrorCode::kForbidden,
                  "claim '" + rc.name + "' does not allow this namespace");
    }
  }

  // A template without a value (e.g. {sub} for an anonymous socket) joins nothing.
  for (const Template& t : policy.auto_join) {
    Expansion e = t.expand(scope);
    if (!e.ok()) continue;
    for (std::string& room : e.values) {
      if (!room.empty()) add_unique(out.rooms, std::move(room));
    }
  }
  out.allowed = true;
  return out;
}

std::string session_data_json(const NamespacePolicy& policy, const ConnectContext& ctx,
                              const ConnectDecision& decision, std::string_view claims_json) {
  const bool claims = !decision.anonymous && ctx.token.claims.is_object();
  const nlohmann::json captures =
      ctx.match != nullptr ? nlohmann::json(ctx.match->captures) : nlohmann::json::array();
  const nlohmann::json name = ctx.match != nullptr ? ctx.match->name : policy.name;
  std::string out =
      decision.anonymous ? R"({"anonymous":true,"claims":)" : R"({"anonymous":false,"claims":)";
  out += claims ? claims_json : std::string_view("{}");
  out += R"(,"ns":{"captures":)";
  out += captures.dump();
  out += R"(,"name":)";
  out += name.dump();
  out += R"(},"sub":)";
  out += decision.anonymous ? "null" : nlohmann::json(ctx.token.sub).dump();
  out += '}';
  return out;
}

bool join_allowed(const NamespacePolicy& policy, std::string_view room, const Identity& who) {
  TemplateScope scope = scope_for(who, nullptr);
  for (const Template& t : policy.join_allowed) {
    Expansion e = t.expand(scope);
    if (!e.ok()) continue;  // a pattern built from a missing claim grants nothing
    for (const std::string& pattern : e.values) {
      if (!pattern.empty() && glob_match(pattern, room)) return true;
    }
  }
  return false;
}

bool event_reads_args(const NamespacePolicy& policy, std::string_view event) {
  const EventPolicy* ev = policy.find_event(event);
  return ev != nullptr && (ev->schema.present || ev->action != ActionKind::kForward);
}

EventDecision decide_event(const NamespacePolicy& policy, const EventContext& ctx) {
  EventDecision out;
  auto fail = [&](ClientError error) {
    out.outcome = std::move(error);
    return out;
  };
  if (ctx.event.empty() || is_reserved_event(ctx.event)) {
    return fail(make_error(ClientErrorCode::kForbidden,
                           "'" + std::string(ctx.event) + "' is a reserved event name"));
  }
  if (policy.max_payload > 0 && ctx.payload_bytes > policy.max_payload) {
    return fail(make_error(ClientErrorCode::kPayloadTooLarge,
                           "payload exceeds " + std::to_string(policy.max_payload) + " bytes",
                           {{"max_bytes", policy.max_payload}}));
  }
  if (policy.rate) {
    if (ctx.limiter == nullptr)
      return fail(make_error(ClientErrorCode::kInternal, "no rate limiter"));
    TokenBucket& bucket = ctx.limiter->bucket(0);
    if (!bucket.try_take(*policy.rate, ctx.now)) {
      return fail(rate_error(bucket, *policy.rate, ctx.now, "too many events"));
    }
  }
  const EventPolicy* ev = policy.find_event(ctx.event);
  out.event = ev;
  if (ev == nullptr) {
    if (policy.unknown_events == UnknownEvents::kForward) {
      out.outcome = ForwardAction{false};
      return out;
    }
    return fail(make_error(ClientErrorCode::kUnknownEvent,
                           "unknown event '" + std::string(ctx.event) + "'"));
  }
  if (ev->max_payload > 0 && ctx.payload_bytes > ev->max_payload) {
    return fail(make_error(ClientErrorCode::kPayloadTooLarge,
                           "payload exceeds " + std::to_string(ev->max_payload) + " bytes",
                           {{"max_bytes", ev->max_payload}}));
  }
  if (ev->rate) {
    if (ctx.limiter == nullptr)
      return fail(make_error(ClientErrorCode::kInternal, "no rate limiter"));
    TokenBucket& bucket = ctx.limiter->bucket(ev->rate_slot);
    if (!bucket.try_take(*ev->rate, ctx.now)) {
      return fail(rate_error(bucket, *ev->rate, ctx.now, "too many '" + ev->name + "' events"));
    }
  }
  static const nlohmann::json kNoArgs = nlohmann::json::array();
  const nlohmann::json& args = ctx.args != nullptr ? *ctx.args : kNoArgs;
  nlohmann::json details = validate_args(ev->schema, args);
  if (!details.empty()) {
    return fail(make_error(ClientErrorCode::kValidationFailed, "invalid event arguments",
                           std::move(details)));
  }
  if (ev->action == ActionKind::kForward) {
    out.outcome = ForwardAction{true};
    return out;
  }
  TemplateScope scope = scope_for(ctx.identity, &args);
  std::optional<ClientError> error;
  std::vector<std::string> rooms = expand_rooms(*ev, scope, &error);
  if (error) return fail(std::move(*error));

  switch (ev->action) {
    case ActionKind::kRelay: {
      if (ev->require_member) {
        for (const std::string& room : rooms) {
          if (!is_member(ctx.rooms, room)) {
            return fail(make_error(ClientErrorCode::kForbidden, "not a member of '" + room + "'"));
          }
        }
      }
      RelayAction relay;
      relay.rooms = std::move(rooms);
      relay.except_sender = ev->except_sender;
      if (ev->except_sender) relay.except_socket = std::string(ctx.socket_id);
      relay.is_volatile = ev->is_volatile;
      out.outcome = std::move(relay);
      return out;
    }
    case ActionKind::kJoin: {
      size_t new_rooms = 0;
      for (const std::string& room : rooms) {
        if (is_member(ctx.rooms, room)) continue;
        if (!join_allowed(policy, room, ctx.identity)) {
          return fail(make_error(ClientErrorCode::kForbidden, "may not join '" + room + "'"));
        }
        ++new_rooms;
      }
      if (policy.max_rooms > 0 && ctx.rooms.size() + new_rooms > policy.max_rooms) {
        return fail(make_error(ClientErrorCode::kForbidden,
                               "at most " + std::to_string(policy.max_rooms) + " rooms per socket",
                               {{"max_rooms", policy.max_rooms}}));
      }
      out.outcome = JoinAction{std::move(rooms)};
      return out;
    }
    case ActionKind::kLeave: {
      // Rooms joined on connect (e.g. user:<sub>) carry pushes to the user; they stay.
      TemplateScope identity_scope = scope_for(ctx.identity, nullptr);
      for (const Template& t : policy.auto_join) {
        Expansion e = t.expand(identity_scope);
        for (const std::string& fixed : e.values) {
          if (std::find(rooms.begin(), rooms.end(), fixed) != rooms.end()) {
            return fail(make_error(ClientErrorCode::kForbidden, "may not leave '" + fixed + "'"));
          }
        }
      }
      out.outcome = LeaveAction{std::move(rooms)};
      return out;
    }
    case ActionKind::kForward:
      break;
  }
  return fail(make_error(ClientErrorCode::kInternal, "unhandled action"));
}

}  // namespace herald::policy
