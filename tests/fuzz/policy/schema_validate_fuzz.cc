// libFuzzer target: a fixed event policy (schema, templates, ACLs) against arbitrary JSON
// arguments.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "broker/policy/decide.h"
#include "broker/policy/policy.h"
#include "broker/policy/schema.h"

namespace {

using herald::policy::PolicySet;

constexpr char kPolicy[] = R"(
namespaces:
  /chat:
    auth: required
    auto_join: ["user:{sub}"]
    rooms: {join_allowed: ["{claims.rooms}", "lobby", "team:{claims.team}:*"], max_per_socket: 8}
    events:
      message:
        action: relay
        to: "{args.room}"
        require_member: true
        schema:
          room: {type: string, min: 1, max: 200}
          text: {type: string, min: 1, max: 2000}
          kind: {type: string, enum: [text, image], optional: true}
          file: {type: string, pattern: "img-*.png", optional: true}
          n: {type: integer, min: -10, max: 10, optional: true}
          x: {type: number, min: -1.5, max: 1.5, optional: true, nullable: true}
          flag: {type: boolean, optional: true}
          meta: {type: object, optional: true, additional: true, fields: {v: integer}}
          author:
            type: object
            optional: true
            fields:
              name: {type: string, max: 20}
              tags: {type: array, max: 5, items: {type: string, max: 10}}
              points: {type: array, optional: true, items: {type: object, fields: {x: number, y: number}}}
          blob: {type: any, optional: true}
      multi: {action: relay, to: ["{args.rooms}", "x:{args.1.y}"]}
      join: {action: join, room: "{args.room}"}
      leave: {action: leave, room: "{args.room}"}
      pos: {action: forward, args: [{type: string, max: 3}, {type: array, items: integer}, {type: integer, optional: true}]}
)";

const PolicySet& policy_set() {
  static const PolicySet* set = [] {
    herald::Result<PolicySet> parsed = herald::policy::parse_policy_document(kPolicy);
    if (!parsed.ok()) std::abort();
    return new PolicySet(std::move(parsed).value());
  }();
  return *set;
}

void check_details(const nlohmann::json& details) {
  if (!details.is_array() || details.size() > herald::policy::kMaxValidationDetails) std::abort();
  for (const nlohmann::json& d : details) {
    if (!d.is_object() || !d["field"].is_string() || !d["rule"].is_string() ||
        !d["message"].is_string()) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  nlohmann::json value =
      nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return 0;
  nlohmann::json args = value.is_array() ? value : nlohmann::json::array({value});

  const PolicySet& set = policy_set();
  herald::policy::NamespaceMatch match;
  const herald::policy::NamespacePolicy* chat = set.find("/chat", &match);
  if (chat == nullptr) std::abort();

  for (const auto& [name, ev] : chat->events) {
    check_details(herald::policy::validate_args(ev.schema, args));
  }

  nlohmann::json claims = {{"sub", "u"}, {"rooms", {"r1", "r2"}}, {"team", 7}};
  if (value.is_object() && value.contains("claims")) claims = value["claims"];
  std::vector<std::string> rooms = {"sock", "user:u", "r1"};
  herald::policy::RateLimiter limiter;
  for (const char* event : {"message", "multi", "join", "leave", "pos", "other", "disconnect"}) {
    herald::policy::EventContext ctx;
    ctx.event = event;
    ctx.args = &args;
    ctx.payload_bytes = size;
    ctx.identity = {"u", &claims, &match};
    ctx.socket_id = "sock";
    ctx.rooms = rooms;
    ctx.limiter = &limiter;
    herald::policy::EventDecision d = herald::policy::decide_event(*chat, ctx);
    if (const herald::ClientError* e = d.error()) {
      nlohmann::json out = e->to_json();
      if (!out["code"].is_string()) std::abort();
      if (e->code == herald::ClientErrorCode::kValidationFailed && e->details.is_array()) {
        check_details(e->details);
      }
    }
  }
  return 0;
}
