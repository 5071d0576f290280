// Tests for event decisions: actions, every refusal code, templates, membership, ACLs, rates.
#include <gtest/gtest.h>

#include "broker/policy/decide.h"
#include "tests/unit/policy/policy_test_util.h"

namespace herald::policy {
namespace {

using nlohmann::json;
using testing::must_parse;

constexpr const char* kPolicy = R"(
namespaces:
  /chat:
    auth: required
    auto_join: ["user:{sub}"]
    rooms:
      join_allowed: ["{claims.rooms}", "lobby", "team:{claims.team}:*"]
      max_per_socket: 4
    max_payload: 1000
    unknown_events: reject
    events:
      message: {action: relay, to: "{args.room}", require_member: true, rate: {per_second: 2, burst: 2},
                schema: {room: {type: string, max: 200}, text: {type: string, min: 1, max: 2000}}}
      typing:  {action: relay, to: "{args.room}", except_sender: true, volatile: true}
      dm:      {action: relay, to: "user:{args.to}", schema: {to: string, text: string}}
      multi:   {action: relay, to: ["{args.rooms}", "audit"]}
      join:    {action: join, room: "{args.room}", schema: {room: {type: string, max: 200}}}
      leave:   {action: leave, room: "{args.room}"}
      markRead: {action: forward, max_payload: 10}
      whoami:  {action: relay, to: "private:{claims.org}"}
  /open:
    auth: none
    unknown_events: forward
    rate: {per_second: 1, burst: 3}
  /tenant-*:
    rooms: {join_allowed: ["{ns.1}:*"]}
    events:
      join: {action: join, room: "{args.0}"}
)";

class policy_event : public ::testing::Test {
 protected:
  EventDecision send(std::string_view ns, std::string_view event, json args, size_t payload = 10) {
    match_ = {};
    const NamespacePolicy* p = set_.find(ns, &match_);
    EXPECT_NE(p, nullptr);
    args_ = std::move(args);
    EventContext ctx;
    ctx.event = event;
    ctx.args = &args_;
    ctx.payload_bytes = payload;
    ctx.identity = {sub_, &claims_, &match_};
    ctx.socket_id = "sock1";
    ctx.rooms = rooms_;
    ctx.limiter = &limiter_;
    ctx.now = RateClock::time_point(std::chrono::milliseconds(now_ms_));
    return decide_event(*p, ctx);
  }

  static ClientErrorCode code(const EventDecision& d) {
    return d.error() ? d.error()->code : ClientErrorCode::kInternal;
  }

  PolicySet set_ = must_parse(kPolicy);
  NamespaceMatch match_;
  json args_;
  std::string sub_ = "alice";
  json claims_ = {{"sub", "alice"}, {"rooms", {"r1", "r2"}}, {"team", 7}};
  std::vector<std::string> rooms_ = {"sock1", "user:alice", "r1"};
  RateLimiter limiter_;
  int64_t now_ms_ = 1000;
};

TEST_F(policy_event, RelayToMemberRoom) {
  EventDecision d = send("/chat", "message", json::parse(R"([{"room":"r1","text":"hi"}])"));
  ASSERT_TRUE(d.ok()) << d.error()->message;
  auto* relay = std::get_if<RelayAction>(&d.outcome);
  ASSERT_NE(relay, nullptr);
  EXPECT_EQ(relay->rooms, (std::vector<std::string>{"r1"}));
  EXPECT_FALSE(relay->except_sender);
  EXPECT_FALSE(relay->is_volatile);
  ASSERT_NE(d.event, nullptr);
  EXPECT_EQ(d.event->name, "message");
}

TEST_F(policy_event, RequireMember) {
  EventDecision d = send("/chat", "message", json::parse(R"([{"room":"r2","text":"hi"}])"));
  EXPECT_EQ(code(d), ClientErrorCode::kForbidden);
}

TEST_F(policy_event, ExceptSenderAndVolatile) {
  EventDecision d = send("/chat", "typing", json::parse(R"([{"room":"anything"}])"));
  auto* relay = std::get_if<RelayAction>(&d.outcome);
  ASSERT_NE(relay, nullptr);
  EXPECT_TRUE(relay->except_sender);
  EXPECT_EQ(relay->except_socket, "sock1");
  EXPECT_TRUE(relay->is_volatile);
}

TEST_F(policy_event, TemplatesWithPrefixAndArrays) {
  EventDecision d = send("/chat", "dm", json::parse(R"([{"to":"bob","text":"psst"}])"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<RelayAction>(d.outcome).rooms, (std::vector<std::string>{"user:bob"}));
  d = send("/chat", "multi", json::parse(R"([{"rooms":["a","b","a"]}])"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<RelayAction>(d.outcome).rooms, (std::vector<std::string>{"a", "b", "audit"}));
}

TEST_F(policy_event, TemplateFailures) {
  // Missing argument field: the client's fault.
  EventDecision d = send("/chat", "typing", json::parse(R"([{}])"));
  ASSERT_EQ(code(d), ClientErrorCode::kValidationFailed);
  EXPECT_EQ(d.error()->details[0],
            (json{{"field", "room"}, {"rule", "required"}, {"message", "is required"}}));
  d = send("/chat", "typing", json::parse(R"([{"room":{"x":1}}])"));
  ASSERT_EQ(code(d), ClientErrorCode::kValidationFailed);
  EXPECT_EQ(d.error()->details[0]["rule"], "type");
  d = send("/chat", "typing", json::parse(R"([{"room":""}])"));
  EXPECT_EQ(code(d), ClientErrorCode::kValidationFailed);
  d = send("/chat", "multi", json::parse(R"([{"rooms":[]}])"));
  ASSERT_TRUE(d.ok());  // "audit" remains
  // Missing claim: a refusal.
  d = send("/chat", "whoami", json::array());
  EXPECT_EQ(code(d), ClientErrorCode::kForbidden);
  claims_["org"] = "acme";
  d = send("/chat", "whoami", json::array());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<RelayAction>(d.outcome).rooms, (std::vector<std::string>{"private:acme"}));
}

TEST_F(policy_event, ValidationFailedDetails) {
  EventDecision d = send("/chat", "message", json::parse(R"([{"room":"r1","text":"","x":1}])"));
  ASSERT_EQ(code(d), ClientErrorCode::kValidationFailed);
  json err = d.error()->to_json();
  EXPECT_EQ(err["code"], "VALIDATION_FAILED");
  EXPECT_EQ(err["details"].size(), 2u);
  EXPECT_EQ(err["details"][0]["field"], "text");
  EXPECT_EQ(err["details"][0]["rule"], "min");
  EXPECT_EQ(err["details"][1]["field"], "x");
  EXPECT_EQ(err["details"][1]["rule"], "unknown");
}

TEST_F(policy_event, JoinAcl) {
  auto join = [&](const char* room) {
    return send("/chat", "join", json::array({{{"room", room}}}));
  };
  EventDecision d = join("r2");  // from claims.rooms
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<JoinAction>(d.outcome).rooms, (std::vector<std::string>{"r2"}));
  EXPECT_TRUE(join("lobby").ok());
  EXPECT_TRUE(join("team:7:general").ok());
  EXPECT_EQ(code(join("team:8:general")), ClientErrorCode::kForbidden);
  EXPECT_EQ(code(join("r3")), ClientErrorCode::kForbidden);
  EXPECT_EQ(code(join("lobby2")), ClientErrorCode::kForbidden);
  // Rejoining a room the socket is in does not need the ACL.
  EXPECT_TRUE(join("user:alice").ok());
  // Without the claims, the claim-based patterns grant nothing.
  claims_ = {{"sub", "alice"}};
  EXPECT_EQ(code(join("r2")), ClientErrorCode::kForbidden);
  EXPECT_EQ(code(join("team:7:x")), ClientErrorCode::kForbidden);
  EXPECT_TRUE(join("lobby").ok());
}

TEST_F(policy_event, JoinAclFunction) {
  const NamespacePolicy* p = set_.find("/chat", &match_);
  Identity who{sub_, &claims_, &match_};
  EXPECT_TRUE(join_allowed(*p, "r1", who));
  EXPECT_TRUE(join_allowed(*p, "team:7:", who));
  EXPECT_FALSE(join_allowed(*p, "team:77", who));
  EXPECT_FALSE(join_allowed(*p, "r1", Identity{}));
  EXPECT_TRUE(join_allowed(*p, "lobby", Identity{}));
}

TEST_F(policy_event, MaxRoomsPerSocket) {
  rooms_ = {"sock1", "user:alice", "r1", "r2"};
  EventDecision d = send("/chat", "join", json::array({{{"room", "lobby"}}}));
  ASSERT_EQ(code(d), ClientErrorCode::kForbidden);
  EXPECT_EQ(d.error()->details["max_rooms"], 4);
}

TEST_F(policy_event, Leave) {
  EventDecision d = send("/chat", "leave", json::array({{{"room", "r1"}}}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<LeaveAction>(d.outcome).rooms, (std::vector<std::string>{"r1"}));
  EXPECT_TRUE(send("/chat", "leave", json::array({{{"room", "never-joined"}}})).ok());
  // The auto-joined user room stays.
  EXPECT_EQ(code(send("/chat", "leave", json::array({{{"room", "user:alice"}}}))),
            ClientErrorCode::kForbidden);
}

TEST_F(policy_event, Forward) {
  EventDecision d = send("/chat", "markRead", json::array({1, 2}));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(std::get<ForwardAction>(d.outcome).declared);
  d = send("/open", "whatever", json::array());
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(std::get<ForwardAction>(d.outcome).declared);
  EXPECT_EQ(d.event, nullptr);
}

TEST_F(policy_event, UnknownEvent) {
  EventDecision d = send("/chat", "shout", json::array());
  ASSERT_EQ(code(d), ClientErrorCode::kUnknownEvent);
  EXPECT_EQ(d.error()->to_json()["code"], "UNKNOWN_EVENT");
}

TEST_F(policy_event, ReservedNamesAreForbiddenEvenWhenForwarding) {
  for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                           "removeListener", ""}) {
    EXPECT_EQ(code(send("/open", name, json::array())), ClientErrorCode::kForbidden) << name;
    EXPECT_EQ(code(send("/chat", name, json::array())), ClientErrorCode::kForbidden) << name;
  }
}

TEST_F(policy_event, PayloadTooLarge) {
  EventDecision d = send("/chat", "typing", json::array({{{"room", "r"}}}), 1001);
  ASSERT_EQ(code(d), ClientErrorCode::kPayloadTooLarge);
  EXPECT_EQ(d.error()->details["max_bytes"], 1000);
  EXPECT_TRUE(send("/chat", "typing", json::array({{{"room", "r"}}}), 1000).ok());
  // Per-event cap below the namespace's.
  EXPECT_EQ(code(send("/chat", "markRead", json::array(), 11)), ClientErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(send("/chat", "markRead", json::array(), 10).ok());
}

TEST_F(policy_event, PerEventRateLimit) {
  json msg = json::parse(R"([{"room":"r1","text":"hi"}])");
  EXPECT_TRUE(send("/chat", "message", msg).ok());
  EXPECT_TRUE(send("/chat", "message", msg).ok());
  EventDecision d = send("/chat", "message", msg);
  ASSERT_EQ(code(d), ClientErrorCode::kRateLimited);
  EXPECT_EQ(d.error()->details["retry_after_ms"], 500);
  // Other events are not limited by message's bucket.
  EXPECT_TRUE(send("/chat", "typing", json::array({{{"room", "r"}}})).ok());
  now_ms_ += 500;
  EXPECT_TRUE(send("/chat", "message", msg).ok());
  EXPECT_EQ(code(send("/chat", "message", msg)), ClientErrorCode::kRateLimited);
}

TEST_F(policy_event, NamespaceRateLimitCountsEveryEvent) {
  EXPECT_TRUE(send("/open", "a", json::array()).ok());
  EXPECT_TRUE(send("/open", "b", json::array()).ok());
  EXPECT_TRUE(send("/open", "c", json::array()).ok());
  EXPECT_EQ(code(send("/open", "d", json::array())), ClientErrorCode::kRateLimited);
  EXPECT_EQ(code(send("/open", "disconnect", json::array())), ClientErrorCode::kForbidden);
  now_ms_ += 1000;
  EXPECT_TRUE(send("/open", "e", json::array()).ok());
}

TEST_F(policy_event, MissingLimiterIsInternal) {
  const NamespacePolicy* p = set_.find("/open", &match_);
  json args = json::array();
  EventContext ctx;
  ctx.event = "x";
  ctx.args = &args;
  EventDecision d = decide_event(*p, ctx);
  EXPECT_EQ(code(d), ClientErrorCode::kInternal);
}

TEST_F(policy_event, DynamicNamespaceAcl) {
  EXPECT_TRUE(send("/tenant-acme", "join", json::array({"acme:general"})).ok());
  EXPECT_EQ(code(send("/tenant-acme", "join", json::array({"globex:general"}))),
            ClientErrorCode::kForbidden);
  EXPECT_EQ(code(send("/tenant-acme", "join", json::array())), ClientErrorCode::kValidationFailed);
}

// The broker parses an event's arguments only when the decision reads them.
TEST_F(policy_event, ReadsArgsOnlyForSchemasAndRoomTemplates) {
  const NamespacePolicy* chat = set_.find("/chat", nullptr);
  ASSERT_NE(chat, nullptr);
  EXPECT_TRUE(event_reads_args(*chat, "message"));  // relay with a schema
  EXPECT_TRUE(event_reads_args(*chat, "typing"));   // relay: room templates
  EXPECT_TRUE(event_reads_args(*chat, "leave"));
  EXPECT_TRUE(event_reads_args(*chat, "whoami"));  // relay, even without {args.*}
  EXPECT_FALSE(event_reads_args(*chat, "markRead"));
  EXPECT_FALSE(event_reads_args(*chat, "nosuch"));
  const NamespacePolicy* open = set_.find("/open", nullptr);
  ASSERT_NE(open, nullptr);
  EXPECT_FALSE(event_reads_args(*open, "anything"));  // unknown_events: forward
}

}  // namespace
}  // namespace herald::policy
