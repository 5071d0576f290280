// SmallList<T>: a vector of trivially copyable T in 16 bytes (for pointers) that holds one element
// inline and goes to the heap from two. Most rooms and users have a single socket, and a
// std::vector cost 24 bytes plus a heap block for that one pointer.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace herald::broker {

template <typename T>
class SmallList {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  SmallList() = default;
  SmallList(const SmallList&) = delete;
  SmallList& operator=(const SmallList&) = delete;
  SmallList(SmallList&& other) noexcept
      : storage_(other.storage_), size_(other.size_), capacity_(other.capacity_) {
    other.size_ = 0;
    other.capacity_ = 1;
  }
  ~SmallList() {
    if (capacity_ > 1) delete[] storage_.many;
  }

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& operator[](uint32_t i) { return data()[i]; }
  const T& operator[](uint32_t i) const { return data()[i]; }
  T& back() { return data()[size_ - 1]; }

  void push_back(T value) {
    if (size_ == capacity_) grow();
    data()[size_++] = value;
  }
  void pop_back() {
    --size_;
    if (size_ == 1 && capacity_ > 1) {  // back inline: a room shrinking to one keeps no block
      T last = storage_.many[0];
      delete[] storage_.many;
      storage_.one = last;
      capacity_ = 1;
    }
  }

 private:
  T* data() { return capacity_ > 1 ? storage_.many : &storage_.one; }
  const T* data() const { return capacity_ > 1 ? storage_.many : &storage_.one; }
  void grow() {
    const uint32_t capacity = capacity_ * 2;
    T* many = new T[capacity];
    std::memcpy(many, data(), sizeof(T) * size_);
    if (capacity_ > 1) delete[] storage_.many;
    storage_.many = many;
    capacity_ = capacity;
  }

  union Storage {
    T one;
    T* many;
  } storage_{};
  uint32_t size_ = 0;
  uint32_t capacity_ = 1;  // 1: inline
};

}  // namespace herald::broker
