// StringHash: transparent string hashing for the broker's string-keyed maps, and IdKeyHash/IdKeyEq
// for sets of objects keyed by their own id. Lookups by
// string_view need no std::string, and a hash other than std::hash<std::string> keeps libstdc++
// from caching it in every node (8 bytes each; the hash is computed again on rehash instead).
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace herald::broker {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// For an unordered_set of objects keyed by their own id (`Id(object)`, a string_view): hash and
// equality that look at the id only and accept a bare id, so the set needs no separate key and
// the rest of an object may change in place.
template <typename T, auto Id>
struct IdKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view id) const noexcept { return StringHash{}(id); }
  size_t operator()(const T& object) const noexcept { return StringHash{}(Id(object)); }
};
template <typename T, auto Id>
struct IdKeyEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept {
    return id_of(a) == id_of(b);
  }
  static std::string_view id_of(std::string_view id) { return id; }
  static std::string_view id_of(const T& object) { return Id(object); }
};

}  // namespace herald::broker
