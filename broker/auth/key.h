// A verification/signing key bound to the JWS algorithms it may be used with.
#pragma once

#include <openssl/types.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "broker/auth/algorithm.h"
#include "common/status.h"

namespace herald::auth {

enum class KeyType { kSecret, kRsa, kEc, kEd25519 };

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* pkey) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
struct EvpMacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const;
};
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxDeleter>;

// Minimum sizes enforced at load time (RFC 7518 §3.2 for HMAC; 2048-bit RSA per §3.3).
inline constexpr size_t kMinSecretBytes = 32;
inline constexpr int kMinRsaBits = 2048;

// Immutable once built, so it is shared freely between threads. The algorithm binding is what
// stops algorithm confusion: an RSA key can never be used as an HMAC secret, and vice versa.
class Key {
 public:
  // `algs` empty = every algorithm the key's type and size permit; otherwise each must fit.
  // HMAC secrets must be at least 32 bytes (HS384 needs 48, HS512 needs 64).
  static Result<std::shared_ptr<const Key>> from_secret(std::string bytes, std::string kid = {},
                                                        std::vector<Algorithm> algs = {});
  // Public or private key (SubjectPublicKeyInfo, PKCS#1, PKCS#8, SEC1) or an X.509 certificate.
  // Encrypted private keys are refused (no passphrase prompt).
  static Result<std::shared_ptr<const Key>> from_pem(std::string_view pem, std::string kid = {},
                                                     std::vector<Algorithm> algs = {});
  // One RFC 7517 JWK: kty RSA (n, e), EC (crv, x, y), oct (k), OKP (crv Ed25519, x). An "alg"
  // member restricts the key to that algorithm.
  static Result<std::shared_ptr<const Key>> from_jwk(const nlohmann::json& jwk);

  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key();

  KeyType type() const { return type_; }
  const std::string& kid() const { return kid_; }  // empty = none
  const std::vector<Algorithm>& algorithms() const { return algs_; }
  bool allows(Algorithm alg) const;
  bool has_private() const { return has_private_; }

  // Checks `signature` (JOSE form: raw r||s for ECDSA) over `input`. MACs compare in constant time.
  bool verify(Algorithm alg, std::string_view input, std::string_view signature) const;
  // JOSE-form signature over `input`; needs a secret or a private key that allows `alg`.
  Result<std::string> sign(Algorithm alg, std::string_view input) const;

 private:
  Key() = default;
  static Result<std::shared_ptr<const Key>> from_pkey(EvpPkeyPtr pkey, bool has_private,
                                                      std::string kid, std::vector<Algorithm> algs);

  KeyType type_ = KeyType::kSecret;
  std::string kid_;
  std::vector<Algorithm> algs_;
  std::string secret_;
  // HMAC already keyed with secret_, one per hash size (SHA-256/384/512) the key allows: a MAC
  // works on a copy, which skips the algorithm lookup and key setup that dominate one short MAC.
  std::array<EvpMacCtxPtr, 3> keyed_hmac_;
  EvpPkeyPtr pkey_;
  bool has_private_ = false;
  int ec_coordinate_bytes_ = 0;  // 32 for P-256, 48 for P-384, 66 for P-521
};

// Which algorithms a key of this type could ever allow (before size checks).
bool algorithm_fits_key_type(Algorithm alg, KeyType type);

std::string_view key_type_name(KeyType type);

}  // namespace herald::auth
