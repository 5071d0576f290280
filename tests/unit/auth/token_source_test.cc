// Tests for finding the token in the handshake auth object, query string and header.
#include "broker/auth/token_source.h"

#include <gtest/gtest.h>

namespace herald::auth {
namespace {

TEST(TokenSource, PrefersAuthObjectThenQueryThenHeader) {
  nlohmann::json auth = {{"token", "from-auth"}};
  EXPECT_EQ(extract_token(auth, "from-query", "Bearer from-header"), "from-auth");
  EXPECT_EQ(extract_token(nlohmann::json::object(), "from-query", "Bearer from-header"),
            "from-query");
  EXPECT_EQ(extract_token(nlohmann::json(), std::nullopt, "Bearer from-header"), "from-header");
  EXPECT_EQ(extract_token(nlohmann::json(), std::nullopt, std::nullopt), std::nullopt);
}

TEST(TokenSource, EmptyOrNonStringValuesCountAsAbsent) {
  EXPECT_EQ(extract_token({{"token", ""}}, "", "Bearer h"), "h");
  EXPECT_EQ(extract_token({{"token", 42}}, "q", std::nullopt), "q");
  EXPECT_EQ(extract_token({{"token", nullptr}}, std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(extract_token(nlohmann::json::array({"token"}), std::nullopt, std::nullopt),
            std::nullopt);
  EXPECT_EQ(extract_token(nlohmann::json(), std::nullopt, "Bearer   "), std::nullopt);
}

// The text form must agree with parsing the text and reading the object, for every shape: the
// fast path (plain string members) and everything it hands to the parser.
TEST(TokenSource, AuthJsonTextAgreesWithTheParsedObject) {
  const std::vector<std::string> texts = {
      R"({"token":"abc"})",
      R"(  { "a" : "1" , "token" : "abc.def-ghi_" }  )",
      R"({"token":"first","token":"last"})",  // the last of repeated keys
      R"({"token":""})",
      R"({})",
      R"({"other":"x"})",
      R"({"token":"a\"b"})",  // escapes: parsed
      R"({"token":"\u0061bc"})",
      R"({"\u0074oken":"abc"})",      // an escaped key that is "token"
      "{\"token\":\"caf\xc3\xa9\"}",  // non-ASCII: parsed
      "{\"token\":\"bad\xff\"}",      // invalid UTF-8: not JSON
      R"({"token":42})",
      R"({"token":null,"n":{"token":"nested"}})",
      R"({"n":[1,2],"token":"abc"})",
      R"(["token","abc"])",
      R"("abc")",
      R"({"token":"abc")",  // unterminated
      R"({"token":"abc"} x)",
      R"({"token":"abc",})",
      R"({"token" "abc"})",
      "{\"token\":\"a\tb\"}",  // a raw control character is not JSON
      "",
  };
  for (const std::string& text : texts) {
    const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    EXPECT_EQ(token_from_auth_json(text), token_from_auth(parsed)) << text;
  }
  EXPECT_EQ(token_from_auth_json(R"({"token":"first","token":"last"})"), "last");
  EXPECT_EQ(token_from_auth_json(R"({"\u0074oken":"abc"})"), "abc");
  EXPECT_EQ(extract_token_from_auth_json(R"({"token":""})", "q", std::nullopt), "q");
  EXPECT_EQ(extract_token_from_auth_json("", std::nullopt, "Bearer h"), "h");
}

TEST(TokenSource, BearerSchemeIsCaseInsensitive) {
  EXPECT_EQ(token_from_authorization("Bearer abc"), "abc");
  EXPECT_EQ(token_from_authorization("bearer abc"), "abc");
  EXPECT_EQ(token_from_authorization("BEARER   abc  "), "abc");
  EXPECT_EQ(token_from_authorization("  BeArEr\tabc"), "abc");
  EXPECT_EQ(token_from_authorization("Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(token_from_authorization("Bearerabc"), std::nullopt);
  EXPECT_EQ(token_from_authorization("Bearer"), std::nullopt);
  EXPECT_EQ(token_from_authorization(""), std::nullopt);
}

TEST(TokenSource, QueryStringParsing) {
  EXPECT_EQ(token_from_query_string("EIO=4&transport=polling&token=a.b.c"), "a.b.c");
  EXPECT_EQ(token_from_query_string("?token=a%2Eb%2ec"), "a.b.c");
  EXPECT_EQ(token_from_query_string("xtoken=1&token_x=2"), std::nullopt);
  EXPECT_EQ(token_from_query_string("token=&token=x"), std::nullopt);
  EXPECT_EQ(token_from_query_string("token"), std::nullopt);
  EXPECT_EQ(token_from_query_string("token=%zz"), std::nullopt);
  EXPECT_EQ(token_from_query_string("token=%2"), std::nullopt);
  EXPECT_EQ(token_from_query_string(""), std::nullopt);
}

}  // namespace
}  // namespace herald::auth
