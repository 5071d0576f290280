// StringPairs: pairs come back in insertion order, byte for byte, from one buffer.
#include "edge/engineio/string_pairs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edge/engineio/handshake_info.h"

namespace herald::eio {
namespace {

using Pair = std::pair<std::string, std::string>;

std::vector<Pair> all(const StringPairs& pairs) {
  std::vector<Pair> out;
  for (const auto& [name, value] : pairs) out.emplace_back(name, value);
  return out;
}

TEST(StringPairs, EmptyHasNoPairs) {
  StringPairs p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.size(), 0u);
  EXPECT_EQ(p.begin(), p.end());
  EXPECT_FALSE(p.find("x").has_value());
}

TEST(StringPairs, KeepsOrderEmptyValuesAndAnyBytes) {
  StringPairs p;
  const std::string zero("a\0b", 3);
  p.add("EIO", "4");
  p.add("empty", "");
  p.add(zero, std::string(300, 'v'));  // longer than one length byte could say
  p.add("", "no name");
  p.shrink_to_fit();
  EXPECT_EQ(p.size(), 4u);
  EXPECT_EQ(all(p),
            (std::vector<Pair>{
                {"EIO", "4"}, {"empty", ""}, {zero, std::string(300, 'v')}, {"", "no name"}}));
  EXPECT_EQ(p.find("EIO"), "4");
  EXPECT_EQ(p.find("empty"), "");
  EXPECT_EQ(p.find(zero), std::string(300, 'v'));
  EXPECT_FALSE(p.find("eio").has_value());
}

TEST(StringPairs, FindReturnsTheFirstOfDuplicateNames) {
  StringPairs p;
  p.add("k", "1");
  p.add("k", "2");
  EXPECT_EQ(p.find("k"), "1");
  EXPECT_EQ(p.size(), 2u);
}

TEST(StringPairs, CopiesAreIndependent) {
  StringPairs p;
  p.add("a", "1");
  StringPairs q = p;
  q.add("b", "2");
  EXPECT_EQ(all(p), (std::vector<Pair>{{"a", "1"}}));
  EXPECT_EQ(all(q), (std::vector<Pair>{{"a", "1"}, {"b", "2"}}));
}

TEST(HandshakeInfo, KeepsHeadersQueryAndAddressInOneBuffer) {
  StringPairs headers;
  headers.add("user-agent", "test");
  headers.add("origin", "https://example.com");
  StringPairs query;
  query.add("EIO", "4");
  query.add("transport", "websocket");
  query.add("empty", "");
  const HandshakeInfo info(headers.view(), query.view(), "[::1]:45678", true);
  EXPECT_EQ(info.headers().size(), 2u);
  EXPECT_EQ(info.headers().find("origin"), "https://example.com");
  EXPECT_EQ(info.query().size(), 3u);
  std::vector<Pair> q;
  for (const auto& [n, v] : info.query()) q.emplace_back(n, v);
  EXPECT_EQ(q, (std::vector<Pair>{{"EIO", "4"}, {"transport", "websocket"}, {"empty", ""}}));
  EXPECT_FALSE(info.query().find("user-agent").has_value());
  EXPECT_EQ(info.remote_address(), "[::1]:45678");
  EXPECT_TRUE(info.secure());
}

TEST(HandshakeInfo, EmptyHasNothing) {
  const HandshakeInfo info(PairsView(), PairsView(), "", false);
  EXPECT_TRUE(info.headers().empty());
  EXPECT_EQ(info.query().begin(), info.query().end());
  EXPECT_EQ(info.remote_address(), "");
  EXPECT_TRUE(HandshakeInfo().headers().empty());
}

}  // namespace
}  // namespace herald::eio
