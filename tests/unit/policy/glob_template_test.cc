// Tests for glob room/namespace patterns and "{...}" templates.
#include <gtest/gtest.h>

#include "broker/policy/glob.h"
#include "broker/policy/template.h"

namespace herald::policy {
namespace {

TEST(policy_glob, ExactAndWildcard) {
  EXPECT_TRUE(glob_match("lobby", "lobby"));
  EXPECT_FALSE(glob_match("lobby", "lobby2"));
  EXPECT_FALSE(glob_match("lobby", "lobb"));
  EXPECT_TRUE(glob_match("team:42:*", "team:42:"));
  EXPECT_TRUE(glob_match("team:42:*", "team:42:general"));
  EXPECT_FALSE(glob_match("team:42:*", "team:43:general"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("a*b*c", "abc"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYcZ"));
  EXPECT_FALSE(glob_match("ab*ba", "aba"));  // head and tail may not overlap
  EXPECT_TRUE(glob_match("*.*", "x.y"));
  EXPECT_TRUE(glob_match("**", "z"));
  EXPECT_FALSE(glob_match("", "z"));
  // '?', '[', regex characters are literal.
  EXPECT_TRUE(glob_match("a?[b]+", "a?[b]+"));
  EXPECT_FALSE(glob_match("a?", "ab"));
}

TEST(policy_glob, CapturesShortestLeftToRight) {
  std::vector<std::string> caps;
  ASSERT_TRUE(glob_capture("/tenant-*", "/tenant-acme", &caps));
  EXPECT_EQ(caps, (std::vector<std::string>{"acme"}));
  ASSERT_TRUE(glob_capture("/t-*-*", "/t-a-b-c", &caps));
  EXPECT_EQ(caps, (std::vector<std::string>{"a", "b-c"}));
  ASSERT_TRUE(glob_capture("/x*", "/x", &caps));
  EXPECT_EQ(caps, (std::vector<std::string>{""}));
  EXPECT_FALSE(glob_capture("/tenant-*", "/other", &caps));
}

Template must_template(std::string_view text, RefSourceMask allowed = kAllRefs,
                       size_t captures = 2) {
  Result<Template> t = Template::parse(text, allowed, captures);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(t).value() : Template{};
}

TEST(policy_template, ParseErrors) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"user:{sub", "unclosed '{'"},
      {"a}b", "unmatched '}'"},
      {"{nope}", "unknown placeholder"},
      {"{sub.x}", "takes no path"},
      {"{claims}", "needs a claim name"},
      {"{claims..x}", "empty path segment"},
      {"{ns.0}", "{ns.N} with N >= 1"},
      {"{ns.3}", "has 2 '*'"},
      {"{ns.x}", "{ns.N}"},
      {"{a{b}", "nested '{'"},
  };
  for (const Case& c : cases) {
    Result<Template> t = Template::parse(c.text, kAllRefs, 2);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.status().message().find(c.error), std::string::npos)
        << c.text << " -> " << t.status().message();
  }
  Result<Template> t = Template::parse("{args.room}", kIdentityRefs, 0);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("not allowed here"), std::string::npos);
}

TEST(policy_template, ExpandsEverySource) {
  nlohmann::json claims = {{"team", 42}, {"org", {{"id", "acme"}}}, {"rooms", {"a", "b"}}};
  nlohmann::json args = nlohmann::json::array({{{"room", "r1"}}, "second", {{"x", {{"y", 7}}}}});
  std::vector<std::string> caps = {"cap1", "cap2"};
  TemplateScope scope{"alice", &claims, &args, "/tenant-cap1", &caps};
  auto one = [&](std::string_view text) {
    Expansion e = must_template(text).expand(scope);
    EXPECT_TRUE(e.ok()) << text;
    return e.values.size() == 1 ? e.values[0]
                                : std::string("<" + std::to_string(e.values.size()) + ">");
  };
  EXPECT_EQ(one("user:{sub}"), "user:alice");
  EXPECT_EQ(one("team:{claims.team}:*"), "team:42:*");
  EXPECT_EQ(one("{claims.org.id}"), "acme");
  EXPECT_EQ(one("{args.room}"), "r1");
  EXPECT_EQ(one("{args.0.room}"), "r1");
  EXPECT_EQ(one("{args.1}"), "second");
  EXPECT_EQ(one("{args.2.x.y}"), "7");
  EXPECT_EQ(one("{ns}"), "/tenant-cap1");
  EXPECT_EQ(one("{ns.2}/{ns.1}"), "cap2/cap1");
  EXPECT_EQ(one("{{literal}}"), "{literal}");
  EXPECT_EQ(one("{claims.rooms.1}"), "b");
}

TEST(policy_template, ArraysExpandToSeveralValues) {
  nlohmann::json claims = {
      {"rooms", {"a", "b"}}, {"teams", {1, 2, 3}}, {"none", nlohmann::json::array()}};
  TemplateScope scope{"u", &claims, nullptr, "/", nullptr};
  Expansion e = must_template("{claims.rooms}").expand(scope);
  EXPECT_EQ(e.values, (std::vector<std::string>{"a", "b"}));
  e = must_template("{claims.rooms}-{claims.teams}").expand(scope);
  EXPECT_EQ(e.values.size(), 6u);
  EXPECT_EQ(e.values.front(), "a-1");
  EXPECT_EQ(e.values.back(), "b-3");
  e = must_template("x{claims.none}").expand(scope);
  EXPECT_TRUE(e.ok());
  EXPECT_TRUE(e.values.empty());
}

TEST(policy_template, FailuresNameTheirPlaceholder) {
  nlohmann::json claims = {
      {"obj", {{"a", 1}}}, {"flag", true}, {"nul", nullptr}, {"big", nlohmann::json::array()}};
  for (int i = 0; i < 300; ++i) claims["big"].push_back(i);
  nlohmann::json args = nlohmann::json::array({{{"room", {1, {{"x", 1}}}}}});
  TemplateScope scope{"", &claims, &args, "", nullptr};
  struct Case {
    const char* text;
    ExpandFailure failure;
  };
  const Case cases[] = {
      {"{sub}", ExpandFailure::kMissing},         {"{claims.missing}", ExpandFailure::kMissing},
      {"{claims.nul}", ExpandFailure::kMissing},  {"{claims.obj}", ExpandFailure::kBadType},
      {"{claims.flag}", ExpandFailure::kBadType}, {"{claims.big}", ExpandFailure::kTooMany},
      {"{args.other}", ExpandFailure::kMissing},  {"{args.3.room}", ExpandFailure::kMissing},
      {"{args.room}", ExpandFailure::kBadType},   {"{ns}", ExpandFailure::kMissing},
      {"{ns.1}", ExpandFailure::kMissing},
  };
  for (const Case& c : cases) {
    Template t = must_template(c.text);
    Expansion e = t.expand(scope);
    EXPECT_EQ(e.failure, c.failure) << c.text;
    ASSERT_NE(e.failed, nullptr) << c.text;
    EXPECT_FALSE(describe_failure(e).empty());
  }
  std::string long_value(2000, 'x');
  nlohmann::json long_claims = {{"v", long_value}};
  TemplateScope long_scope{"", &long_claims, nullptr, "", nullptr};
  EXPECT_EQ(must_template("{claims.v}").expand(long_scope).failure, ExpandFailure::kTooLong);
}

TEST(policy_template, FieldPathForArgs) {
  auto path = [](std::string_view text) {
    Template t = must_template(text);
    nlohmann::json args = nlohmann::json::array();
    TemplateScope scope{"", nullptr, &args, "", nullptr};
    Expansion e = t.expand(scope);
    return e.failed ? e.failed->field_path() : std::string();
  };
  EXPECT_EQ(path("{args.room}"), "room");
  EXPECT_EQ(path("{args.a.b}"), "a.b");
  EXPECT_EQ(path("{args.1.room}"), "args[1].room");
  EXPECT_EQ(path("{args}"), "args[0]");
  EXPECT_EQ(path("{args.2}"), "args[2]");
}

}  // namespace
}  // namespace herald::policy
