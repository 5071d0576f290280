// JWK Set parsing.
#include "broker/auth/jwks.h"

#include <string>

namespace herald::auth {
namespace {

bool usable_for_signatures(const nlohmann::json& jwk) {
  if (auto it = jwk.find("use"); it != jwk.end() && (!it->is_string() || *it != "sig")) {
    return false;
  }
  if (auto it = jwk.find("key_ops"); it != jwk.end()) {
    if (!it->is_array()) return false;
    bool verify = false;
    for (const auto& op : *it) verify = verify || (op.is_string() && op == "verify");
    return verify;
  }
  return true;
}

bool known_kty(const nlohmann::json& jwk) {
  auto it = jwk.find("kty");
  return it != jwk.end() && it->is_string() &&
         (*it == "RSA" || *it == "EC" || *it == "oct" || *it == "OKP");
}

}  // namespace

Result<std::shared_ptr<const KeySet>> parse_jwks(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return invalid_argument("JWKS is not a JSON object");
  auto keys_it = doc.find("keys");
  if (keys_it == doc.end() || !keys_it->is_array()) {
    return invalid_argument("JWKS has no \"keys\" array");
  }
  auto set = std::make_shared<KeySet>();
  size_t index = 0;
  for (const auto& jwk : *keys_it) {
    if (!jwk.is_object())
      return invalid_argument("JWKS key #" + std::to_string(index) + " is not an object");
    if (known_kty(jwk) && usable_for_signatures(jwk)) {
      auto key = Key::from_jwk(jwk);
      if (!key.ok()) {
        return invalid_argument("JWKS key #" + std::to_string(index) + ": " +
                                key.status().message());
      }
      set->keys.push_back(std::move(key).value());
    }
    ++index;
  }
  return std::shared_ptr<const KeySet>(std::move(set));
}

}  // namespace herald::auth
