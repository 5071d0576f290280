// Session/socket id layout: edge tag, shard, randomness.
#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace herald {
namespace {

TEST(Ids, EncodeEdgeAndShard) {
  const std::string tag = edge_tag_for("edge-a");
  ASSERT_EQ(tag.size(), kEdgeTagLength);
  for (uint32_t shard : {0u, 1u, 17u, 63u}) {
    std::string id = make_id(tag, shard).str();
    ASSERT_EQ(id.size(), kIdLength);
    auto parts = parse_id(id);
    ASSERT_TRUE(parts.has_value()) << id;
    EXPECT_EQ(parts->edge_tag, tag);
    EXPECT_EQ(parts->shard, shard);
  }
}

TEST(Ids, TagIsStableAndSpreads) {
  EXPECT_EQ(edge_tag_for("edge-a"), edge_tag_for("edge-a"));
  EXPECT_NE(edge_tag_for("edge-a"), edge_tag_for("edge-b"));
}

TEST(Ids, AreUniqueAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = make_id("AAAA", 0).str();
    for (char c : id) {
      EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
    }
    EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

TEST(Ids, RejectsMalformed) {
  EXPECT_FALSE(parse_id("").has_value());
  EXPECT_FALSE(parse_id("short").has_value());
  EXPECT_FALSE(parse_id("AAAAA+AAAAAAAAAAAAAA").has_value());
  EXPECT_FALSE(parse_id("AAAAAAAAAAAAAAAAAAAAA").has_value());
}

TEST(InlineId, HoldsAnIdWithoutTheHeap) {
  const InlineId id = make_id("AAAA", 3);
  EXPECT_EQ(id.view().size(), kIdLength);
  EXPECT_EQ(InlineId(id.view()), id);
  EXPECT_EQ(std::hash<InlineId>{}(id), std::hash<std::string_view>{}(id.view()));
  EXPECT_TRUE(InlineId().view().empty());
  EXPECT_EQ(InlineId("short").view(), "short");
  // The point of the type: smaller than a std::string, and no allocation behind it.
  static_assert(sizeof(InlineId) <= kIdLength + 1);
}

}  // namespace
}  // namespace herald
