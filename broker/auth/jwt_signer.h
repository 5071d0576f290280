// JWS compact serialization of a claims object (tests, the dev-token endpoint, herald-token).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "broker/auth/algorithm.h"
#include "broker/auth/key.h"
#include "common/status.h"

namespace herald::auth {

// Header {"alg","typ":"JWT"[,"kid"]}. `claims` must be an object; `key` must allow `alg` and hold
// a secret or private key. The signature is in JOSE form (raw r||s for ECDSA).
Result<std::string> sign(const nlohmann::json& claims, Algorithm alg, const Key& key,
                         std::string_view kid = {});
Result<std::string> sign(const nlohmann::json& claims, std::string_view alg, const Key& key,
                         std::string_view kid = {});

}  // namespace herald::auth
