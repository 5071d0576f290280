// Session and socket ids: 20 URL-safe characters that say which edge and shard own them, so any
// process can route a request for an id without a lookup (DESIGN.md §6, polling without
// stickiness).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
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

// An id of at most kIdLength characters held inline: a 20-character std::string is past
// libstdc++'s 15-character small-string buffer and would cost a heap allocation per session and
// per socket.
class InlineId {
 public:
  InlineId() = default;
  // `id` longer than kIdLength is cut (ids are made by make_id; the bound only guards memory).
  explicit InlineId(std::string_view id)
      : size_(static_cast<uint8_t>(std::min(id.size(), kIdLength))) {
    std::memcpy(chars_.data(), id.data(), size_);
  }

  std::string_view view() const { return {chars_.data(), size_}; }
  std::string str() const { return std::string(view()); }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)

  friend bool operator==(const InlineId& a, const InlineId& b) { return a.view() == b.view(); }

 private:
  std::array<char, kIdLength> chars_{};
  uint8_t size_ = 0;
};

// A fresh random id (cryptographic RNG; ids are bearer capabilities for polling requests).
InlineId make_id(std::string_view edge_tag, uint32_t shard);

struct IdParts {
  std::string_view edge_tag;
  uint32_t shard;
};
// nullopt when `id` is not of the layout above.
std::optional<IdParts> parse_id(std::string_view id);

}  // namespace herald

template <>
struct std::hash<herald::InlineId> {
  size_t operator()(const herald::InlineId& id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};
