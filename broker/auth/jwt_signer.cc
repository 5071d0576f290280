// Token signing.
#include "broker/auth/jwt_signer.h"

#include "broker/auth/base64url.h"

namespace herald::auth {

Result<std::string> sign(const nlohmann::json& claims, Algorithm alg, const Key& key,
                         std::string_view kid) {
  if (!claims.is_object()) return invalid_argument("claims must be a JSON object");
  nlohmann::json header = {{"alg", algorithm_name(alg)}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  std::string input;
  try {
    // dump() throws on invalid UTF-8; that is caller data, so report it rather than throw.
    input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("claims cannot be serialized: ") + e.what());
  }
  auto signature = key.sign(alg, input);
  if (!signature.ok()) return signature.status();
  input += '.';
  input += base64url_encode(*signature);
  return input;
}

Result<std::string> sign(const nlohmann::json& claims, std::string_view alg, const Key& key,
                         std::string_view kid) {
  auto parsed = parse_algorithm(alg);
  if (!parsed) return invalid_argument("unsupported algorithm \"" + std::string(alg) + "\"");
  return sign(claims, *parsed, key, kid);
}

}  // namespace herald::auth
