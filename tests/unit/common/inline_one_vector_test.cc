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

}  // namespace
}  // namespace herald
