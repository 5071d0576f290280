// Names and properties of the JWS algorithms.
#include "broker/auth/algorithm.h"

namespace herald::auth {

std::string_view algorithm_name(Algorithm alg) {
  switch (alg) {
    case Algorithm::kHs256:
      return "HS256";
    case Algorithm::kHs384:
      return "HS384";
    case Algorithm::kHs512:
      return "HS512";
    case Algorithm::kRs256:
      return "RS256";
    case Algorithm::kRs384:
      return "RS384";
    case Algorithm::kRs512:
      return "RS512";
    case Algorithm::kPs256:
      return "PS256";
    case Algorithm::kPs384:
      return "PS384";
    case Algorithm::kPs512:
      return "PS512";
    case Algorithm::kEs256:
      return "ES256";
    case Algorithm::kEs384:
      return "ES384";
    case Algorithm::kEs512:
      return "ES512";
    case Algorithm::kEdDsa:
      return "EdDSA";
  }
  return "?";
}

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  for (Algorithm alg : kAllAlgorithms) {
    if (algorithm_name(alg) == name) return alg;
  }
  return std::nullopt;
}

AlgorithmFamily algorithm_family(Algorithm alg) {
  switch (alg) {
    case Algorithm::kHs256:
    case Algorithm::kHs384:
    case Algorithm::kHs512:
      return AlgorithmFamily::kHmac;
    case Algorithm::kRs256:
    case Algorithm::kRs384:
    case Algorithm::kRs512:
      return AlgorithmFamily::kRsaPkcs1;
    case Algorithm::kPs256:
    case Algorithm::kPs384:
    case Algorithm::kPs512:
      return AlgorithmFamily::kRsaPss;
    case Algorithm::kEs256:
    case Algorithm::kEs384:
    case Algorithm::kEs512:
      return AlgorithmFamily::kEcdsa;
    case Algorithm::kEdDsa:
      return AlgorithmFamily::kEdDsa;
  }
  return AlgorithmFamily::kHmac;
}

int algorithm_hash_bytes(Algorithm alg) {
  switch (alg) {
    case Algorithm::kHs256:
    case Algorithm::kRs256:
    case Algorithm::kPs256:
    case Algorithm::kEs256:
      return 32;
    case Algorithm::kHs384:
    case Algorithm::kRs384:
    case Algorithm::kPs384:
    case Algorithm::kEs384:
      return 48;
    case Algorithm::kHs512:
    case Algorithm::kRs512:
    case Algorithm::kPs512:
    case Algorithm::kEs512:
      return 64;
    case Algorithm::kEdDsa:
      return 0;
  }
  return 0;
}

}  // namespace herald::auth
