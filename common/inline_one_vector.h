// InlineOneVector: a vector of trivially copyable values whose first element lives inline. Most
// sockets are in one room and most rooms have one member; a one-element std::vector costs a
// 32 B malloc chunk besides its 24 B object, this costs no allocation and is no bigger.
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
  ~InlineOneVector() {
    if (on_heap()) std::allocator<T>().deallocate(heap_, capacity_);
  }
  InlineOneVector(const InlineOneVector&) = delete;
  InlineOneVector& operator=(const InlineOneVector&) = delete;

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
  // Capacity is kept (as std::vector does); back to inline only when destroyed.
  void pop_back() { --size_; }

 private:
  bool on_heap() const { return capacity_ > 1; }

  void grow() {
    const uint32_t capacity = capacity_ * 2;
    T* bigger = std::allocator<T>().allocate(capacity);
    std::memcpy(static_cast<void*>(bigger), data(), size_ * sizeof(T));
    if (on_heap()) std::allocator<T>().deallocate(heap_, capacity_);
    heap_ = bigger;
    capacity_ = capacity;
  }

  union {
    T inline_;  // capacity_ == 1
    T* heap_;   // capacity_ > 1
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = 1;
};

}  // namespace herald
