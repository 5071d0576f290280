// libFuzzer target: policy YAML/JSON text through parse_policy_document, then lookups and
// decisions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/policy/decide.h"
#include "broker/policy/policy.h"
#include "tests/fuzz/support/yaml_depth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (herald::fuzz::yaml_too_deep(text)) return 0;
  herald::Result<herald::policy::PolicySet> set = herald::policy::parse_policy_document(text);
  if (!set.ok()) {
    if (set.status().message().empty()) std::abort();
    return 0;
  }
  nlohmann::json claims = {{"sub", "u"}, {"rooms", {"r1", "lobby"}}, {"team", 7}, {"tenant", "a"}};
  nlohmann::json args = nlohmann::json::parse(R"([{"room":"r1","text":"hi","to":"b"}, "x", 3])");
  std::vector<std::string> rooms = {"sock", "user:u", "r1"};
  for (const herald::policy::NamespacePolicy& ns : set->namespaces()) {
    // Probe the namespace by its own name (patterns then capture their literal '*').
    herald::policy::NamespaceMatch match;
    const herald::policy::NamespacePolicy* found = set->find(ns.name, &match);
    if (found == nullptr) std::abort();
    for (bool has_token : {false, true}) {
      herald::policy::ConnectContext cc;
      cc.has_token = has_token;
      cc.token.ok = has_token;
      cc.token.sub = "u";
      cc.token.claims = claims;
      cc.match = &match;
      herald::policy::ConnectDecision cd = herald::policy::decide_connect(*found, cc);
      if (!cd.allowed && cd.error.message.empty()) std::abort();
    }
    herald::policy::RateLimiter limiter;
    for (const auto& [name, ev] : found->events) {
      herald::policy::EventContext ctx;
      ctx.event = name;
      ctx.args = &args;
      ctx.payload_bytes = 100;
      ctx.identity = {"u", &claims, &match};
      ctx.socket_id = "sock";
      ctx.rooms = rooms;
      ctx.limiter = &limiter;
      herald::policy::EventDecision d = herald::policy::decide_event(*found, ctx);
      if (d.ok() && d.event != &ev) std::abort();
    }
    (void)herald::policy::join_allowed(*found, "lobby", {"u", &claims, &match});
  }
  return 0;
}
