// The broker's configuration sections: defaults, auth keys, policy, errors.
#include "broker/broker_config.h"

#include <gtest/gtest.h>

namespace herald::broker {
namespace {

BrokerConfig read(const std::string& yaml, Status* status) {
  auto reader = config::ConfigReader::from_string(yaml);
  EXPECT_TRUE(reader.ok()) << reader.status().to_string();
  BrokerConfig out;
  read_broker_config(*reader, &out);
  *status = reader->finish();
  return out;
}

TEST(BrokerConfig, Defaults) {
  Status s;
  BrokerConfig c = read("{}", &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(c.grpc_listen, "127.0.0.1:50051");
  EXPECT_EQ(c.edgelink_listen, "127.0.0.1:50052");
  EXPECT_TRUE(c.api.bearer_tokens.empty());
  EXPECT_EQ(c.auth.on_expiry, OnExpiry::kDisconnect);
  ASSERT_NE(c.policy, nullptr);
  EXPECT_NE(c.policy->find("/", nullptr), nullptr);  // demo default: "/" with auth none
}

TEST(BrokerConfig, ReadsEverySection) {
  Status s;
  BrokerConfig c = read(R"(
broker:
  grpc_listen: 0.0.0.0:6000
  edgelink_listen: 0.0.0.0:6001
  presence_events:
    - {ns: /chat, rooms: ["team:*", "lobby"]}
api:
  bearer_tokens: [aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb]
  handler_timeout_ms: 1234
auth:
  keys:
    - {kid: k1, secret: "0123456789abcdef0123456789abcdef", algs: [HS256]}
    - {kid: k2, pem_file: /etc/herald/key.pem}
    - {kid: k3, type: pem, value: "-----BEGIN PUBLIC KEY-----"}
  leeway_s: 5
  audience: app
  issuer: https://issuer
  require_sub: false
  allowed_algs: [HS256, RS256]
  on_expiry: grace
  grace_s: 12
  dev_tokens: {enabled: true}
namespaces:
  /chat:
    auth: required
)",
                        &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(c.grpc_listen, "0.0.0.0:6000");
  EXPECT_EQ(c.edgelink_listen, "0.0.0.0:6001");
  ASSERT_EQ(c.presence_events.size(), 1u);
  EXPECT_EQ(c.presence_events[0].ns, "/chat");
  EXPECT_EQ(c.presence_events[0].rooms, (std::vector<std::string>{"team:*", "lobby"}));
  EXPECT_EQ(c.api.bearer_tokens.size(), 2u);
  EXPECT_EQ(c.api.handler_timeout_ms, 1234u);
  ASSERT_EQ(c.auth.jwt.keys.size(), 3u);
  EXPECT_EQ(c.auth.jwt.keys[2].type, auth::KeySpec::Type::kPem);
  EXPECT_EQ(c.auth.jwt.keys[2].value, "-----BEGIN PUBLIC KEY-----");
  EXPECT_EQ(c.auth.jwt.keys[0].kid, "k1");
  EXPECT_EQ(c.auth.jwt.keys[0].type, auth::KeySpec::Type::kSecret);
  EXPECT_EQ(c.auth.jwt.keys[0].algs, std::vector<std::string>{"HS256"});
  EXPECT_EQ(c.auth.jwt.keys[1].type, auth::KeySpec::Type::kPem);
  EXPECT_EQ(c.auth.jwt.keys[1].file, "/etc/herald/key.pem");
  EXPECT_EQ(c.auth.jwt.leeway_s, 5);
  EXPECT_EQ(c.auth.jwt.audience, "app");
  EXPECT_EQ(c.auth.jwt.issuer, "https://issuer");
  EXPECT_FALSE(c.auth.jwt.require_sub);
  EXPECT_EQ(c.auth.jwt.allowed_algs.size(), 2u);
  EXPECT_EQ(c.auth.on_expiry, OnExpiry::kGrace);
  EXPECT_EQ(c.auth.grace_s, 12u);
  EXPECT_TRUE(c.auth.dev_tokens_enabled);
  ASSERT_NE(c.policy, nullptr);
  EXPECT_NE(c.policy->find("/chat", nullptr), nullptr);
  EXPECT_EQ(c.policy->find("/", nullptr), nullptr);
}

TEST(BrokerConfig, SecretShorthand) {
  Status s;
  BrokerConfig c = read(
      "auth: {secret: \"0123456789abcdef0123456789abcdef\"}\n"
      "namespaces: {/: {auth: required}}\n",
      &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(c.auth.jwt.keys.size(), 1u);
  EXPECT_EQ(c.auth.jwt.keys[0].value, "0123456789abcdef0123456789abcdef");
}

TEST(BrokerConfig, Errors) {
  Status s;
  read("auth: {keys: [{kid: a}]}\n", &s);
  EXPECT_FALSE(s.ok());
  read("auth: {keys: [{secret: x, pem: y}]}\n", &s);
  EXPECT_FALSE(s.ok());
  read("auth: {keys: [{secret: x, algs: [none]}]}\n", &s);
  EXPECT_FALSE(s.ok());
  read("auth: {keys: [{type: pem, secret: x}]}\n", &s);
  EXPECT_FALSE(s.ok());
  read("auth: {on_expiry: sometimes}\n", &s);
  EXPECT_FALSE(s.ok());
  read("broker: {grpc_listen: nope}\n", &s);
  EXPECT_FALSE(s.ok());
  read("api: {bearer_tokens: [short]}\n", &s);
  EXPECT_FALSE(s.ok());
  read("namespaces: {/chat: {auth: required}}\n", &s);  // tokens needed but no keys
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("auth"), std::string::npos);
  read("namespaces: {/chat: {bogus: 1}}\n", &s);
  EXPECT_FALSE(s.ok());
  read("broker: {presence_events: [{ns: /chat}]}\n", &s);
  EXPECT_FALSE(s.ok());
  read("broker: {unknown_key: 1}\n", &s);
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace herald::broker
