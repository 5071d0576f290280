// Key loading (secret, PEM, JWK) and JWS signature primitives over OpenSSL 3 EVP.
#include "broker/auth/key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

#include "broker/auth/base64url.h"

namespace herald::auth {
namespace {

struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
struct DecoderCtxDeleter {
  void operator()(OSSL_DECODER_CTX* ctx) const { OSSL_DECODER_CTX_free(ctx); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// OpenSSL leaves failures on a per-thread queue; drop them so they never leak into later calls.
struct ErrorQueueGuard {
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

const EVP_MD* digest_for(Algorithm alg) {
  switch (algorithm_hash_bytes(alg)) {
    case 32:
      return EVP_sha256();
    case 48:
      return EVP_sha384();
    case 64:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

const char* hmac_digest_name(Algorithm alg) {
  switch (algorithm_hash_bytes(alg)) {
    case 32:
      return "SHA256";
    case 48:
      return "SHA384";
    default:
      return "SHA512";
  }
}

size_t hmac_slot(Algorithm alg) {
  switch (algorithm_hash_bytes(alg)) {
    case 32:
      return 0;
    case 48:
      return 1;
    default:
      return 2;
  }
}

EvpMacCtxPtr make_keyed_hmac(Algorithm alg, std::string_view secret) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return nullptr;
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  EVP_MAC_free(mac);  // the context holds its own reference
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                             OSSL_MAC_PARAM_DIGEST, const_cast<char*>(hmac_digest_name(alg)), 0),
                         OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                           secret.size(), params) != 1) {
    return nullptr;
  }
  return ctx;
}

std::optional<std::string> hmac(const EVP_MAC_CTX* keyed, std::string_view input) {
  if (keyed == nullptr) return std::nullopt;
  EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(keyed));
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (!ctx ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &out_len, sizeof(out)) != 1) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<char*>(out), out_len);
}

// ECDSA: JOSE carries fixed-width big-endian r||s (RFC 7518 §3.4); OpenSSL wants DER.
std::optional<std::string> raw_to_der(std::string_view raw, int coordinate_bytes) {
  if (coordinate_bytes <= 0 || raw.size() != static_cast<size_t>(2 * coordinate_bytes)) {
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BnPtr r(BN_bin2bn(p, coordinate_bytes, nullptr));
  BnPtr s(BN_bin2bn(p + coordinate_bytes, coordinate_bytes, nullptr));
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by sig now
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

std::optional<std::string> der_to_raw(std::string_view der, int coordinate_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(static_cast<size_t>(2 * coordinate_bytes), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, coordinate_bytes) != coordinate_bytes ||
      BN_bn2binpad(s, out + coordinate_bytes, coordinate_bytes) != coordinate_bytes) {
    return std::nullopt;
  }
  return raw;
}

// Sets up a digest-sign/verify context with the padding the algorithm needs.
MdCtxPtr digest_context(Algorithm alg, EVP_PKEY* pkey, bool for_signing) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return nullptr;
  const EVP_MD* md = algorithm_family(alg) == AlgorithmFamily::kEdDsa ? nullptr : digest_for(alg);
  EVP_PKEY_CTX* pctx = nullptr;
  int rc = for_signing ? EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey)
                       : EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, pkey);
  if (rc != 1) return nullptr;
  if (algorithm_family(alg) == AlgorithmFamily::kRsaPss) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash. Not "auto" on verify.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
      return nullptr;
    }
  } else if (algorithm_family(alg) == AlgorithmFamily::kRsaPkcs1) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return nullptr;
  }
  return ctx;
}

std::optional<std::string> ec_group_name(EVP_PKEY* pkey) {
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    return std::nullopt;
  }
  return std::string(name, len);
}

bool pkey_has_private(EVP_PKEY* pkey, KeyType type) {
  BIGNUM* bn = nullptr;
  bool has = false;
  switch (type) {
    case KeyType::kRsa:
      has = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
      break;
    case KeyType::kEc:
      has = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
      break;
    case KeyType::kEd25519: {
      size_t len = 0;
      has = EVP_PKEY_get_raw_private_key(pkey, nullptr, &len) == 1 && len > 0;
      break;
    }
    case KeyType::kSecret:
      break;
  }
  BN_clear_free(bn);
  return has;
}

int refuse_passphrase(char*, size_t, size_t*, const OSSL_PARAM[], void*) {
  return 0;
}

EvpPkeyPtr decode_pem(std::string_view pem) {
  EVP_PKEY* pkey = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter> dctx(
      OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", nullptr, nullptr, 0, nullptr, nullptr));
  if (dctx) {
    OSSL_DECODER_CTX_set_passphrase_cb(dctx.get(), refuse_passphrase, nullptr);
    const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
    size_t len = pem.size();
    if (OSSL_DECODER_from_data(dctx.get(), &data, &len) == 1 && pkey != nullptr) {
      return EvpPkeyPtr(pkey);
    }
  }
  EVP_PKEY_free(pkey);
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  std::unique_ptr<X509, X509Deleter> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return nullptr;
  return EvpPkeyPtr(X509_get_pubkey(cert.get()));
}

EvpPkeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return EvpPkeyPtr(pkey);
}

Result<std::string> jwk_bytes(const nlohmann::json& jwk, const char* member) {
  auto it = jwk.find(member);
  if (it == jwk.end() || !it->is_string()) {
    return invalid_argument(std::string("JWK member \"") + member + "\" missing or not a string");
  }
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) {
    return invalid_argument(std::string("JWK member \"") + member + "\" is not valid base64url");
  }
  return std::move(*bytes);
}

struct CurveInfo {
  std::string_view jwk_name;
  std::string_view openssl_name;
  int coordinate_bytes;
  Algorithm alg;
};
constexpr CurveInfo kCurves[] = {
    {"P-256", "prime256v1", 32, Algorithm::kEs256},
    {"P-384", "secp384r1", 48, Algorithm::kEs384},
    {"P-521", "secp521r1", 66, Algorithm::kEs512},
};

}  // namespace

void EvpMacCtxDeleter::operator()(EVP_MAC_CTX* ctx) const {
  EVP_MAC_CTX_free(ctx);
}

void EvpPkeyDeleter::operator()(EVP_PKEY* pkey) const {
  EVP_PKEY_free(pkey);
}

Key::~Key() {
  OPENSSL_cleanse(secret_.data(), secret_.size());
}

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::kSecret:
      return "secret";
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEc:
      return "EC";
    case KeyType::kEd25519:
      return "Ed25519";
  }
  return "?";
}

bool algorithm_fits_key_type(Algorithm alg, KeyType type) {
  switch (algorithm_family(alg)) {
    case AlgorithmFamily::kHmac:
      return type == KeyType::kSecret;
    case AlgorithmFamily::kRsaPkcs1:
    case AlgorithmFamily::kRsaPss:
      return type == KeyType::kRsa;
    case AlgorithmFamily::kEcdsa:
      return type == KeyType::kEc;
    case AlgorithmFamily::kEdDsa:
      return type == KeyType::kEd25519;
  }
  return false;
}

bool Key::allows(Algorithm alg) const {
  return std::find(algs_.begin(), algs_.end(), alg) != algs_.end();
}

Result<std::shared_ptr<const Key>> Key::from_secret(std::string bytes, std::string kid,
                                                    std::vector<Algorithm> algs) {
  if (bytes.size() < kMinSecretBytes) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return invalid_argument("HMAC secret must be at least 32 bytes (got " +
                            std::to_string(bytes.size()) + ")");
  }
  std::vector<Algorithm> allowed;
  if (algs.empty()) {
    for (Algorithm alg : {Algorithm::kHs256, Algorithm::kHs384, Algorithm::kHs512}) {
      if (bytes.size() >= static_cast<size_t>(algorithm_hash_bytes(alg))) allowed.push_back(alg);
    }
  } else {
    for (Algorithm alg : algs) {
      if (algorithm_family(alg) != AlgorithmFamily::kHmac) {
        return invalid_argument("algorithm " + std::string(algorithm_name(alg)) +
                                " cannot be used with an HMAC secret");
      }
      if (bytes.size() < static_cast<size_t>(algorithm_hash_bytes(alg))) {
        return invalid_argument(std::string(algorithm_name(alg)) + " needs a secret of at least " +
                                std::to_string(algorithm_hash_bytes(alg)) + " bytes");
      }
      allowed.push_back(alg);
    }
  }
  std::shared_ptr<Key> key(new Key());
  key->type_ = KeyType::kSecret;
  key->kid_ = std::move(kid);
  key->algs_ = std::move(allowed);
  key->secret_ = std::move(bytes);
  for (Algorithm alg : key->algs_) {
    EvpMacCtxPtr& keyed = key->keyed_hmac_[hmac_slot(alg)];
    if (!keyed) keyed = make_keyed_hmac(alg, key->secret_);
    if (!keyed)
      return internal_error("OpenSSL cannot set up HMAC for " + std::string(algorithm_name(alg)));
  }
  return std::shared_ptr<const Key>(std::move(key));
}

Result<std::shared_ptr<const Key>> Key::from_pkey(EvpPkeyPtr pkey, bool has_private,
                                                  std::string kid, std::vector<Algorithm> algs) {
  std::shared_ptr<Key> key(new Key());
  std::vector<Algorithm> permitted;
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA: {
      key->type_ = KeyType::kRsa;
      int bits = EVP_PKEY_get_bits(pkey.get());
      if (bits < kMinRsaBits) {
        return invalid_argument("RSA key is " + std::to_string(bits) +
                                " bits; at least 2048 are required");
      }
      permitted = {Algorithm::kRs256, Algorithm::kRs384, Algorithm::kRs512,
                   Algorithm::kPs256, Algorithm::kPs384, Algorithm::kPs512};
      break;
    }
    case EVP_PKEY_EC: {
      key->type_ = KeyType::kEc;
      auto group = ec_group_name(pkey.get());
      const CurveInfo* curve = nullptr;
      for (const auto& c : kCurves) {
        if (group && *group == c.openssl_name) curve = &c;
      }
      if (curve == nullptr) {
        return invalid_argument("unsupported EC curve " + group.value_or("(unknown)") +
                                " (P-256, P-384, P-521 are supported)");
      }
      key->ec_coordinate_bytes_ = curve->coordinate_bytes;
      permitted = {curve->alg};
      break;
    }
    case EVP_PKEY_ED25519:
      key->type_ = KeyType::kEd25519;
      permitted = {Algorithm::kEdDsa};
      break;
    default:
      return invalid_argument("unsupported key type (RSA, EC and Ed25519 are supported)");
  }
  if (algs.empty()) {
    key->algs_ = permitted;
  } else {
    for (Algorithm alg : algs) {
      if (std::find(permitted.begin(), permitted.end(), alg) == permitted.end()) {
        return invalid_argument("algorithm " + std::string(algorithm_name(alg)) +
                                " cannot be used with this " +
                                std::string(key_type_name(key->type_)) + " key");
      }
    }
    key->algs_ = std::move(algs);
  }
  key->kid_ = std::move(kid);
  key->has_private_ = has_private;
  key->pkey_ = std::move(pkey);
  return std::shared_ptr<const Key>(std::move(key));
}

Result<std::shared_ptr<const Key>> Key::from_pem(std::string_view pem, std::string kid,
                                                 std::vector<Algorithm> algs) {
  ErrorQueueGuard guard;
  EvpPkeyPtr pkey = decode_pem(pem);
  if (!pkey) {
    return invalid_argument(
        "not a PEM public key, unencrypted private key or certificate that OpenSSL can read");
  }
  KeyType type = KeyType::kSecret;
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA:
      type = KeyType::kRsa;
      break;
    case EVP_PKEY_EC:
      type = KeyType::kEc;
      break;
    case EVP_PKEY_ED25519:
      type = KeyType::kEd25519;
      break;
    default:
      break;
  }
  bool has_private = type != KeyType::kSecret && pkey_has_private(pkey.get(), type);
  return from_pkey(std::move(pkey), has_private, std::move(kid), std::move(algs));
}

Result<std::shared_ptr<const Key>> Key::from_jwk(const nlohmann::json& jwk) {
  ErrorQueueGuard guard;
  if (!jwk.is_object()) return invalid_argument("JWK is not a JSON object");
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) {
    return invalid_argument("JWK has no \"kty\" string");
  }
  const std::string& kty = kty_it->get_ref<const std::string&>();
  std::string kid;
  if (auto it = jwk.find("kid"); it != jwk.end()) {
    if (!it->is_string()) return invalid_argument("JWK \"kid\" is not a string");
    kid = it->get<std::string>();
  }
  std::vector<Algorithm> algs;
  if (auto it = jwk.find("alg"); it != jwk.end()) {
    auto alg = it->is_string() ? parse_algorithm(it->get_ref<const std::string&>()) : std::nullopt;
    if (!alg) return invalid_argument("JWK \"alg\" is not a supported algorithm");
    algs.push_back(*alg);
  }

  if (kty == "oct") {
    auto k = jwk_bytes(jwk, "k");
    if (!k.ok()) return k.status();
    return from_secret(std::move(k).value(), std::move(kid), std::move(algs));
  }

  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld) return internal_error("OpenSSL allocation failed");
  EvpPkeyPtr pkey;
  if (kty == "RSA") {
    auto n = jwk_bytes(jwk, "n");
    if (!n.ok()) return n.status();
    auto e = jwk_bytes(jwk, "e");
    if (!e.ok()) return e.status();
    BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                         static_cast<int>(n->size()), nullptr));
    BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                         static_cast<int>(e->size()), nullptr));
    if (!bn_n || !bn_e ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
      return internal_error("OpenSSL parameter building failed");
    }
    pkey = pkey_from_params("RSA", bld.get());
    if (!pkey) return invalid_argument("JWK RSA key was rejected by OpenSSL");
  } else if (kty == "EC") {
    auto crv_it = jwk.find("crv");
    const CurveInfo* curve = nullptr;
    for (const auto& c : kCurves) {
      if (crv_it != jwk.end() && crv_it->is_string() &&
          crv_it->get_ref<const std::string&>() == c.jwk_name) {
        curve = &c;
      }
    }
    if (curve == nullptr) return invalid_argument("JWK EC \"crv\" must be P-256, P-384 or P-521");
    auto x = jwk_bytes(jwk, "x");
    if (!x.ok()) return x.status();
    auto y = jwk_bytes(jwk, "y");
    if (!y.ok()) return y.status();
    auto n = static_cast<size_t>(curve->coordinate_bytes);
    if (x->size() != n || y->size() != n) {
      return invalid_argument("JWK EC coordinates must be " + std::to_string(n) + " bytes");
    }
    std::string point = "\x04" + *x + *y;
    std::string group(curve->openssl_name);
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      return internal_error("OpenSSL parameter building failed");
    }
    pkey = pkey_from_params("EC", bld.get());
    if (!pkey) return invalid_argument("JWK EC point is not on the curve");
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
      return invalid_argument("JWK EC public key failed validation");
    }
  } else if (kty == "OKP") {
    auto crv_it = jwk.find("crv");
    if (crv_it == jwk.end() || !crv_it->is_string() ||
        crv_it->get_ref<const std::string&>() != "Ed25519") {
      return invalid_argument("JWK OKP \"crv\" must be Ed25519");
    }
    auto x = jwk_bytes(jwk, "x");
    if (!x.ok()) return x.status();
    if (x->size() != 32) return invalid_argument("JWK Ed25519 \"x\" must be 32 bytes");
    pkey.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
    if (!pkey) return invalid_argument("JWK Ed25519 key was rejected by OpenSSL");
  } else {
    return invalid_argument("unsupported JWK kty \"" + kty + "\"");
  }
  return from_pkey(std::move(pkey), false, std::move(kid), std::move(algs));
}

bool Key::verify(Algorithm alg, std::string_view input, std::string_view signature) const {
  if (!allows(alg)) return false;
  ErrorQueueGuard guard;
  if (type_ == KeyType::kSecret) {
    auto mac = hmac(keyed_hmac_[hmac_slot(alg)].get(), input);
    return mac && mac->size() == signature.size() &&
           CRYPTO_memcmp(mac->data(), signature.data(), mac->size()) == 0;
  }
  // RFC 7518 §3.3/§3.5: an RSA signature is exactly as long as the modulus. OpenSSL also takes a
  // shorter one as the same number, so a valid signature whose first byte is 0 would verify with
  // that byte stripped (a second encoding of one signature).
  if (type_ == KeyType::kRsa &&
      signature.size() != static_cast<size_t>(EVP_PKEY_get_size(pkey_.get()))) {
    return false;
  }
  std::string der;
  if (type_ == KeyType::kEc) {
    auto converted = raw_to_der(signature, ec_coordinate_bytes_);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  MdCtxPtr ctx = digest_context(alg, pkey_.get(), /*for_signing=*/false);
  if (!ctx) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

Result<std::string> Key::sign(Algorithm alg, std::string_view input) const {
  if (!allows(alg)) {
    return invalid_argument("algorithm " + std::string(algorithm_name(alg)) +
                            " is not allowed for this key");
  }
  ErrorQueueGuard guard;
  if (type_ == KeyType::kSecret) {
    auto mac = hmac(keyed_hmac_[hmac_slot(alg)].get(), input);
    if (!mac) return internal_error("HMAC computation failed");
    return std::move(*mac);
  }
  if (!has_private_) return invalid_argument("signing needs a private key");
  MdCtxPtr ctx = digest_context(alg, pkey_.get(), /*for_signing=*/true);
  if (!ctx) return internal_error("cannot initialise the signing context");
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) {
    return internal_error("cannot size the signature");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                     input.size()) != 1) {
    return internal_error("signing failed");
  }
  sig.resize(len);
  if (type_ == KeyType::kEc) {
    auto raw = der_to_raw(sig, ec_coordinate_bytes_);
    if (!raw) return internal_error("cannot convert the ECDSA signature");
    return std::move(*raw);
  }
  return sig;
}

}  // namespace herald::auth
