// InlineOneVector: a vector of trivially copyable values whose first element lives inline. Most
// sockets are in one room and most rooms and users have one member; a one-element std::vector
// costs a 32 B malloc chunk besides its 24 B object, this costs no allocation and is no bigger.
// Used by the edge's room index and the broker's presence registry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>

namespace herald {

template <typename T>
class InlineOneVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  InlineOneVector() : inline_{} {}
  ~InlineOneVector() { release(); }
  InlineOneVector(const InlineOneVector&) = delete;
  InlineOneVector& operator=(const InlineOneVector&) = delete;
  // Values of node-based maps: moved in when the node is made.
  InlineOneVector(InlineOneVector&& other) noexcept
      : size_(other.size_), capacity_(other.capacity_) {
    if (other.on_heap()) {
      heap_ = other.heap_;
    } else {
      inline_ = other.inline_;
    }
    other.size_ = 0;
    other.capacity_ = 1;
  }
  InlineOneVector& operator=(InlineOneVector&&) = delete;

  T* data() { return on_heap() ? heap_ : &inline_; }
  const T* data() const { return on_heap() ? heap_ : &inline_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  T& back() { return data()[size_ - 1]; }
  const T& back() const { return data()[size_ - 1]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  operator std::span<const T>() const { return {data(), size_}; }  // NOLINT

  void push_back(const T& value) {
    if (size_ == capacity_) grow();
    data()[size_++] = value;
  }
  // Capacity is kept (as std::vector does) while two or more remain; at one the element goes
  // back inline, so a room or user that shrinks to one member keeps no heap block.
  void pop_back() {
    --size_;
    if (size_ == 1 && on_heap()) shrink_to_inline();
  }
  // Removes element i keeping the order of the others.
  void erase_at(std::size_t i) {
    T* d = data();
    std::memmove(static_cast<void*>(d + i), d + i + 1, (size_ - i - 1) * sizeof(T));
    pop_back();
  }

 private:
  bool on_heap() const { return capacity_ > 1; }

  void grow() {
    const uint32_t capacity = capacity_ * 2;
    T* bigger = std::allocator<T>().allocate(capacity);
    std::memcpy(static_cast<void*>(bigger), data(), size_ * sizeof(T));
    release();
    heap_ = bigger;
    capacity_ = capacity;
  }
  void shrink_to_inline() {
    const T only = heap_[0];
    release();
    inline_ = only;
    capacity_ = 1;
  }
  void release() {
    if (on_heap()) std::allocator<T>().deallocate(heap_, capacity_);
  }

  union {
    T inline_;  // capacity_ == 1
    T* heap_;   // capacity_ > 1
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = 1;
};

}  // namespace herald
