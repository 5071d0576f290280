// Tests for CompactId: ids of any length kept exactly, inline up to 23 characters.
#include "broker/compact_id.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace herald::broker {
namespace {

TEST(CompactId, KeepsEveryLengthExactly) {
  for (std::size_t n : {0u, 1u, 20u, 22u, 23u, 24u, 100u, 4096u}) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += static_cast<char>('a' + i % 26);
    const CompactId id(text);
    EXPECT_EQ(id.view(), text) << n;
    EXPECT_EQ(id.str(), text) << n;
    EXPECT_EQ(id.empty(), n == 0) << n;
  }
}

TEST(CompactId, CopiesMovesAndAssignsInlineAndHeapIds) {
  const std::string shorter(20, 's');
  const std::string longer(40, 'l');
  CompactId a(shorter), b(longer);
  CompactId copy_a(a), copy_b(b);
  EXPECT_EQ(copy_a.view(), shorter);
  EXPECT_EQ(copy_b.view(), longer);
  CompactId moved(std::move(copy_b));
  EXPECT_EQ(moved.view(), longer);
  EXPECT_TRUE(copy_b.empty());  // NOLINT(bugprone-use-after-move): a moved-from id is empty
  a = b;                        // inline ← heap
  EXPECT_EQ(a.view(), longer);
  b = CompactId(shorter);  // heap ← inline (the old block is freed: ASan/LSan would tell)
  EXPECT_EQ(b.view(), shorter);
  const CompactId& same = a;
  a = same;  // self-assignment keeps the id
  EXPECT_EQ(a.view(), longer);
  EXPECT_TRUE(a == std::string_view(longer));
}

}  // namespace
}  // namespace herald::broker
