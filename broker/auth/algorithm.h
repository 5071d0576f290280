// JWS signature algorithms (RFC 7518) that Herald accepts, and their names.
#pragma once

#include <optional>
#include <string_view>

namespace herald::auth {

// `none` is deliberately absent: an unsigned token can never be represented.
enum class Algorithm {
  kHs256,
  kHs384,
  kHs512,
  kRs256,
  kRs384,
  kRs512,
  kPs256,
  kPs384,
  kPs512,
  kEs256,
  kEs384,
  kEs512,
  kEdDsa,
};

enum class AlgorithmFamily { kHmac, kRsaPkcs1, kRsaPss, kEcdsa, kEdDsa };

inline constexpr Algorithm kAllAlgorithms[] = {
    Algorithm::kHs256, Algorithm::kHs384, Algorithm::kHs512, Algorithm::kRs256, Algorithm::kRs384,
    Algorithm::kRs512, Algorithm::kPs256, Algorithm::kPs384, Algorithm::kPs512, Algorithm::kEs256,
    Algorithm::kEs384, Algorithm::kEs512, Algorithm::kEdDsa,
};

// "HS256", "RS256", ..., "EdDSA".
std::string_view algorithm_name(Algorithm alg);

// Exact, case-sensitive match of the JOSE name; "none" and unknown names give nullopt.
std::optional<Algorithm> parse_algorithm(std::string_view name);

AlgorithmFamily algorithm_family(Algorithm alg);

// Digest size in bytes for HS/RS/PS/ES (32, 48, 64); 0 for EdDSA.
int algorithm_hash_bytes(Algorithm alg);

}  // namespace herald::auth
