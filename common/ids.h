// Session and socket ids: 20 URL-safe characters that say which edge and shard own them, so any
// process can route a request for an id without a lookup (DESIGN.md §6, polling without
// stickiness).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

// Layout: 4 chars edge tag | 1 char shard index | 15 random chars, all base64url ([A-Za-z0-9_-]).
inline constexpr size_t kIdLength = 20;
inline constexpr size_t kEdgeTagLength = 4;
inline constexpr uint32_t kMaxShards = 64;

// A stable 4-character tag derived from an edge id (24 bits of a hash of it).
std::string edge_tag_for(std::string_view edge_id);

// A fresh random id (cryptographic RNG; ids are bearer capabilities for polling requests).
std::string make_id(std::string_view edge_tag, uint32_t shard);

struct IdParts {
  std::string_view edge_tag;
  uint32_t shard;
};
// nullopt when `id` is not of the layout above.
std::optional<IdParts> parse_id(std::string_view id);

}  // namespace herald
