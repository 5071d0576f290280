// decode_packet's payload validation (json_scan) against the nlohmann SAX validator it replaced
// (tests/support/sio_payload_oracle.h): the same verdict and message for hand-picked payloads and
// for bounded random mutations of them, for every packet type and several limits.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "edge/socketio/packet.h"
#include "tests/support/sio_payload_oracle.h"

namespace herald::sio {
namespace {

const std::vector<std::string> kSeeds = {
    R"({"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"})",
    R"(["echo",{"seq":12,"t":1732700000123,"s":"h\u00e9llo \"w\""}])",
    R"(["a",{"_placeholder":true,"num":0}])",
    R"(["a",{"_placeholder":true,"num":1},{"x":[{"_placeholder":true,"num":0}]}])",
    R"(["a",{"num":1.0,"_placeholder":true},{"_placeholder":false,"num":-1}])",
    R"(["a",{"_placeholder":true,"num":0,"y":{"_placeholder":true,"num":1}}])",
    R"(["a",{"\u005fplaceholder":true,"n\u0075m":1e0,"num":0}])",
    R"([{"_placeholder":true,"_placeholder":true,"num":"0","num":0}])",
    R"(["a",[[[[1]]]],{"b":{"c":{"d":[]}}}])",
    R"({"message":"nope","data":{"code":1}})",
    R"("just a string")",
    R"([1,2.5,-3e2,0,-0,1E+2,1e-2,true,false,null])",
    R"(["\ud83d\ude00","é€😀","\/\b\f\n\r\t"])",
    "\xEF\xBB\xBF[\"bom\"]",
    "[]",
    "{}",
    "12",
    "[\"a\"," + std::string(400, '9') + "]",
    "[\"a\",1" + std::string(300, '0') + "e-300]",
    " [\"a\" , 1 ] ",
    R"(["a",{"_placeholder":true,"num":18446744073709551615}])",
    R"(["a",{"_placeholder":true,"num":9007199254740992.0}])",
};

// Tokens as well as bytes, so mutations often stay near-valid and reach placeholder checks.
const std::vector<std::string> kPieces = {
    "[",
    "]",
    "{",
    "}",
    "\"",
    ",",
    ":",
    ".",
    "-",
    "e",
    "0",
    "1",
    "9",
    " ",
    "\\",
    "u",
    "true",
    "null",
    "1.0",
    "\xC3\xA9",
    "\x80",
    "\xFF",
    "\xEF\xBB\xBF",
    "\"num\":",
    "\"_placeholder\":",
    "{\"_placeholder\":true,\"num\":0}",
    "\"a\"",
    "[[",
    "]]",
    std::string(1, '\0'),
    "\t",
    "\n",
    "1e400",
    "\\ud83d",
};

std::string mutate(std::string text, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = rng() % (text.size() + 1);
    const std::string& piece = kPieces[rng() % kPieces.size()];
    switch (rng() % 3) {
      case 0:
        text.insert(pos, piece);
        break;
      case 1:
        if (pos < text.size()) text.erase(pos, 1 + rng() % 3);
        break;
      default:
        if (pos < text.size()) text.replace(pos, 1, piece);
    }
  }
  return text;
}

struct Case {
  PacketType type;
  uint32_t attachments;
};

const std::vector<Case> kCases = {
    {PacketType::kConnect, 0},     {PacketType::kDisconnect, 0},   {PacketType::kEvent, 0},
    {PacketType::kAck, 0},         {PacketType::kConnectError, 0}, {PacketType::kBinaryEvent, 0},
    {PacketType::kBinaryEvent, 1}, {PacketType::kBinaryEvent, 2},  {PacketType::kBinaryAck, 2},
};

std::vector<DecodeLimits> limits_to_try() {
  DecodeLimits strict;  // the defaults: depth 64, strict placeholders
  DecodeLimits loose;
  loose.strict_placeholders = false;
  loose.max_json_depth = 3;
  DecodeLimits flat;
  flat.max_json_depth = 1;
  return {strict, loose, flat};
}

int check_all(const std::string& json) {
  int checked = 0;
  for (const DecodeLimits& limits : limits_to_try()) {
    for (const Case& c : kCases) {
      const std::string diff = oracle::disagreement(c.type, c.attachments, json, limits);
      EXPECT_EQ(diff, "") << "depth " << limits.max_json_depth << " strict "
                          << limits.strict_placeholders;
      if (!diff.empty()) return -1;
      ++checked;
    }
  }
  return checked;
}

TEST(PayloadDiffTest, SeedsAgreeWithNlohmannValidator) {
  for (const std::string& seed : kSeeds) ASSERT_GT(check_all(seed), 0) << seed;
  // Depth at the bound, and past it.
  for (int levels : {1, 2, 3, 4, 63, 64, 65}) {
    const std::string arrays =
        "[\"a\"," + std::string(levels, '[') + std::string(levels, ']') + "]";
    ASSERT_GT(check_all(arrays), 0) << arrays;
    std::string objects;
    for (int i = 0; i < levels; ++i) objects += "{\"k\":";
    objects += "1" + std::string(levels, '}');
    ASSERT_GT(check_all(objects), 0) << objects;
  }
}

// Bounded: a fixed seed and count.
TEST(PayloadDiffTest, MutationsAgreeWithNlohmannValidator) {
  std::mt19937 rng(20261127);
  int checked = 0;
  for (const std::string& seed : kSeeds) {
    for (int i = 0; i < 300; ++i) {
      const std::string text = mutate(seed, rng);
      const int n = check_all(text);
      ASSERT_GT(n, 0) << "text: " << text;
      checked += n;
    }
  }
  EXPECT_EQ(checked,
            static_cast<int>(kSeeds.size() * 300 * kCases.size() * limits_to_try().size()));
}

}  // namespace
}  // namespace herald::sio
