// JSON-lines logging: format, levels, rate limiting.
#include "common/log/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::log {
namespace {

std::vector<std::string>* g_lines = nullptr;
void capture(std::string_view line) {
  g_lines->emplace_back(line);
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_lines = &lines_;
    set_sink(&capture);
    set_level(Level::kInfo);
  }
  void TearDown() override {
    set_sink(nullptr);
    set_level(Level::kInfo);
    g_lines = nullptr;
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectPerLine) {
  HLOG_INFO("edge", "listening", {{"port", 3000}, {"host", "127.0.0.1"}});
  ASSERT_EQ(lines_.size(), 1u);
  ASSERT_EQ(lines_[0].back(), '\n');
  auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["component"], "edge");
  EXPECT_EQ(j["msg"], "listening");
  EXPECT_EQ(j["port"], 3000);
  EXPECT_EQ(j["host"], "127.0.0.1");
  EXPECT_TRUE(j.contains("ts"));
}

TEST_F(LogTest, LevelFilters) {
  HLOG_DEBUG("x", "hidden", {});
  EXPECT_TRUE(lines_.empty());
  set_level(Level::kDebug);
  HLOG_DEBUG("x", "shown", {});
  EXPECT_EQ(lines_.size(), 1u);
  set_level(Level::kOff);
  HLOG_ERROR("x", "hidden", {});
  EXPECT_EQ(lines_.size(), 1u);
}

TEST_F(LogTest, InvalidUtf8FromPeersDoesNotThrow) {
  HLOG_WARN("edge", "bad input", {{"sample", std::string("\xff\xfe", 2)}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_TRUE(nlohmann::json::accept(lines_[0]));
}

TEST_F(LogTest, RateLimitedWritesAtMostNPerSecond) {
  for (int i = 0; i < 100; ++i) {
    write_limited("test-flood", 5, Level::kWarn, "edge", "flood", nlohmann::json{{"i", i}});
  }
  EXPECT_LE(lines_.size(), 10u);  // at most two one-second windows in a slow run
  EXPECT_GE(lines_.size(), 5u);
}

TEST(LogLevel, ParsesNames) {
  EXPECT_EQ(*parse_level("debug"), Level::kDebug);
  EXPECT_EQ(*parse_level("warning"), Level::kWarn);
  EXPECT_FALSE(parse_level("loud").ok());
}

}  // namespace
}  // namespace herald::log
