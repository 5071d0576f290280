// StringHash: transparent string hashing for the broker's string-keyed maps. Lookups by
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

}  // namespace herald::broker
