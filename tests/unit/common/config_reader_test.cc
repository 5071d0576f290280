// ConfigReader: typed reads, overrides, and strict unknown-key detection with paths.
#include "common/config/config_reader.h"

#include <gtest/gtest.h>

#include <map>

#include "common/config/common_config.h"

namespace herald::config {
namespace {

std::map<std::string, std::string>* g_env = nullptr;
const char* fake_env(const char* name) {
  auto it = g_env->find(name);
  return it == g_env->end() ? nullptr : it->second.c_str();
}

class ConfigReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { g_env = &env_; }
  void TearDown() override { g_env = nullptr; }

  ConfigReader load(std::string_view yaml) {
    auto r = ConfigReader::from_string(yaml, "test.yaml");
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    ConfigReader reader = std::move(r).value();
    reader.set_env_lookup(&fake_env);
    return reader;
  }
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigReaderTest, ReadsTypedValuesAndKeepsDefaults) {
  auto r = load("edge:\n  listen: 0.0.0.0:4000\n  shards: 3\n  flag: yes\n");
  std::string listen = "x", missing = "default";
  uint32_t shards = 0;
  bool flag = false;
  r.read("edge.listen", &listen);
  r.read("edge.shards", &shards, 0, 64);
  r.read("edge.flag", &flag);
  r.read("edge.missing", &missing);
  EXPECT_EQ(listen, "0.0.0.0:4000");
  EXPECT_EQ(shards, 3u);
  EXPECT_TRUE(flag);
  EXPECT_EQ(missing, "default");
  EXPECT_TRUE(r.finish().ok()) << r.finish().to_string();
}

TEST_F(ConfigReaderTest, UnknownKeysAreRefusedWithTheirPath) {
  auto r = load("edge:\n  listen: a:1\n  lisen: b:2\nbogus: 1\n");
  std::string listen;
  r.read("edge.listen", &listen);
  Status s = r.finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("edge.lisen"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("bogus"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("test.yaml"), std::string::npos) << s.message();
}

TEST_F(ConfigReaderTest, UnknownNestedKeyUnderUsedSection) {
  auto r = load("edge:\n  cors:\n    origins: [a]\n    orgins: [b]\n");
  std::vector<std::string> origins;
  r.read("edge.cors.origins", &origins);
  Status s = r.finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("edge.cors.orgins"), std::string::npos) << s.message();
}

TEST_F(ConfigReaderTest, BadValuesNameThePath) {
  auto r = load("edge:\n  shards: many\n");
  uint32_t shards = 0;
  r.read("edge.shards", &shards, 0, 64);
  Status s = r.finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("edge.shards"), std::string::npos) << s.message();

  auto r2 = load("edge:\n  shards: 1000\n");
  r2.read("edge.shards", &shards, 0, 64);
  EXPECT_NE(r2.finish().message().find("out of range"), std::string::npos);
}

TEST_F(ConfigReaderTest, EnvOverridesFileAndFlagsOverrideEnv) {
  auto r = load("edge:\n  listen: file:1\n  shards: 2\n");
  env_["HERALD_EDGE_LISTEN"] = "env:2";
  env_["HERALD_EDGE_SHARDS"] = "5";
  r.set_override("edge.shards", "7");
  std::string listen;
  uint32_t shards = 0;
  r.read("edge.listen", &listen);
  r.read("edge.shards", &shards, 0, 64);
  EXPECT_EQ(listen, "env:2");
  EXPECT_EQ(shards, 7u);
  EXPECT_TRUE(r.finish().ok());
}

TEST_F(ConfigReaderTest, ListsFromYamlAndFromCommaSeparatedOverride) {
  auto r = load("edge:\n  cors:\n    origins: [\"https://a\", \"https://*.b\"]\n");
  std::vector<std::string> origins;
  r.read("edge.cors.origins", &origins);
  EXPECT_EQ(origins, (std::vector<std::string>{"https://a", "https://*.b"}));
  env_["HERALD_EDGE_CORS_ORIGINS"] = "x, y ,z";
  r.read("edge.cors.origins", &origins);
  EXPECT_EQ(origins, (std::vector<std::string>{"x", "y", "z"}));
}

TEST_F(ConfigReaderTest, OverrideForUnknownKeyIsRefused) {
  auto r = load("");
  r.set_override("edge.nope", "1");
  Status s = r.finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("edge.nope"), std::string::npos);
}

TEST_F(ConfigReaderTest, SubtreeIsHandedOverWhole) {
  auto r = load("namespaces:\n  /chat:\n    auth: required\n");
  YAML::Node ns = r.subtree("namespaces");
  ASSERT_TRUE(ns.IsMap());
  EXPECT_EQ(ns["/chat"]["auth"].as<std::string>(), "required");
  EXPECT_TRUE(r.finish().ok());
}

TEST_F(ConfigReaderTest, EnumRefusesOtherValues) {
  auto r = load("log:\n  level: loud\n");
  CommonConfig c;
  read_common_config(r, &c);
  Status s = r.finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("log.level"), std::string::npos);
}

TEST_F(ConfigReaderTest, SyntaxErrorsAreReported) {
  auto r = ConfigReader::from_string("edge: [unclosed", "bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.yaml"), std::string::npos);
  auto top = ConfigReader::from_string("- a\n- b\n", "list.yaml");
  ASSERT_FALSE(top.ok());
}

TEST_F(ConfigReaderTest, JsonIsAcceptedToo) {
  auto r = load(R"({"edge": {"listen": "127.0.0.1:0"}})");
  std::string listen;
  r.read("edge.listen", &listen);
  EXPECT_EQ(listen, "127.0.0.1:0");
  EXPECT_TRUE(r.finish().ok());
}

TEST(EnvName, MapsPathToUpperSnake) {
  EXPECT_EQ(ConfigReader::env_name("edge.ping_interval_ms"), "HERALD_EDGE_PING_INTERVAL_MS");
  EXPECT_EQ(ConfigReader::env_name("bus.nats-urls"), "HERALD_BUS_NATS_URLS");
}

TEST(SplitHostPort, ParsesForms) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(split_host_port("127.0.0.1:3000", "x", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 3000);
  ASSERT_TRUE(split_host_port("[::1]:0", "x", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(split_host_port("nohost", "x", &host, &port).ok());
  EXPECT_FALSE(split_host_port("h:99999", "x", &host, &port).ok());
}

}  // namespace
}  // namespace herald::config
