// IdTable: agrees with a std::unordered_map under random inserts and erases (probe runs that wrap
// around and backward-shift deletion included).
#include "common/id_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace herald {
namespace {

struct Item {
  std::string key;
  const std::string& id() const { return key; }
};

TEST(IdTable, InsertFindErase) {
  IdTable<Item> table;
  Item a{"a"}, b{"b"}, other_a{"a"};
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_TRUE(table.insert(&a));
  EXPECT_TRUE(table.insert(&b));
  EXPECT_FALSE(table.insert(&other_a));  // same id: refused
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.find("a"), &a);
  table.erase(&other_a);  // not the stored object: nothing happens
  EXPECT_EQ(table.find("a"), &a);
  table.erase(&a);
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_EQ(table.find("b"), &b);
  EXPECT_EQ(table.size(), 1u);
}

TEST(IdTable, MatchesAMapUnderRandomChurn) {
  std::mt19937 rng(7);
  std::vector<std::unique_ptr<Item>> items;
  for (int i = 0; i < 600; ++i) items.push_back(std::make_unique<Item>(Item{std::to_string(i)}));
  IdTable<Item> table;
  std::unordered_map<std::string, Item*> model;
  for (int step = 0; step < 50000; ++step) {
    Item* item = items[rng() % items.size()].get();
    if (rng() % 2 == 0) {
      EXPECT_EQ(table.insert(item), model.emplace(item->key, item).second);
    } else {
      table.erase(item);
      model.erase(item->key);
    }
    ASSERT_EQ(table.size(), model.size());
    if (step % 97 == 0) {
      for (const auto& it : items) {
        auto m = model.find(it->key);
        ASSERT_EQ(table.find(it->key), m == model.end() ? nullptr : m->second) << it->key;
      }
    }
  }
}

// Owning entries: clear() empties the table before the objects go, so a destructor that erases
// itself finds nothing to do.
struct Owned;
using OwnedTable = IdTable<Owned, std::shared_ptr<Owned>>;
struct Owned {
  std::string key;
  OwnedTable* table = nullptr;
  const std::string& id() const { return key; }
  ~Owned() {
    if (table != nullptr) table->erase(this);
  }
};

TEST(IdTable, OwnsSharedPointersAndClears) {
  OwnedTable table;
  std::weak_ptr<Owned> watch;
  for (int i = 0; i < 40; ++i) {
    auto owned = std::make_shared<Owned>(Owned{std::to_string(i), nullptr});
    owned->table = &table;
    if (i == 0) watch = owned;
    ASSERT_TRUE(table.insert(std::move(owned)));
  }
  EXPECT_EQ(table.find("0"), watch.lock().get());
  size_t seen = 0;
  table.for_each([&](const std::shared_ptr<Owned>&) { ++seen; });
  EXPECT_EQ(seen, 40u);
  table.clear();
  EXPECT_TRUE(table.empty());
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace herald
