// Subject token encoding is reversible and subject-safe for arbitrary names.
#include "common/bus/subjects.h"

#include <gtest/gtest.h>

#include <random>

namespace herald::bus {
namespace {

bool subject_safe(const std::string& token) {
  if (token.empty()) return false;
  for (unsigned char c : token) {
    if (c <= ' ' || c >= 0x7f || c == '.' || c == '*' || c == '>') return false;
  }
  return true;
}

TEST(SubjectToken, RoundTripsAwkwardNames) {
  const std::vector<std::string> names = {
      "",          "lobby", "user:42", "a.b", "*",           ">",      "a b",
      "team:42:*", "/chat", "~",       "~41", "héllo wörld", "日本語", std::string("\0x", 2),
      "%20",       "..",    "a>b.c*d"};
  for (const auto& name : names) {
    std::string token = encode_token(name);
    EXPECT_TRUE(subject_safe(token)) << "'" << name << "' -> '" << token << "'";
    auto back = decode_token(token);
    ASSERT_TRUE(back.has_value()) << token;
    EXPECT_EQ(*back, name);
  }
}

TEST(SubjectToken, KeepsCommonNamesReadable) {
  EXPECT_EQ(encode_token("user:42"), "user:42");
  EXPECT_EQ(encode_token("/chat"), "~2Fchat");
  EXPECT_EQ(encode_token(""), "~");
}

TEST(SubjectToken, IsInjectiveOnRandomBytes) {
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string name(rng() % 12, '\0');
    for (auto& c : name) c = static_cast<char>(rng() % 256);
    auto token = encode_token(name);
    ASSERT_TRUE(subject_safe(token));
    ASSERT_EQ(decode_token(token), name);
  }
}

TEST(SubjectToken, RefusesNonCanonicalTokens) {
  EXPECT_FALSE(decode_token("").has_value());
  EXPECT_FALSE(decode_token("~4").has_value());   // truncated escape
  EXPECT_FALSE(decode_token("~2f").has_value());  // lower-case hex is never produced
  EXPECT_FALSE(decode_token("~41").has_value());  // 'A' is written plain
  EXPECT_FALSE(decode_token("a.b").has_value());
}

TEST(Subjects, FollowTheDesignLayout) {
  Subjects s("herald");
  EXPECT_EQ(s.room("/", "user:1"), "herald.room.~2F.user:1");
  EXPECT_EQ(s.ns("/chat"), "herald.ns.~2Fchat");
  EXPECT_EQ(s.edge("edge-1"), "herald.edge.edge-1");
  EXPECT_EQ(s.presence("e"), "herald.presence.e");
  EXPECT_EQ(s.presence_all(), "herald.presence.*");
  EXPECT_EQ(s.handle("/", "markRead"), "herald.handle.~2F.markRead");
}

}  // namespace
}  // namespace herald::bus
