// Tests for strict base64url and lenient config base64.
#include "broker/auth/base64url.h"

#include <gtest/gtest.h>

namespace herald::auth {
namespace {

TEST(Base64Url, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64Url, RoundTripsAllByteValues) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= bytes.size(); n += 7) {
    auto decoded = base64url_decode(base64url_encode(bytes.substr(0, n)));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, bytes.substr(0, n));
  }
}

TEST(Base64Url, RejectsPaddingBadCharactersAndImpossibleLengths) {
  EXPECT_FALSE(base64url_decode("Zg==").has_value());
  EXPECT_FALSE(base64url_decode("Zg=").has_value());
  EXPECT_FALSE(base64url_decode("Zm9v=").has_value());
  EXPECT_FALSE(base64url_decode("+_8").has_value());  // standard alphabet
  EXPECT_FALSE(base64url_decode("-/8").has_value());
  EXPECT_FALSE(base64url_decode("Zm 9v").has_value());
  EXPECT_FALSE(base64url_decode("Zm9v\n").has_value());
  EXPECT_FALSE(base64url_decode(std::string("Zm\0v", 4)).has_value());
  EXPECT_FALSE(base64url_decode("Z").has_value());      // len % 4 == 1
  EXPECT_FALSE(base64url_decode("Zm9vY").has_value());  // len % 4 == 1
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  EXPECT_TRUE(base64url_decode("Zg").has_value());
  EXPECT_FALSE(base64url_decode("Zh").has_value());  // same byte, non-zero spare bits
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
  EXPECT_FALSE(base64url_decode("Zm9").has_value());
}

TEST(Base64Lenient, AcceptsBothAlphabetsAndPadding) {
  EXPECT_EQ(base64_decode_lenient("+/8="), std::string("\xfb\xff"));
  EXPECT_EQ(base64_decode_lenient("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64_decode_lenient("Zm9vYg=="), std::string("foob"));
  EXPECT_FALSE(base64_decode_lenient("Zm9v!").has_value());
}

}  // namespace
}  // namespace herald::auth
