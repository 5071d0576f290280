// scan_json against nlohmann::json: the same texts are valid, placeholders are found as a DOM walk
// finds them, depth is bounded. A bounded mutation loop compares both on many near-valid texts.
#include "common/json/json_scan.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace herald::json {
namespace {

bool nlohmann_accepts(const std::string& text) {
  return !nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false).is_discarded();
}

// The broker's emit validation mode: no value deeper than max_depth, outermost placeholders.
JsonScan scan_json(std::string_view text, uint32_t max_depth) {
  ScanOptions options;
  options.max_depth = max_depth;
  options.depth_rule = DepthRule::kValues;
  options.placeholders = Placeholders::kOutermost;
  return herald::json::scan_json(text, options);
}

bool scan_accepts(const std::string& text) {
  return scan_json(text, 1000).error != JsonScanError::kSyntax;
}

// The DOM walk validate_args used before scan_json (placeholders, no depth bound here).
bool dom_placeholders(const nlohmann::json& value, std::vector<int64_t>* nums) {
  if (value.is_object()) {
    auto flag = value.find("_placeholder");
    if (flag != value.end() && flag->is_boolean() && flag->get<bool>()) {
      auto num = value.find("num");
      if (num == value.end() || !num->is_number_integer()) return false;
      nums->push_back(num->get<int64_t>());
      return true;
    }
    for (const auto& [key, item] : value.items()) {
      if (!dom_placeholders(item, nums)) return false;
    }
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (!dom_placeholders(item, nums)) return false;
    }
  }
  return true;
}

const std::vector<std::string> kValid = {
    "[]",
    " [ ] ",
    "[1,2.5,-3e2,0,-0,1E+2,1e-2,true,false,null]",
    R"(["a","\"\\\/\b\f\n\r\t","\u00e9\u20AC\ud83d\ude00","é€😀"])",
    R"({"a":{"b":[{"c":null}]},"":""})",
    "{}",
    "\"just a string\"",
    "12",
    "[1e-400]",                              // underflow: accepted
    "[" + std::string(400, '9') + "e-100]",  // finite once the exponent is applied
    "[" + std::string(308, '9') + "]",       // an integer still below DBL_MAX
    R"([{"_placeholder":true,"num":0},{"x":[{"_placeholder":true,"num":1}]}])",
};

const std::vector<std::string> kInvalid = {
    "",
    " ",
    "[",
    "]",
    "[1,]",
    "[,1]",
    "{\"a\"}",
    "{\"a\":}",
    "{a:1}",
    "{\"a\":1,}",
    "[01]",
    "[1.]",
    "[.5]",
    "[+1]",
    "[1e]",
    "[-]",
    "[1e400]",                          // overflow: refused
    "[" + std::string(309, '9') + "]",  // an integer overflowing a double: refused
    "-" + std::string(400, '1'),        // also negative
    "[tru]",
    "[nul]",
    "[True]",
    "[\"\\x\"]",
    "[\"\\u12\"]",
    "[\"\\ud83d\"]",         // lone high surrogate
    "[\"\\ude00\"]",         // lone low surrogate
    "[\"\\ud83d\\u0041\"]",  // high surrogate + non-low
    std::string("[\"a\x01\"]"),
    std::string("[\"a\0b\"]", 6),
    "[\"\xC0\x80\"]",          // overlong
    "[\"\xED\xA0\x80\"]",      // UTF-8 surrogate
    "[\"\xF4\x90\x80\x80\"]",  // above U+10FFFF
    "[\"\xE2\x82\"]",          // truncated
    "[\"\x80\"]",              // stray continuation byte
    "[1] [2]",
    "[1] x",
    "[\"unterminated]",
};

TEST(JsonScan, AgreesWithNlohmannOnValidity) {
  for (const std::string& text : kValid) {
    EXPECT_TRUE(nlohmann_accepts(text)) << text;
    EXPECT_TRUE(scan_accepts(text)) << text;
  }
  for (const std::string& text : kInvalid) {
    EXPECT_FALSE(nlohmann_accepts(text)) << text;
    EXPECT_FALSE(scan_accepts(text)) << text;
  }
}

TEST(JsonScan, TopLevelKind) {
  EXPECT_EQ(scan_json(" [1]", 64).top, Kind::kArray);
  EXPECT_EQ(scan_json("{}", 64).top, Kind::kObject);
  EXPECT_EQ(scan_json("\"[\"", 64).top, Kind::kString);
  EXPECT_EQ(scan_json("-1", 64).top, Kind::kNumber);
  EXPECT_EQ(scan_json("true", 64).top, Kind::kBool);
  EXPECT_EQ(scan_json("null", 64).top, Kind::kNull);
  // The broker tells "not an array" apart from deeper errors by it.
  EXPECT_EQ(scan_json("[[[1]]]", 1).top, Kind::kArray);
}

// The edge skips one as nlohmann did; the broker refuses it (JSON.parse would too).
TEST(JsonScan, ByteOrderMark) {
  auto scan = [](std::string_view text) {
    ScanOptions options;
    options.skip_bom = true;
    return herald::json::scan_json(text, options);
  };
  EXPECT_TRUE(nlohmann_accepts("\xEF\xBB\xBF[1]"));
  EXPECT_EQ(scan("\xEF\xBB\xBF[1]").error, JsonScanError::kNone);
  EXPECT_EQ(scan("\xEF\xBB\xBF [2]").top, Kind::kArray);
  EXPECT_EQ(scan_json("\xEF\xBB\xBF[1]", 64).error, JsonScanError::kSyntax);
  for (const std::string text :
       {" \xEF\xBB\xBF[1]", "\xEF\xBB[1]", "\xEF\xBB\xBF", "\xEF\xBB\xBF\xEF\xBB\xBF[1]"}) {
    EXPECT_FALSE(nlohmann_accepts(text)) << text;
    EXPECT_EQ(scan(text).error, JsonScanError::kSyntax) << text;
  }
}

TEST(JsonScan, FirstElementKind) {
  EXPECT_EQ(scan_json("[]", 64).first_element, Kind::kNone);
  EXPECT_EQ(scan_json("[ ]", 64).first_element, Kind::kNone);
  EXPECT_EQ(scan_json("{\"a\":1}", 64).first_element, Kind::kNone);
  EXPECT_EQ(scan_json("[ \"a\",1]", 64).first_element, Kind::kString);
  EXPECT_EQ(scan_json("[1,\"a\"]", 64).first_element, Kind::kNumber);
  EXPECT_EQ(scan_json("[[\"a\"]]", 64).first_element, Kind::kArray);
  EXPECT_EQ(scan_json("[{}]", 64).first_element, Kind::kObject);
  EXPECT_EQ(scan_json("[false]", 64).first_element, Kind::kBool);
  EXPECT_EQ(scan_json("[null]", 64).first_element, Kind::kNull);
}

TEST(JsonScan, PlaceholdersAsADomWalkFindsThem) {
  const std::vector<std::string> texts = {
      R"(["x",{"_placeholder":true,"num":0}])",
      R"([{"_placeholder":true,"num":1},{"a":[{"_placeholder":true,"num":0}]}])",
      R"([{"num":2,"_placeholder":true}])",                       // key order
      R"([{"_placeholder":false,"num":"x"}])",                    // not a placeholder
      R"([{"_placeholder":1,"num":0}])",                          // not boolean: not one
      R"([{"_placeholder":true,"_placeholder":false,"num":0}])",  // the last key wins
      R"([{"_placeholder":false,"_placeholder":true,"num":0}])",  // the last key wins
      R"([{"_placeholder":true,"num":0,"num":"x"}])",             // malformed
      R"([{"_placeholder":true,"num":1.0}])",                     // a float is malformed
      R"([{"_placeholder":true}])",                               // malformed
      R"([{"_placeholder":true,"num":-1}])",                      // integral: found
      R"([{"\u005fplaceholder":true,"n\u0075m":3}])",             // escaped keys
      R"([{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":5}}])",  // inner not counted
  };
  for (const std::string& text : texts) {
    std::vector<int64_t> expected;
    const bool dom_ok = dom_placeholders(nlohmann::json::parse(text), &expected);
    JsonScan scan = scan_json(text, 64);
    EXPECT_EQ(scan.error == JsonScanError::kNone, dom_ok) << text;
    if (dom_ok) {
      EXPECT_EQ(scan.placeholders, expected) << text;
    }
  }
}

TEST(JsonScan, DepthIsBounded) {
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_EQ(scan_json(nested(65), 64).error, JsonScanError::kNone);  // depths 0..64
  EXPECT_EQ(scan_json(nested(66), 64).error, JsonScanError::kDepth);
  EXPECT_EQ(scan_json("[" + nested(64) + ",1]", 64).error, JsonScanError::kNone);
  EXPECT_EQ(scan_json(std::string(64, '[') + "[1]" + std::string(64, ']'), 64).error,
            JsonScanError::kDepth);  // the scalar is at depth 65
  // Deep input far past the bound stops early instead of recursing.
  EXPECT_EQ(scan_json(std::string(100000, '['), 64).error, JsonScanError::kDepth);
}

// The edge's rule: at most max_depth arrays/objects open at once, scalars do not count.
TEST(JsonScan, ContainerDepthIsBounded) {
  auto scan = [](std::string_view text, uint32_t max_depth) {
    ScanOptions options;
    options.max_depth = max_depth;
    options.depth_rule = DepthRule::kContainers;
    return herald::json::scan_json(text, options).error;
  };
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_EQ(scan(nested(64), 64), JsonScanError::kNone);
  EXPECT_EQ(scan(nested(65), 64), JsonScanError::kDepth);
  EXPECT_EQ(scan(std::string(63, '[') + "[1]" + std::string(63, ']'), 64), JsonScanError::kNone);
  EXPECT_EQ(scan("[[1]]", 2), JsonScanError::kNone);
  EXPECT_EQ(scan("[[[1]]]", 2), JsonScanError::kDepth);
  EXPECT_EQ(scan(R"({"a":{}})", 2), JsonScanError::kNone);
  EXPECT_EQ(scan(R"({"a":{"b":{}}})", 2), JsonScanError::kDepth);
  EXPECT_EQ(scan("1", 0), JsonScanError::kNone);
  EXPECT_EQ(scan("[]", 0), JsonScanError::kDepth);
  // The first error in the text wins.
  EXPECT_EQ(scan("[x,[[[]]]]", 2), JsonScanError::kSyntax);
  EXPECT_EQ(scan("[[[x", 2), JsonScanError::kDepth);
}

// The edge's placeholders: every placeholder object, "num" a JavaScript integer below
// `attachments`, the first bad one ends the scan.
TEST(JsonScan, EveryPlaceholderIsAnAttachmentIndex) {
  auto scan = [](std::string_view text, uint32_t attachments) {
    ScanOptions options;
    options.depth_rule = DepthRule::kContainers;
    options.placeholders = Placeholders::kEvery;
    options.attachments = attachments;
    return herald::json::scan_json(text, options);
  };
  using Nums = std::vector<int64_t>;
  EXPECT_EQ(
      scan(R"(["a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}])", 2).placeholders,
      (Nums{1, 0}));
  // Nested placeholders count too, in the order the objects end.
  EXPECT_EQ(
      scan(R"([{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":1}}])", 2).placeholders,
      (Nums{1, 0}));
  // Integral numbers as JavaScript sees them.
  for (const char* num : {"1", "1.0", "1e0", "0.1e1", "1.000", "10e-1"}) {
    const std::string text = std::string(R"([{"_placeholder":true,"num":)") + num + "}]";
    EXPECT_EQ(scan(text, 2).placeholders, (Nums{1})) << text;
  }
  for (const char* num : {"-0", "-0.0", "0e5", "1e-400"}) {
    const std::string text = std::string(R"([{"_placeholder":true,"num":)") + num + "}]";
    EXPECT_EQ(scan(text, 1).placeholders, (Nums{0})) << text;
  }
  for (const char* num : {"2", "-1", "0.5", "1e300", "9007199254740993", "18446744073709551616",
                          "\"0\"", "null", "true", "[0]", "{}"}) {
    const std::string text = std::string(R"([{"_placeholder":true,"num":)") + num + "}]";
    EXPECT_EQ(scan(text, 2).error, JsonScanError::kPlaceholder) << text;
  }
  EXPECT_EQ(scan(R"([{"_placeholder":true}])", 2).error, JsonScanError::kPlaceholder);
  EXPECT_EQ(scan(R"([{"_placeholder":true,"num":0,"num":"x"}])", 2).error,
            JsonScanError::kPlaceholder);  // the last key wins
  EXPECT_EQ(scan(R"([{"_placeholder":true,"num":"x","num":0}])", 2).placeholders, (Nums{0}));
  EXPECT_EQ(scan(R"([{"_placeholder":true,"_placeholder":false,"num":9}])", 2).error,
            JsonScanError::kNone);
  EXPECT_EQ(scan(R"([{"_placeholder":true,"num":3}])", 2).error, JsonScanError::kPlaceholder);
  // Reported where it happens: before a later syntax error.
  EXPECT_EQ(scan(R"([{"_placeholder":true,"num":5}, x)", 2).error, JsonScanError::kPlaceholder);
}

// Single-byte mutations of valid texts (bounded: a fixed seed and count): both parsers agree.
TEST(JsonScan, MutationsAgreeWithNlohmann) {
  std::mt19937 rng(12345);
  const std::string alphabet = "[]{}\",:.-+eE0123456789tfnul \\/bu\xC3\xA9\x80\xFF";
  int checked = 0;
  for (const std::string& base : kValid) {
    for (int i = 0; i < 400; ++i) {
      std::string text = base;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        const size_t pos = rng() % (text.size() + 1);
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0:
            text.insert(text.begin() + static_cast<ptrdiff_t>(pos), c);
            break;
          case 1:
            if (pos < text.size()) text.erase(pos, 1);
            break;
          default:
            if (pos < text.size()) text[pos] = c;
        }
      }
      ASSERT_EQ(scan_accepts(text), nlohmann_accepts(text)) << "text: " << text;
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(kValid.size()) * 400);
}

}  // namespace
}  // namespace herald::json
