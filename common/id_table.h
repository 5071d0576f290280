// IdTable: pointers to objects that carry their own id, found by id. Open addressing with linear
// probing: an entry costs a pointer slot (≈ 11–21 B at this load factor) rather than a hash-map
// node (48 B with malloc's header) — one entry per connection on a shard adds up.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

namespace herald {

// T::id() returns something convertible to std::string_view that does not change while the
// object is in the table. Not thread-safe.
template <typename T>
class IdTable {
 public:
  // False (and nothing stored) when an object with the same id is already there.
  bool insert(T* object) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    std::size_t i = home(key(object));
    for (; slots_[i] != nullptr; i = next(i)) {
      if (key(slots_[i]) == key(object)) return false;
    }
    slots_[i] = object;
    ++size_;
    return true;
  }

  T* find(std::string_view id) const {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(id); slots_[i] != nullptr; i = next(i)) {
      if (key(slots_[i]) == id) return slots_[i];
    }
    return nullptr;
  }

  // Removes `object` if it is the one stored under its id.
  void erase(const T* object) {
    if (size_ == 0) return;
    std::size_t i = home(key(object));
    while (slots_[i] != object) {
      if (slots_[i] == nullptr) return;
      i = next(i);
    }
    // Backward-shift deletion: move later entries of the probe run into the hole when their
    // home slot allows it, so lookups never need tombstones.
    for (std::size_t j = next(i); slots_[j] != nullptr; j = next(j)) {
      const std::size_t h = home(key(slots_[j]));
      const bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = nullptr;
    --size_;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  static std::string_view key(const T* object) { return std::string_view(object->id()); }
  std::size_t home(std::string_view id) const {
    return std::hash<std::string_view>{}(id) & (slots_.size() - 1);
  }
  std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void grow() {
    std::vector<T*> old(slots_.empty() ? 16 : slots_.size() * 2, nullptr);
    old.swap(slots_);
    for (T* object : old) {
      if (object == nullptr) continue;
      std::size_t i = home(key(object));
      while (slots_[i] != nullptr) i = next(i);
      slots_[i] = object;
    }
  }

  std::vector<T*> slots_;  // a power of two in size; nullptr: free
  std::size_t size_ = 0;
};

}  // namespace herald
