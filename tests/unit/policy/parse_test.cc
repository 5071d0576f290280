// Tests for parsing the namespaces section: the issue's example, defaults, lookups, errors with
// paths.
#include <gtest/gtest.h>

#include "broker/policy/policy.h"
#include "tests/unit/policy/policy_test_util.h"

namespace herald::policy {
namespace {

using testing::must_parse;
using testing::parse_error;

constexpr const char* kExample = R"(
namespaces:
  /chat:
    auth: required
    auto_join: ["user:{sub}"]
    rooms:
      join_allowed: ["{claims.rooms}", "lobby", "team:{claims.team}:*"]
    max_payload: 65536
    unknown_events: reject
    events:
      message: {action: relay, to: "{args.room}", require_member: true, rate: {per_second: 20, burst: 40},
                schema: {room: {type: string, max: 200}, text: {type: string, min: 1, max: 2000}}}
      typing:  {action: relay, to: "{args.room}", except_sender: true, volatile: true}
      join:    {action: join, room: "{args.room}", schema: {room: {type: string, max: 200}}}
      leave:   {action: leave, room: "{args.room}"}
      markRead: {action: forward}
  /tenant-*:
    auth: required
    rooms: {join_allowed: ["{ns.1}:*"]}
)";

TEST(policy_parse, IssueExample) {
  PolicySet set = must_parse(kExample);
  ASSERT_EQ(set.namespaces().size(), 2u);
  NamespaceMatch m;
  const NamespacePolicy* chat = set.find("/chat", &m);
  ASSERT_NE(chat, nullptr);
  EXPECT_EQ(m.name, "/chat");
  EXPECT_EQ(chat->auth, AuthMode::kRequired);
  EXPECT_EQ(chat->auto_join.size(), 1u);
  EXPECT_EQ(chat->join_allowed.size(), 3u);
  EXPECT_EQ(chat->max_payload, 65536u);
  EXPECT_EQ(chat->events.size(), 5u);
  const EventPolicy* msg = chat->find_event("message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->action, ActionKind::kRelay);
  EXPECT_TRUE(msg->require_member);
  ASSERT_TRUE(msg->rate.has_value());
  EXPECT_EQ(msg->rate->burst, 40);
  EXPECT_EQ(msg->rate_slot, 1u);
  EXPECT_EQ(chat->rate_slots, 2u);
  EXPECT_TRUE(msg->schema.present);
  const EventPolicy* typing = chat->find_event("typing");
  ASSERT_NE(typing, nullptr);
  EXPECT_TRUE(typing->except_sender);
  EXPECT_TRUE(typing->is_volatile);
  EXPECT_FALSE(typing->schema.present);
  EXPECT_EQ(chat->find_event("markRead")->action, ActionKind::kForward);
  EXPECT_EQ(chat->find_event("nope"), nullptr);

  const NamespacePolicy* tenant = set.find("/tenant-acme", &m);
  ASSERT_NE(tenant, nullptr);
  EXPECT_TRUE(tenant->is_pattern);
  EXPECT_EQ(m.name, "/tenant-acme");
  EXPECT_EQ(m.captures, (std::vector<std::string>{"acme"}));
  EXPECT_EQ(set.find("/other", &m), nullptr);
  EXPECT_EQ(set.find("/", nullptr), nullptr);
}

// The broker keeps a socket's claims as text and parses them for an event only when a template
// evaluated at event time reads them.
TEST(policy_parse, EventsUseClaimsWhenAnEventTimeTemplateReadsThem) {
  PolicySet set = must_parse(R"(
namespaces:
  /none:
    auto_join: ["user:{sub}"]
    rooms: {join_allowed: ["{ns}:*"]}
    events: {message: {action: relay, to: "{args.room}"}}
  /event:
    events: {message: {action: relay, to: "team:{claims.team}"}}
  /join:
    rooms: {join_allowed: ["{claims.rooms}"]}
  /leave:
    auto_join: ["org:{claims.org}"]
)");
  EXPECT_FALSE(set.find("/none", nullptr)->events_use_claims);
  EXPECT_TRUE(set.find("/event", nullptr)->events_use_claims);
  EXPECT_TRUE(set.find("/join", nullptr)->events_use_claims);
  EXPECT_TRUE(set.find("/leave", nullptr)->events_use_claims);
}

TEST(policy_parse, ExactNamesWinOverPatternsAndPatternsKeepOrder) {
  PolicySet set = must_parse(R"(
namespaces:
  /t-*: {auth: none}
  /t-special: {auth: optional}
  /t-x*: {auth: required}
)");
  EXPECT_EQ(set.find("/t-special", nullptr)->auth, AuthMode::kOptional);
  EXPECT_EQ(set.find("/t-xyz", nullptr)->auth, AuthMode::kNone);  // first pattern declared wins
  EXPECT_EQ(set.find("/t-", nullptr)->auth, AuthMode::kNone);
}

TEST(policy_parse, Defaults) {
  PolicySet set = must_parse("namespaces:\n  /:\n");
  const NamespacePolicy* root = set.find("/", nullptr);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->auth, AuthMode::kRequired);
  EXPECT_EQ(root->unknown_events, UnknownEvents::kReject);
  EXPECT_EQ(root->max_payload, 0u);
  EXPECT_TRUE(root->join_allowed.empty());
  EXPECT_FALSE(root->rate.has_value());
}

TEST(policy_parse, JsonIsAccepted) {
  PolicySet set = must_parse(
      R"({"namespaces": {"/j": {"auth": "none", "rate": {"per_minute": 60},
          "events": {"e": {"action": "forward", "args": [{"type": "integer"}]}}}}})");
  const NamespacePolicy* j = set.find("/j", nullptr);
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->rate.has_value());
  EXPECT_DOUBLE_EQ(j->rate->per_second, 1.0);
  EXPECT_EQ(j->rate->burst, 1.0);
  EXPECT_EQ(j->find_event("e")->schema.args.size(), 1u);
}

TEST(policy_parse, ErrorsCarryTheirPath) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"namespaces:\n  /chat:\n    events:\n      message: {action: relay, to: r, schema: {text: "
       "{type: string, maxx: 1}}}",
       "namespaces./chat.events.message.schema.text.maxx: unknown key"},
      {"namespaces:\n  /chat: {authh: none}", "namespaces./chat.authh: unknown key"},
      {"namespaces:\n  chat: {}", "namespaces.chat: namespace names start with '/'"},
      {"namespaces:\n  /c: {auth: maybe}",
       "namespaces./c.auth: must be required, optional or none"},
      {"namespaces:\n  /c: {unknown_events: drop}",
       "namespaces./c.unknown_events: must be reject or forward"},
      {"namespaces:\n  /c: {max_payload: -1}", "namespaces./c.max_payload: must be >= 0"},
      {"namespaces:\n  /c: {max_payload: big}", "namespaces./c.max_payload: must be an integer"},
      {"namespaces:\n  /c: {rooms: {join_allowed: ['{args.room}']}}",
       "namespaces./c.rooms.join_allowed[0]: placeholder '{args.room}' is not allowed here"},
      {"namespaces:\n  /c: {rooms: {joinallowed: []}}",
       "namespaces./c.rooms.joinallowed: unknown key"},
      {"namespaces:\n  /c: {rooms: {max_per_socket: x}}",
       "namespaces./c.rooms.max_per_socket: must be an integer"},
      {"namespaces:\n  /c: {auto_join: ['user:{sub']}", "namespaces./c.auto_join[0]: unclosed '{'"},
      {"namespaces:\n  /c: {auto_join: 'x:{ns.1}'}",
       "namespaces./c.auto_join: '{ns.1}': the namespace pattern has 0 '*'"},
      {"namespaces:\n  /c: {rate: {per_second: 0}}", "namespaces./c.rate.per_second: must be > 0"},
      {"namespaces:\n  /c: {rate: {burst: 2}}",
       "namespaces./c.rate: missing key 'per_second' (or 'per_minute')"},
      {"namespaces:\n  /c: {rate: {per_second: 1, per_minute: 1}}",
       "namespaces./c.rate.per_minute: use either per_second or per_minute"},
      {"namespaces:\n  /c: {rate: {per_second: 1, burst: 0.5}}",
       "namespaces./c.rate.burst: must be >= 1"},
      {"namespaces:\n  /c: {rate: {per_second: 1, brust: 3}}",
       "namespaces./c.rate.brust: unknown key"},
      {"namespaces:\n  /c: {events: {e: {to: r}}}", "namespaces./c.events.e: missing key 'action'"},
      {"namespaces:\n  /c: {events: {e: {action: shout}}}",
       "namespaces./c.events.e.action: must be relay, join, leave or forward"},
      {"namespaces:\n  /c: {events: {e: {action: relay}}}",
       "namespaces./c.events.e: missing key 'to'"},
      {"namespaces:\n  /c: {events: {e: {action: join}}}",
       "namespaces./c.events.e: missing key 'room'"},
      {"namespaces:\n  /c: {events: {e: {action: join, to: r}}}",
       "namespaces./c.events.e.to: not allowed for action join"},
      {"namespaces:\n  /c: {events: {e: {action: relay, room: r}}}",
       "namespaces./c.events.e.room: not allowed for action relay"},
      {"namespaces:\n  /c: {events: {e: {action: forward, to: r}}}",
       "namespaces./c.events.e.to: not allowed for action forward"},
      {"namespaces:\n  /c: {events: {e: {action: join, room: r, except_sender: true}}}",
       "namespaces./c.events.e.except_sender: not allowed for action join"},
      {"namespaces:\n  /c: {events: {e: {action: relay, to: r, volatile: yes}}}",
       "namespaces./c.events.e.volatile: must be true or false"},
      {"namespaces:\n  /c: {events: {e: {action: relay, to: ''}}}",
       "namespaces./c.events.e.to: must not be empty"},
      {"namespaces:\n  /c: {events: {e: {action: relay, to: []}}}",
       "namespaces./c.events.e.to: must not be empty"},
      {"namespaces:\n  /c: {events: {e: {action: relay, to: '{args.room'}}}",
       "namespaces./c.events.e.to: unclosed '{'"},
      {"namespaces:\n  /c: {events: {e: {action: forward, rate: {per_second: x}}}}",
       "namespaces./c.events.e.rate.per_second: must be a number"},
      {"namespaces:\n  /c: {events: {disconnect: {action: forward}}}",
       "namespaces./c.events.disconnect: reserved event name"},
      {"namespaces:\n  /c: {events: {e: {action: forward, colour: red}}}",
       "namespaces./c.events.e.colour: unknown key"},
      {"namespaces:\n  /c: {events: {e: {action: forward, schema: {a: string}, args: [string]}}}",
       "namespaces./c.events.e.args: use either 'schema' or 'args'"},
      {"namespaces:\n  /c: {events: {e: {action: forward, args: {a: string}}}}",
       "namespaces./c.events.e.args: must be a list of type specs"},
      {"namespaces:\n  /c: {events: [1, 2]}", "namespaces./c.events: must be a mapping"},
      {"namespaces:\n  /c: {require_claims: {tenant: '{args.x}'}}",
       "namespaces./c.require_claims.tenant: placeholder '{args.x}' is not allowed here"},
      {"namespaces:\n  /c: {}\n  /c: {}", "namespaces./c: duplicate key"},
      {"namespaces: [1]", "namespaces: must be a mapping"},
      {"other: 1", "namespaces: missing"},
      {"namespaces: {/c: {", "policy: "},
  };
  for (const Case& c : cases) {
    std::string error = parse_error(c.yaml);
    EXPECT_NE(error.find(c.error), std::string::npos) << c.yaml << "\n  got: " << error;
  }
}

TEST(policy_parse, AliasBombsHitTheBudget) {
  // Each level refers to the previous one 10 times: 10^7 nodes if walked naively.
  std::string yaml = "a0: &a0 {type: string}\n";
  for (int i = 1; i <= 7; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " {type: object, fields: {";
    for (int j = 0; j < 10; ++j) {
      yaml += (j ? ", f" : "f") + std::to_string(j) + ": *a" + std::to_string(i - 1);
    }
    yaml += "}}\n";
  }
  yaml += "namespaces:\n  /c: {events: {e: {action: forward, schema: *a7}}}\n";
  std::string error = parse_error(yaml);
  EXPECT_NE(error.find("too large"), std::string::npos) << error;
}

}  // namespace
}  // namespace herald::policy
