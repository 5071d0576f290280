// Test-only key material, generated with OpenSSL at run time (no key files in the repository).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace herald::auth::testing {

struct TestKey {
  std::string private_pem;
  std::string public_pem;
  nlohmann::json public_jwk;  // without kid
};

// Generated once per process and cached. `index` gives independent keys of the same kind.
const TestKey& rsa_key(int index = 0);  // RSA 2048
const TestKey& ec_p256_key(int index = 0);
const TestKey& ec_p384_key(int index = 0);
const TestKey& ec_p521_key(int index = 0);
const TestKey& ed25519_key(int index = 0);
// A fresh RSA key of `bits` (not cached): for the minimum-size check.
TestKey make_rsa_key(int bits);
// An ECDSA-SHA256 signature in OpenSSL's native DER encoding.
std::string ecdsa_der_signature(const std::string& private_pem, const std::string& message);

}  // namespace herald::auth::testing
