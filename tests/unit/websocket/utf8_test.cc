// Tests for the incremental UTF-8 validator: Kuhn/Autobahn 6.x vectors and an exhaustive oracle.
#include "edge/websocket/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald::ws {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// Straightforward decoder used as the oracle: decodes code points and checks every rule.
bool reference_valid(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<std::uint8_t>(s[i]);
    int extra = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      extra = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(extra) >= s.size()) return false;  // truncated
    for (int k = 1; k <= extra; ++k) {
      const auto c = static_cast<std::uint8_t>(s[i + static_cast<std::size_t>(k)]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

TEST(Utf8, ValidVectors) {
  const std::vector<std::string> valid = {
      "",
      "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!",  // Autobahn 6.2
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5",                             // "κόσμε"
      bytes({0x00}),
      bytes({0x7F}),
      bytes({0xC2, 0x80}),              // U+0080
      bytes({0xDF, 0xBF}),              // U+07FF
      bytes({0xE0, 0xA0, 0x80}),        // U+0800
      bytes({0xED, 0x9F, 0xBF}),        // U+D7FF
      bytes({0xEE, 0x80, 0x80}),        // U+E000
      bytes({0xEF, 0xBF, 0xBD}),        // U+FFFD
      bytes({0xEF, 0xBF, 0xBE}),        // U+FFFE (noncharacter, still valid)
      bytes({0xEF, 0xBF, 0xBF}),        // U+FFFF
      bytes({0xEF, 0xBB, 0xBF}),        // BOM
      bytes({0xF0, 0x90, 0x80, 0x80}),  // U+10000
      bytes({0xF1, 0x80, 0x80, 0x80}),
      bytes({0xF3, 0xBF, 0xBF, 0xBF}),
      bytes({0xF4, 0x8F, 0xBF, 0xBF}),  // U+10FFFF
      bytes({0xF0, 0x9F, 0x98, 0x80}),  // emoji
  };
  for (const auto& s : valid) {
    EXPECT_TRUE(is_valid_utf8(s)) << testing::PrintToString(s);
    EXPECT_TRUE(reference_valid(s));
  }
}

TEST(Utf8, InvalidVectors) {
  const std::vector<std::string> invalid = {
      bytes({0x80}),  // lone continuation
      bytes({0xBF}),
      bytes({0x80, 0xBF, 0x80}),
      bytes({0xC0, 0x80}),                          // overlong NUL
      bytes({0xC1, 0xBF}),                          // overlong U+007F
      bytes({0xE0, 0x80, 0x80}),                    // overlong
      bytes({0xE0, 0x9F, 0xBF}),                    // overlong U+07FF
      bytes({0xF0, 0x80, 0x80, 0x80}),              // overlong
      bytes({0xF0, 0x8F, 0xBF, 0xBF}),              // overlong U+FFFF
      bytes({0xF4, 0x90, 0x80, 0x80}),              // U+110000
      bytes({0xF7, 0xBF, 0xBF, 0xBF}),              // U+1FFFFF
      bytes({0xF8, 0x88, 0x80, 0x80, 0x80}),        // 5-byte form
      bytes({0xFC, 0x84, 0x80, 0x80, 0x80, 0x80}),  // 6-byte form
      bytes({0xFE}),
      bytes({0xFF}),
      bytes({0xFE, 0xFE, 0xFF, 0xFF}),
      bytes({0xED, 0xA0, 0x80}),                    // U+D800
      bytes({0xED, 0xAD, 0xBF}),                    // U+DB7F
      bytes({0xED, 0xBF, 0xBF}),                    // U+DFFF
      bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}),  // surrogate pair
      bytes({0xC2}),                                // truncated sequences
      bytes({0xE1, 0x80}),
      bytes({0xF1, 0x80, 0x80}),
      bytes({0xC2, 0x41}),  // missing continuation
      bytes({0xE1, 0x80, 0x41}),
      bytes({0xF1, 0x80, 0x80, 0xC0}),
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80\x65\x64\x69\x74\x65\x64",  // 6.4.2
  };
  for (const auto& s : invalid) {
    EXPECT_FALSE(is_valid_utf8(s)) << testing::PrintToString(s);
    EXPECT_FALSE(reference_valid(s));
  }
}

TEST(Utf8, TruncatedSequenceIsIncompleteNotFailed) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed(bytes({0xF0, 0x9F, 0x98})));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.feed(bytes({0x80})));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, FailureIsSticky) {
  Utf8Validator v;
  EXPECT_FALSE(v.feed(bytes({0xC0})));
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.feed("abc"));
  EXPECT_FALSE(v.feed(""));
  EXPECT_FALSE(v.complete());
  v.reset();
  EXPECT_TRUE(v.feed("abc"));
  EXPECT_TRUE(v.complete());
}

// Autobahn 6.4.x: the validator must fail at the first byte that cannot be valid, even when the
// rest of the message has not arrived.
TEST(Utf8, FailsFastAtFirstBadByte) {
  const std::string prefix = "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5";
  Utf8Validator v;
  EXPECT_TRUE(v.feed(prefix));
  EXPECT_TRUE(v.feed(bytes({0xF4})));
  EXPECT_FALSE(v.feed(bytes({0x90})));  // F4 90 is above U+10FFFF

  v.reset();
  EXPECT_TRUE(v.feed(prefix + bytes({0xED})));
  EXPECT_FALSE(v.feed(bytes({0xA0})));  // ED A0 starts a surrogate
}

TEST(Utf8, EverySplitPointGivesTheSameAnswer) {
  const std::vector<std::string> inputs = {
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5 plain ascii text that is long enough",
      bytes({0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF, 0x41, 0xE0, 0xA0, 0x80}),
      bytes({0x41, 0x42, 0xED, 0xA0, 0x80, 0x43}),
      bytes({0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0xC2}),
  };
  for (const auto& s : inputs) {
    const bool whole = is_valid_utf8(s);
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
      for (std::size_t cut2 = cut; cut2 <= s.size(); ++cut2) {
        Utf8Validator v;
        const bool ok =
            v.feed(s.substr(0, cut)) & v.feed(s.substr(cut, cut2 - cut)) & v.feed(s.substr(cut2));
        EXPECT_EQ(ok && v.complete(), whole) << testing::PrintToString(s) << " cut " << cut;
      }
    }
  }
}

TEST(Utf8, AsciiFastPathFindsBadByteAnywhere) {
  for (std::size_t len = 1; len < 48; ++len) {
    for (std::size_t bad = 0; bad < len; ++bad) {
      std::string s(len, 'a');
      s[bad] = static_cast<char>(0xFF);
      EXPECT_FALSE(is_valid_utf8(s)) << len << " " << bad;
      s[bad] = static_cast<char>(0xC2);  // truncated at the end, or followed by ASCII
      EXPECT_FALSE(is_valid_utf8(s)) << len << " " << bad;
    }
    EXPECT_TRUE(is_valid_utf8(std::string(len, 'z')));
  }
}

TEST(Utf8, ExhaustiveUpToThreeBytesMatchesReference) {
  std::string s;
  for (int a = 0; a < 256; ++a) {
    s = bytes({a});
    ASSERT_EQ(is_valid_utf8(s), reference_valid(s)) << a;
    for (int b = 0; b < 256; ++b) {
      s = bytes({a, b});
      ASSERT_EQ(is_valid_utf8(s), reference_valid(s)) << a << " " << b;
    }
  }
  s.assign(3, '\0');
  for (int a = 0xC0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        s[0] = static_cast<char>(a);
        s[1] = static_cast<char>(b);
        s[2] = static_cast<char>(c);
        ASSERT_EQ(is_valid_utf8(s), reference_valid(s)) << a << " " << b << " " << c;
      }
    }
  }
}

TEST(Utf8, FourByteSequencesMatchReference) {
  const int edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  std::string s(4, '\0');
  for (int a = 0xF0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c : edges) {
        for (int d : edges) {
          s[0] = static_cast<char>(a);
          s[1] = static_cast<char>(b);
          s[2] = static_cast<char>(c);
          s[3] = static_cast<char>(d);
          ASSERT_EQ(is_valid_utf8(s), reference_valid(s)) << a << " " << b << " " << c << " " << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace herald::ws
