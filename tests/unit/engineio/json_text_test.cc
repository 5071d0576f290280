// Tests of the JSON.stringify-compatible string escaper and the UTF-8 validator.
#include "edge/engineio/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace herald::eio {
namespace {

std::string quote(std::string_view s) {
  std::string out;
  append_json_string(s, out);
  EXPECT_EQ(out.size(), json_string_size(s)) << s;
  return out;
}

TEST(JsonTextTest, EscapesLikeJsonStringify) {
  EXPECT_EQ(quote(""), R"("")");
  EXPECT_EQ(quote("hello"), R"("hello")");
  EXPECT_EQ(quote("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(quote("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(quote(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(quote("€ é 😀 \u2028"), "\"€ é 😀 \u2028\"");
}

TEST(JsonTextTest, ReplacesInvalidUtf8) {
  EXPECT_EQ(quote("a\xff"
                  "b"),
            "\"a\xef\xbf\xbd"
            "b\"");
  EXPECT_EQ(quote("\xc3"), "\"\xef\xbf\xbd\"");                                  // truncated
  EXPECT_EQ(quote("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");                  // overlong
  EXPECT_EQ(quote("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // surrogate
  EXPECT_TRUE(is_valid_utf8(quote("\xf4\x90\x80\x80")));                         // above U+10FFFF
}

TEST(JsonTextTest, OutputParsesBack) {
  std::string all;
  for (int i = 0; i < 128; ++i) all += static_cast<char>(i);
  all += "€😀";
  const std::string quoted = quote(all);
  EXPECT_EQ(nlohmann::json::parse(quoted).get<std::string>(), all);
}

TEST(JsonTextTest, ValidatesUtf8) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8(
      "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"));
  for (const char* bad : {"\x80", "\xc1\xbf", "\xc2", "\xe0\x9f\xbf", "\xed\xa0\x80",
                          "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
                          "\xf5\x80\x80\x80", "\xfe", "\xe2\x82", "\xe2\x28\xa1"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace herald::eio
