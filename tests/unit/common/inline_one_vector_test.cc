// InlineOneVector: the first element inline, then a heap buffer that grows like std::vector's.
#include "common/inline_one_vector.h"

#include <gtest/gtest.h>

#include <vector>

namespace herald {
namespace {

TEST(InlineOneVector, OneInlineThenGrowsAndKeepsOrder) {
  static_assert(sizeof(InlineOneVector<void*>) < sizeof(std::vector<void*>));
  InlineOneVector<int> v;
  EXPECT_TRUE(v.empty());
  v.push_back(7);
  EXPECT_EQ(v.size(), 1u);
  EXPECT_EQ(v.back(), 7);
  std::vector<int> model{7};
  for (int i = 0; i < 100; ++i) {
    v.push_back(i);
    model.push_back(i);
  }
  v[3] = -1;
  model[3] = -1;
  EXPECT_EQ(std::vector<int>(v.begin(), v.end()), model);
  while (v.size() > 1) {
    v.pop_back();
    model.pop_back();
  }
  EXPECT_EQ(std::vector<int>(v.begin(), v.end()), model);
  v.pop_back();
  EXPECT_TRUE(v.empty());
  v.push_back(5);
  const std::span<const int> s = v;
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], 5);
}

TEST(InlineOneVector, ErasesInOrderAndGoesBackInlineAtOne) {
  InlineOneVector<int> v;
  for (int i = 0; i < 5; ++i) v.push_back(i);
  const int* heap = v.data();
  v.erase_at(1);
  EXPECT_EQ(std::vector<int>(v.begin(), v.end()), (std::vector<int>{0, 2, 3, 4}));
  EXPECT_EQ(v.data(), heap);  // capacity kept while two or more remain
  v.erase_at(3);
  v.erase_at(0);
  EXPECT_EQ(std::vector<int>(v.begin(), v.end()), (std::vector<int>{2, 3}));
  v.erase_at(0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], 3);
  EXPECT_NE(v.data(), heap);  // the last one is inline again (ASan/LSan see the block freed)
  EXPECT_EQ(static_cast<const void*>(v.data()), static_cast<const void*>(&v));
}

TEST(InlineOneVector, MovesInlineAndHeapContents) {
  InlineOneVector<int> one;
  one.push_back(9);
  InlineOneVector<int> moved_one(std::move(one));
  EXPECT_EQ(std::vector<int>(moved_one.begin(), moved_one.end()), std::vector<int>{9});
  EXPECT_TRUE(one.empty());  // NOLINT(bugprone-use-after-move): a moved-from vector is empty
  InlineOneVector<int> many;
  for (int i = 0; i < 3; ++i) many.push_back(i);
  InlineOneVector<int> moved_many(std::move(many));
  EXPECT_EQ(std::vector<int>(moved_many.begin(), moved_many.end()), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(many.empty());  // NOLINT(bugprone-use-after-move)
  many.push_back(4);          // usable again, inline
  EXPECT_EQ(many.back(), 4);
}

}  // namespace
}  // namespace herald
