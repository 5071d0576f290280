// Tests for connect decisions: each auth mode × token state, require_claims, auto_join templates.
#include <gtest/gtest.h>

#include "broker/policy/decide.h"
#include "tests/unit/policy/policy_test_util.h"

namespace herald::policy {
namespace {

using testing::must_parse;

constexpr const char* kPolicy = R"(
namespaces:
  /req: {auth: required, auto_join: ["user:{sub}", "team:{claims.teams}", "lobby"]}
  /opt: {auth: optional, auto_join: ["user:{sub}", "everyone"]}
  /none: {auth: none, auto_join: ["user:{sub}"]}
  /tenant-*:
    auth: required
    require_claims: {tenant: "{ns.1}"}
    auto_join: ["{ns.1}:all", "{ns}:user:{sub}"]
)";

enum class Tok { kNone, kValid, kExpired, kInvalid };

ConnectContext context(Tok tok, const NamespaceMatch* match, nlohmann::json claims = {}) {
  ConnectContext ctx;
  ctx.match = match;
  ctx.has_token = tok != Tok::kNone;
  if (tok == Tok::kValid) {
    ctx.token.ok = true;
    ctx.token.sub = "alice";
    ctx.token.claims = claims.is_null() ? nlohmann::json{{"sub", "alice"}} : claims;
  } else if (tok == Tok::kExpired) {
    ctx.token.error = ClientErrorCode::kExpiredToken;
    ctx.token.message = "token expired";
  } else if (tok == Tok::kInvalid) {
    ctx.token.error = ClientErrorCode::kInvalidToken;
    ctx.token.message = "bad signature";
  }
  return ctx;
}

// The accepted session's data as the broker sends it, parsed back.
nlohmann::json session_data(const NamespacePolicy& p, const ConnectContext& ctx,
                            const ConnectDecision& d) {
  return nlohmann::json::parse(session_data_json(p, ctx, d, ctx.token.claims.dump()));
}

struct Expect {
  bool allowed;
  ClientErrorCode code;
  bool anonymous;
};

TEST(policy_connect, AuthModeByTokenState) {
  PolicySet set = must_parse(kPolicy);
  struct Case {
    const char* ns;
    Tok tok;
    Expect want;
  };
  const auto kAny = ClientErrorCode::kInternal;
  const Case cases[] = {
      {"/req", Tok::kNone, {false, ClientErrorCode::kMissingToken, true}},
      {"/req", Tok::kValid, {true, kAny, false}},
      {"/req", Tok::kExpired, {false, ClientErrorCode::kExpiredToken, true}},
      {"/req", Tok::kInvalid, {false, ClientErrorCode::kInvalidToken, true}},
      {"/opt", Tok::kNone, {true, kAny, true}},
      {"/opt", Tok::kValid, {true, kAny, false}},
      {"/opt", Tok::kExpired, {false, ClientErrorCode::kExpiredToken, true}},
      {"/opt", Tok::kInvalid, {false, ClientErrorCode::kInvalidToken, true}},
      {"/none", Tok::kNone, {true, kAny, true}},
      {"/none", Tok::kValid, {true, kAny, true}},
      {"/none", Tok::kExpired, {true, kAny, true}},
      {"/none", Tok::kInvalid, {true, kAny, true}},
  };
  for (const Case& c : cases) {
    NamespaceMatch m;
    const NamespacePolicy* p = set.find(c.ns, &m);
    ASSERT_NE(p, nullptr);
    const ConnectContext ctx = context(c.tok, &m);
    ConnectDecision d = decide_connect(*p, ctx);
    std::string label = std::string(c.ns) + " tok=" + std::to_string(static_cast<int>(c.tok));
    EXPECT_EQ(d.allowed, c.want.allowed) << label;
    if (!c.want.allowed) {
      EXPECT_EQ(d.error.code, c.want.code) << label;
      EXPECT_FALSE(d.error.message.empty()) << label;
      EXPECT_TRUE(d.rooms.empty()) << label;
    } else {
      EXPECT_EQ(d.anonymous, c.want.anonymous) << label;
      EXPECT_EQ(d.user_id, c.want.anonymous ? "" : "alice") << label;
      EXPECT_EQ(session_data(*p, ctx, d)["anonymous"], c.want.anonymous) << label;
    }
  }
}

TEST(policy_connect, UnknownVerifierErrorBecomesInvalidToken) {
  PolicySet set = must_parse(kPolicy);
  ConnectContext ctx = context(Tok::kInvalid, nullptr);
  ctx.token.error = ClientErrorCode::kInternal;
  ctx.token.message.clear();
  ConnectDecision d = decide_connect(*set.find("/req", nullptr), ctx);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ClientErrorCode::kInvalidToken);
  EXPECT_EQ(d.error.message, "INVALID_TOKEN");
}

TEST(policy_connect, AutoJoinTemplates) {
  PolicySet set = must_parse(kPolicy);
  NamespaceMatch m;
  const NamespacePolicy* req = set.find("/req", &m);
  ConnectContext ctx = context(Tok::kValid, &m, {{"sub", "alice"}, {"teams", {1, 2}}});
  ConnectDecision d = decide_connect(*req, ctx);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.rooms, (std::vector<std::string>{"user:alice", "team:1", "team:2", "lobby"}));
  EXPECT_EQ(session_data(*req, ctx, d),
            nlohmann::json::parse(R"({"anonymous":false,"claims":{"sub":"alice","teams":[1,2]},
                                      "ns":{"captures":[],"name":"/req"},"sub":"alice"})"));
  // A claim that is missing joins nothing instead of refusing the connection.
  d = decide_connect(*req, context(Tok::kValid, &m, {{"sub", "alice"}}));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.rooms, (std::vector<std::string>{"user:alice", "lobby"}));
  // Anonymous sockets skip {sub} rooms.
  const NamespacePolicy* opt = set.find("/opt", &m);
  ctx = context(Tok::kNone, &m);
  d = decide_connect(*opt, ctx);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.rooms, (std::vector<std::string>{"everyone"}));
  EXPECT_EQ(session_data_json(*opt, ctx, d, ""),
            R"({"anonymous":true,"claims":{},"ns":{"captures":[],"name":"/opt"},"sub":null})");
}

TEST(policy_connect, DynamicNamespaceWithRequiredClaims) {
  PolicySet set = must_parse(kPolicy);
  NamespaceMatch m;
  const NamespacePolicy* t = set.find("/tenant-acme", &m);
  ASSERT_NE(t, nullptr);
  const ConnectContext acme = context(Tok::kValid, &m, {{"sub", "alice"}, {"tenant", "acme"}});
  ConnectDecision d = decide_connect(*t, acme);
  ASSERT_TRUE(d.allowed) << d.error.message;
  EXPECT_EQ(d.rooms, (std::vector<std::string>{"acme:all", "/tenant-acme:user:alice"}));
  EXPECT_EQ(session_data(*t, acme, d)["ns"]["captures"], nlohmann::json::array({"acme"}));
  // An array claim allows every tenant it lists.
  d = decide_connect(*t, context(Tok::kValid, &m, {{"sub", "alice"}, {"tenant", {"x", "acme"}}}));
  EXPECT_TRUE(d.allowed);
  d = decide_connect(*t, context(Tok::kValid, &m, {{"sub", "alice"}, {"tenant", "globex"}}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ClientErrorCode::kForbidden);
  d = decide_connect(*t, context(Tok::kValid, &m, {{"sub", "alice"}}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.error.code, ClientErrorCode::kForbidden);
}

}  // namespace
}  // namespace herald::policy
