// Id generation and parsing.
#include "common/ids.h"

#include <openssl/rand.h>

#include <array>

namespace herald {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int index_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Random bytes from a per-thread buffer refilled by OpenSSL's CSPRNG: one RAND_bytes call per
// ~200 ids instead of per id.
void random_chars(char* out, size_t n) {
  thread_local std::array<unsigned char, 3072> pool;
  thread_local size_t pos = pool.size();
  for (size_t i = 0; i < n; ++i) {
    if (pos == pool.size()) {
      if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) std::abort();
      pos = 0;
    }
    out[i] = kAlphabet[pool[pos++] & 63];
  }
}

}  // namespace

std::string edge_tag_for(std::string_view edge_id) {
  // FNV-1a; only needs to spread distinct edge ids, not resist adversaries.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : edge_id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  std::string tag(kEdgeTagLength, 'A');
  for (size_t i = 0; i < kEdgeTagLength; ++i) tag[i] = kAlphabet[(h >> (6 * i)) & 63];
  return tag;
}

InlineId make_id(std::string_view edge_tag, uint32_t shard) {
  std::array<char, kIdLength> id;
  id.fill('A');
  for (size_t i = 0; i < kEdgeTagLength && i < edge_tag.size(); ++i) id[i] = edge_tag[i];
  id[kEdgeTagLength] = kAlphabet[shard % kMaxShards];
  random_chars(id.data() + kEdgeTagLength + 1, kIdLength - kEdgeTagLength - 1);
  return InlineId(std::string_view(id.data(), id.size()));
}

std::optional<IdParts> parse_id(std::string_view id) {
  if (id.size() != kIdLength) return std::nullopt;
  for (char c : id) {
    if (index_of(c) < 0) return std::nullopt;
  }
  return IdParts{id.substr(0, kEdgeTagLength), static_cast<uint32_t>(index_of(id[kEdgeTagLength]))};
}

}  // namespace herald
