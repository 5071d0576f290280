// IdTable: pointers to objects that carry their own id, found by id. Open addressing with linear
// probing: an entry costs a pointer slot (≈ 11–21 B for a raw pointer at this load factor)
// rather than a hash-map node (48–64 B with malloc's header) — one entry per connection on a
// shard adds up.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace herald {

// `Ptr` is T* or a smart pointer to T (the table then owns a reference); T::id() returns
// something convertible to std::string_view that does not change while the object is in the
// table. Not thread-safe.
template <typename T, typename Ptr = T*>
class IdTable {
 public:
  // False (and nothing stored) when an object with the same id is already there.
  bool insert(Ptr object) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    std::size_t i = home(key(object));
    for (; slots_[i] != nullptr; i = next(i)) {
      if (key(slots_[i]) == key(object)) return false;
    }
    slots_[i] = std::move(object);
    ++size_;
    return true;
  }

  T* find(std::string_view id) const {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(id); slots_[i] != nullptr; i = next(i)) {
      if (key(slots_[i]) == id) return std::to_address(slots_[i]);
    }
    return nullptr;
  }

  // Removes `object` if it is the one stored under its id.
  void erase(const T* object) {
    if (size_ == 0) return;
    std::size_t i = home(std::string_view(object->id()));
    while (std::to_address(slots_[i]) != object) {
      if (slots_[i] == nullptr) return;
      i = next(i);
    }
    // Dropped last: an owned object's destructor may call into the table again.
    [[maybe_unused]] const Ptr removed = std::move(slots_[i]);
    // Backward-shift deletion: move later entries of the probe run into the hole when their
    // home slot allows it, so lookups never need tombstones.
    for (std::size_t j = next(i); slots_[j] != nullptr; j = next(j)) {
      const std::size_t h = home(key(slots_[j]));
      const bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        slots_[i] = std::move(slots_[j]);
        i = j;
      }
    }
    slots_[i] = nullptr;
    --size_;
  }

  // Empties the table first, then drops the pointers: an owned object's destructor may erase
  // itself again.
  void clear() {
    std::vector<Ptr> old;
    old.swap(slots_);
    size_ = 0;
  }

  // f(const Ptr&) for every entry; the table must not change meanwhile.
  template <typename F>
  void for_each(F&& f) const {
    for (const Ptr& object : slots_) {
      if (object != nullptr) f(object);
    }
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  static std::string_view key(const Ptr& object) { return std::string_view(object->id()); }
  std::size_t home(std::string_view id) const {
    return std::hash<std::string_view>{}(id) & (slots_.size() - 1);
  }
  std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void grow() {
    std::vector<Ptr> old(slots_.empty() ? 16 : slots_.size() * 2);
    old.swap(slots_);
    for (Ptr& object : old) {
      if (object == nullptr) continue;
      std::size_t i = home(key(object));
      while (slots_[i] != nullptr) i = next(i);
      slots_[i] = std::move(object);
    }
  }

  std::vector<Ptr> slots_;  // a power of two in size; null: free
  std::size_t size_ = 0;
};

}  // namespace herald
