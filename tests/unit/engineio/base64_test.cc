// Tests of the base64 encoder and strict decoder used by Engine.IO polling payloads.
#include "edge/engineio/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::eio {
namespace {

std::string decode(std::string_view text, bool* ok) {
  std::string out = "keep";
  *ok = base64_decode_append(text, out);
  return out;
}

TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\x01\x02\x03\x04", 4)), "AQIDBA==");
  EXPECT_EQ(base64_encode(std::string("\xfb\xff\xbf", 3)), "+/+/");
}

TEST(Base64Test, EncodeAppends) {
  std::string out = "b";
  base64_append("\x01\x02\x03\x04", out);
  EXPECT_EQ(out, "bAQIDBA==");
}

TEST(Base64Test, EncodedSize) {
  for (std::size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(base64_encode(std::string(n, 'x')).size(), base64_encoded_size(n)) << n;
  }
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  bool ok = false;
  EXPECT_EQ(decode("", &ok), "keep");
  EXPECT_TRUE(ok);
  EXPECT_EQ(decode("Zg==", &ok), "keepf");
  EXPECT_TRUE(ok);
  EXPECT_EQ(decode("Zm8=", &ok), "keepfo");
  EXPECT_TRUE(ok);
  EXPECT_EQ(decode("Zm9vYmFy", &ok), "keepfoobar");
  EXPECT_TRUE(ok);
  EXPECT_EQ(decode("+/+/", &ok), std::string("keep\xfb\xff\xbf", 7));
  EXPECT_TRUE(ok);
}

TEST(Base64Test, RoundTripsAllByteValues) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t len = 0; len <= bytes.size(); len += 7) {
    const std::string part = bytes.substr(bytes.size() - len);
    std::string out;
    ASSERT_TRUE(base64_decode_append(base64_encode(part), out)) << len;
    EXPECT_EQ(out, part);
    EXPECT_LE(out.size(), base64_max_decoded_size(base64_encoded_size(len)));
  }
}

TEST(Base64Test, RejectsMalformedInput) {
  for (const char* bad : {
           "A", "AB", "ABC", "ABCDE",                               // length not a multiple of 4
           "A===", "====", "=AAA", "AA=A", "AAA=AAAA", "Zg==Zg==",  // misplaced padding
           "Zm9v YmFy", "Zm9v\nYmFy", "Zm9-", "Zm9_", "Zm9*",       // outside the alphabet
           "Zh==", "Zm9=",                                          // non-canonical trailing bits
       }) {
    bool ok = true;
    EXPECT_EQ(decode(bad, &ok), "keep") << bad;
    EXPECT_FALSE(ok) << bad;
  }
  bool ok = true;
  EXPECT_EQ(decode(std::string("Zm9\0", 4), &ok), "keep");
  EXPECT_FALSE(ok);
  EXPECT_EQ(decode("Zm9\xc3", &ok), "keep");
  EXPECT_FALSE(ok);
}

TEST(Base64Test, LargeInput) {
  std::string bytes(1 << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + 7);
  const std::string text = base64_encode(bytes);
  EXPECT_EQ(text.size(), base64_encoded_size(bytes.size()));
  std::string out;
  ASSERT_TRUE(base64_decode_append(text, out));
  EXPECT_EQ(out, bytes);
}

}  // namespace
}  // namespace herald::eio
