// Run-time generation of test keys with OpenSSL EVP.
#include "tests/unit/auth/test_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "broker/auth/base64url.h"

namespace herald::auth::testing {
namespace {

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string bn_param(EVP_PKEY* pkey, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error(name);
  int len = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(len), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  BN_free(bn);
  return base64url_encode(out);
}

TestKey describe(EVP_PKEY* pkey, const std::string& kind) {
  TestKey key;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  key.private_pem = bio_to_string(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  key.public_pem = bio_to_string(bio);
  BIO_free(bio);
  if (kind == "RSA") {
    key.public_jwk = {{"kty", "RSA"},
                      {"n", bn_param(pkey, OSSL_PKEY_PARAM_RSA_N)},
                      {"e", bn_param(pkey, OSSL_PKEY_PARAM_RSA_E)}};
  } else if (kind == "ED25519") {
    unsigned char raw[32];
    size_t len = sizeof(raw);
    EVP_PKEY_get_raw_public_key(pkey, raw, &len);
    key.public_jwk = {{"kty", "OKP"},
                      {"crv", "Ed25519"},
                      {"x", base64url_encode(std::string(reinterpret_cast<char*>(raw), len))}};
  } else {
    int bytes = kind == "P-256" ? 32 : kind == "P-384" ? 48 : 66;
    key.public_jwk = {{"kty", "EC"},
                      {"crv", kind},
                      {"x", bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, bytes)},
                      {"y", bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, bytes)}};
  }
  return key;
}

TestKey generate(const std::string& kind) {
  EVP_PKEY* pkey = nullptr;
  if (kind == "RSA") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  } else if (kind == "ED25519") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind.c_str());
  }
  if (pkey == nullptr) throw std::runtime_error("key generation failed: " + kind);
  TestKey key = describe(pkey, kind);
  EVP_PKEY_free(pkey);
  return key;
}

const TestKey& cached(const std::string& kind, int index) {
  static std::mutex mu;
  static std::map<std::pair<std::string, int>, TestKey> cache;
  std::lock_guard lock(mu);
  auto it = cache.find({kind, index});
  if (it == cache.end()) it = cache.emplace(std::make_pair(kind, index), generate(kind)).first;
  return it->second;
}

}  // namespace

const TestKey& rsa_key(int index) {
  return cached("RSA", index);
}
const TestKey& ec_p256_key(int index) {
  return cached("P-256", index);
}
const TestKey& ec_p384_key(int index) {
  return cached("P-384", index);
}
const TestKey& ec_p521_key(int index) {
  return cached("P-521", index);
}
const TestKey& ed25519_key(int index) {
  return cached("ED25519", index);
}

TestKey make_rsa_key(int bits) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  TestKey key = describe(pkey, "RSA");
  EVP_PKEY_free(pkey);
  return key;
}

std::string ecdsa_der_signature(const std::string& private_pem, const std::string& message) {
  BIO* bio = BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(256, '\0');
  size_t len = sig.size();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return sig;
}

}  // namespace herald::auth::testing
