// CompactId: a socket id held in 24 bytes, its characters inline up to 23 (Herald's ids are 20),
// on the heap beyond. std::string keeps only 15 characters inline, so each 20-character id held
// by the broker cost a heap block on top of the string itself. Unlike the edge's herald::InlineId
// (common/ids.h), which holds ids the edge made itself and cuts at 20 characters, this keeps any
// length exactly: the broker's ids arrive from edges and API callers.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace herald::broker {

class CompactId {
 public:
  CompactId() { bytes_[kTag] = 0; }
  explicit CompactId(std::string_view id) { assign(id); }
  CompactId(const CompactId& other) { assign(other.view()); }
  CompactId(CompactId&& other) noexcept { take(other); }
  CompactId& operator=(const CompactId& other) {
    if (this != &other) {
      release();
      assign(other.view());
    }
    return *this;
  }
  CompactId& operator=(CompactId&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  ~CompactId() { release(); }

  std::string_view view() const {
    if (on_heap()) return {heap_data(), heap_size()};
    return {reinterpret_cast<const char*>(bytes_), bytes_[kTag]};
  }
  operator std::string_view() const { return view(); }  // NOLINT: an id reads as its text
  std::string str() const { return std::string(view()); }
  bool empty() const { return view().empty(); }

  friend bool operator==(const CompactId& a, std::string_view b) { return a.view() == b; }

 private:
  static constexpr size_t kSize = 24;
  static constexpr size_t kTag = kSize - 1;  // the inline length, or kHeap
  static constexpr size_t kInline = kTag;
  static constexpr unsigned char kHeap = 0xff;

  bool on_heap() const { return bytes_[kTag] == kHeap; }
  char* heap_data() const {
    char* p;
    std::memcpy(&p, bytes_, sizeof p);
    return p;
  }
  size_t heap_size() const {
    size_t n;
    std::memcpy(&n, bytes_ + sizeof(char*), sizeof n);
    return n;
  }
  void assign(std::string_view id) {
    if (id.size() <= kInline) {
      std::memcpy(bytes_, id.data(), id.size());
      bytes_[kTag] = static_cast<unsigned char>(id.size());
      return;
    }
    char* p = new char[id.size()];
    std::memcpy(p, id.data(), id.size());
    const size_t n = id.size();
    std::memcpy(bytes_, &p, sizeof p);
    std::memcpy(bytes_ + sizeof p, &n, sizeof n);
    bytes_[kTag] = kHeap;
  }
  void take(CompactId& other) {
    std::memcpy(bytes_, other.bytes_, kSize);
    other.bytes_[kTag] = 0;
  }
  void release() {
    if (on_heap()) delete[] heap_data();
    bytes_[kTag] = 0;
  }

  alignas(8) unsigned char bytes_[kSize];
};

static_assert(sizeof(CompactId) == 24);

}  // namespace herald::broker
