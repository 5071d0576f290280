// StringPairs: (name, value) pairs packed into one string — what a session keeps of its
// handshake's query and headers for its whole life, at the cost of one small allocation instead
// of a map node and two strings per pair. PairsView reads such packed pairs wherever they live.
#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace herald::eio {

// Read-only pairs in a packed buffer: each field is a 4-byte length, then its bytes; a pair is
// a name field then a value field.
class PairsView {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = PairsView::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    Iterator() = default;
    value_type operator*() const {
      const std::string_view name = field(pos_);
      return {name, field(pos_ + kLength + name.size())};
    }
    Iterator& operator++() {
      const size_t value_at = pos_ + kLength + field(pos_).size();
      pos_ = value_at + kLength + field(value_at).size();
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator& other) const { return pos_ == other.pos_; }

   private:
    friend class PairsView;
    Iterator(const char* data, size_t pos) : data_(data), pos_(pos) {}
    std::string_view field(size_t at) const {
      uint32_t n = 0;
      std::memcpy(&n, data_ + at, kLength);
      return {data_ + at + kLength, n};
    }
    const char* data_ = nullptr;
    size_t pos_ = 0;
  };

  static constexpr size_t kLength = sizeof(uint32_t);

  PairsView() = default;
  PairsView(const char* data, size_t bytes) : data_(data), bytes_(bytes) {}

  // The value of the first pair called `name`.
  std::optional<std::string_view> find(std::string_view name) const {
    for (const auto& [n, v] : *this) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  // Counted by walking the pairs (not stored: a session keeps its handshake's pairs for life).
  size_t size() const { return static_cast<size_t>(std::distance(begin(), end())); }
  bool empty() const { return bytes_ == 0; }
  // The packed bytes (to copy them elsewhere).
  std::string_view bytes() const { return {data_, bytes_}; }
  Iterator begin() const { return Iterator(data_, 0); }
  Iterator end() const { return Iterator(data_, bytes_); }

 private:
  const char* data_ = nullptr;
  size_t bytes_ = 0;
};

class StringPairs {
 public:
  using value_type = PairsView::value_type;
  using Iterator = PairsView::Iterator;

  void add(std::string_view name, std::string_view value) {
    append(name);
    append(value);
    ++size_;
  }
  std::optional<std::string_view> find(std::string_view name) const { return view().find(name); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Once built: the buffer is kept for the session's life.
  void shrink_to_fit() { buf_.shrink_to_fit(); }

  PairsView view() const { return {buf_.data(), buf_.size()}; }
  Iterator begin() const { return view().begin(); }
  Iterator end() const { return view().end(); }

 private:
  void append(std::string_view s) {
    const auto n = static_cast<uint32_t>(s.size());
    buf_.append(reinterpret_cast<const char*>(&n), PairsView::kLength);
    buf_.append(s);
  }

  std::string buf_;
  uint32_t size_ = 0;
};

}  // namespace herald::eio
