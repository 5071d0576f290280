// libFuzzer target: JwtVerifier::verify on arbitrary bytes, plus JWKS parsing and token extraction
// (the auth-JSON fast path checked against parsing).
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "broker/auth/base64url.h"
#include "broker/auth/jwks.h"
#include "broker/auth/jwt_verifier.h"
#include "broker/auth/token_source.h"

namespace {

using herald::auth::JwtConfig;
using herald::auth::JwtVerifier;
using herald::auth::KeySpec;

// Seeds in tests/fuzz/corpus/jwt_verify_fuzz/ are HS256 tokens signed with this secret.
constexpr char kFuzzSecret[] = "herald-fuzz-secret-0123456789abcd";

std::string generated_public_pem(const char* type, const char* param) {
  EVP_PKEY* pkey = param == nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, type)
                                    : EVP_PKEY_Q_keygen(nullptr, nullptr, type, param);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return pem;
}

const JwtVerifier& verifier() {
  static const JwtVerifier* v = [] {
    JwtConfig config;
    KeySpec secret;
    secret.value = kFuzzSecret;
    KeySpec ec;
    ec.kid = "ec";
    ec.type = KeySpec::Type::kPem;
    ec.value = generated_public_pem("EC", "P-256");
    KeySpec ed;
    ed.kid = "ed";
    ed.type = KeySpec::Type::kPem;
    ed.value = generated_public_pem("ED25519", nullptr);
    config.keys = {secret, ec, ed};
    config.audience = "herald";
    config.require_sub = true;
    auto created = JwtVerifier::create(config, [] { return int64_t{1'700'000'000'000}; });
    if (!created.ok()) std::abort();
    return std::move(created).value().release();
  }();
  return *v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const JwtVerifier& v = verifier();

  auto result = v.verify(input);
  if (result.ok()) {
    // A token can only verify if it is well-formed and carries a subject.
    if (result->subject.empty() || !result->claims.is_object()) __builtin_trap();
  } else if (result.reason().empty()) {
    __builtin_trap();
  }

  // Strict base64url: whatever decodes must re-encode to the same text (one encoding per value).
  if (auto decoded = herald::auth::base64url_decode(input)) {
    if (herald::auth::base64url_encode(*decoded) != input) __builtin_trap();
  }

  (void)herald::auth::parse_jwks(input);
  // The handshake token read from the auth JSON text (a fast path for plain string members)
  // must be what parsing the text and reading the object gives.
  const nlohmann::json parsed = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (herald::auth::token_from_auth_json(input) != herald::auth::token_from_auth(parsed)) {
    __builtin_trap();
  }
  (void)herald::auth::token_from_query_string(input);
  (void)herald::auth::token_from_authorization(input);
  return 0;
}
