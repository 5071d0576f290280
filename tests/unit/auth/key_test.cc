// Tests for key loading (secret, PEM, JWK), algorithm binding and raw sign/verify, with RFC
// vectors.
#include "broker/auth/key.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "broker/auth/base64url.h"
#include "broker/auth/jwks.h"
#include "broker/auth/jwt_signer.h"
#include "tests/unit/auth/test_keys.h"

namespace herald::auth {
namespace {

using testing::ec_p256_key;
using testing::ec_p384_key;
using testing::ec_p521_key;
using testing::ed25519_key;
using testing::rsa_key;

const std::string kSecret32(32, 's');

TEST(Key, SecretMustBeLongEnoughForItsAlgorithms) {
  EXPECT_FALSE(Key::from_secret("short").ok());
  EXPECT_FALSE(Key::from_secret(std::string(31, 'x')).ok());
  auto k32 = Key::from_secret(kSecret32);
  ASSERT_TRUE(k32.ok());
  EXPECT_EQ((*k32)->algorithms(), std::vector<Algorithm>{Algorithm::kHs256});
  auto k64 = Key::from_secret(std::string(64, 'x'));
  ASSERT_TRUE(k64.ok());
  EXPECT_EQ((*k64)->algorithms().size(), 3u);
  EXPECT_FALSE(Key::from_secret(kSecret32, "", {Algorithm::kHs512}).ok());
  EXPECT_FALSE(Key::from_secret(kSecret32, "", {Algorithm::kRs256}).ok());
}

// One key's HMAC is keyed once and copied per MAC: MACs from many threads at once (the verifier
// is shared) must each be right, and a wrong one must still fail. (Races: ./scripts/sanitize tsan.)
TEST(Key, HmacFromManyThreadsAtOnce) {
  auto key = Key::from_secret(std::string(64, 'k'));
  ASSERT_TRUE(key.ok());
  const Key& k = **key;
  struct Case {
    Algorithm alg;
    std::string input, mac;
  };
  std::vector<Case> cases;
  for (Algorithm alg : {Algorithm::kHs256, Algorithm::kHs384, Algorithm::kHs512}) {
    for (int i = 0; i < 4; ++i) {
      const std::string input = "header.payload-" + std::to_string(i);
      auto mac = k.sign(alg, input);
      ASSERT_TRUE(mac.ok());
      cases.push_back({alg, input, *mac});
    }
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const Case& c = cases[static_cast<std::size_t>(i + t) % cases.size()];
        if (!k.verify(c.alg, c.input, c.mac)) wrong++;
        if (k.verify(c.alg, c.input + "x", c.mac)) wrong++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Key, PemKeysBindToTheirFamily) {
  auto rsa = Key::from_pem(rsa_key().public_pem);
  ASSERT_TRUE(rsa.ok()) << rsa.status().to_string();
  EXPECT_EQ((*rsa)->type(), KeyType::kRsa);
  EXPECT_FALSE((*rsa)->has_private());
  EXPECT_TRUE((*rsa)->allows(Algorithm::kRs256));
  EXPECT_TRUE((*rsa)->allows(Algorithm::kPs512));
  EXPECT_FALSE((*rsa)->allows(Algorithm::kHs256));
  EXPECT_FALSE((*rsa)->allows(Algorithm::kEs256));

  auto p256 = Key::from_pem(ec_p256_key().private_pem);
  ASSERT_TRUE(p256.ok());
  EXPECT_TRUE((*p256)->has_private());
  EXPECT_EQ((*p256)->algorithms(), std::vector<Algorithm>{Algorithm::kEs256});
  auto p384 = Key::from_pem(ec_p384_key().public_pem);
  ASSERT_TRUE(p384.ok());
  EXPECT_EQ((*p384)->algorithms(), std::vector<Algorithm>{Algorithm::kEs384});
  EXPECT_FALSE(Key::from_pem(ec_p256_key().public_pem, "", {Algorithm::kEs384}).ok());
  EXPECT_FALSE(Key::from_pem(rsa_key().public_pem, "", {Algorithm::kHs256}).ok());
}

TEST(Key, RejectsBadPemAndSmallRsa) {
  EXPECT_FALSE(Key::from_pem("").ok());
  EXPECT_FALSE(Key::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  auto small = Key::from_pem(testing::make_rsa_key(1024).public_pem);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("2048"), std::string::npos);
}

TEST(Key, SignAndVerifyEveryAlgorithm) {
  struct Case {
    Algorithm alg;
    std::string pem;
  };
  std::vector<Case> cases = {
      {Algorithm::kRs256, rsa_key().private_pem},
      {Algorithm::kRs384, rsa_key().private_pem},
      {Algorithm::kRs512, rsa_key().private_pem},
      {Algorithm::kPs256, rsa_key().private_pem},
      {Algorithm::kPs384, rsa_key().private_pem},
      {Algorithm::kPs512, rsa_key().private_pem},
      {Algorithm::kEs256, ec_p256_key().private_pem},
      {Algorithm::kEs384, ec_p384_key().private_pem},
      {Algorithm::kEs512, ec_p521_key().private_pem},
      {Algorithm::kEdDsa, ed25519_key().private_pem},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(algorithm_name(c.alg)));
    auto key = Key::from_pem(c.pem);
    ASSERT_TRUE(key.ok()) << key.status().to_string();
    auto sig = (*key)->sign(c.alg, "hello");
    ASSERT_TRUE(sig.ok()) << sig.status().to_string();
    EXPECT_TRUE((*key)->verify(c.alg, "hello", *sig));
    EXPECT_FALSE((*key)->verify(c.alg, "hellO", *sig));
    std::string flipped = *sig;
    flipped[flipped.size() / 2] ^= 1;
    EXPECT_FALSE((*key)->verify(c.alg, "hello", flipped));
    EXPECT_FALSE((*key)->verify(c.alg, "hello", sig->substr(1)));
    EXPECT_FALSE((*key)->verify(c.alg, "hello", ""));
  }
}

// RSA signatures are big-endian numbers: OpenSSL's PSS verification (unlike its PKCS#1 v1.5 one)
// accepts one without its leading zero byte. PS256 salts every signature, so signing is repeated
// until one starts with 0 (about 1 in 256; bounded). Key.SignAndVerifyEveryAlgorithm failed this
// way about once in 256 runs.
TEST(Key, PssSignatureWithoutItsLeadingZeroByteIsRefused) {
  auto key = Key::from_pem(rsa_key().private_pem);
  ASSERT_TRUE(key.ok());
  std::string sig;
  for (int i = 0; i < 20000 && sig.empty(); ++i) {
    auto s = (*key)->sign(Algorithm::kPs256, "hello");
    ASSERT_TRUE(s.ok());
    if ((*s)[0] == '\0') sig = std::move(*s);
  }
  ASSERT_FALSE(sig.empty()) << "no PS256 signature starting with a zero byte in 20000 tries";
  EXPECT_TRUE((*key)->verify(Algorithm::kPs256, "hello", sig));
  EXPECT_FALSE((*key)->verify(Algorithm::kPs256, "hello", sig.substr(1)));
}

TEST(Key, EcdsaSignatureIsRawNotDer) {
  auto key = Key::from_pem(ec_p256_key().private_pem);
  ASSERT_TRUE(key.ok());
  auto sig = (*key)->sign(Algorithm::kEs256, "msg");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  // The same signature in OpenSSL's DER form must not verify: JOSE is raw r||s only.
  std::string der = testing::ecdsa_der_signature(ec_p256_key().private_pem, "msg");
  ASSERT_GE(der.size(), 8u);
  EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);
  EXPECT_FALSE((*key)->verify(Algorithm::kEs256, "msg", der));
  auto p384 = Key::from_pem(ec_p384_key().private_pem);
  ASSERT_TRUE(p384.ok());
  auto sig384 = (*p384)->sign(Algorithm::kEs384, "msg");
  ASSERT_TRUE(sig384.ok());
  EXPECT_EQ(sig384->size(), 96u);
}

TEST(Key, PublicKeysCannotSign) {
  auto key = Key::from_pem(rsa_key().public_pem);
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE((*key)->sign(Algorithm::kRs256, "x").ok());
  EXPECT_FALSE((*key)->sign(Algorithm::kHs256, "x").ok());
}

TEST(Key, JwkMatchesPem) {
  for (const auto* k : {&rsa_key(), &ec_p256_key(), &ec_p384_key(), &ed25519_key()}) {
    auto priv = Key::from_pem(k->private_pem);
    auto pub = Key::from_jwk(k->public_jwk);
    ASSERT_TRUE(priv.ok());
    ASSERT_TRUE(pub.ok()) << pub.status().to_string() << " " << k->public_jwk.dump();
    Algorithm alg = (*priv)->algorithms().front();
    auto sig = (*priv)->sign(alg, "data");
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE((*pub)->verify(alg, "data", *sig));
  }
}

TEST(Key, JwkValidation) {
  nlohmann::json ec = ec_p256_key().public_jwk;
  EXPECT_TRUE(Key::from_jwk(ec).ok());
  auto off_curve = ec;
  std::string y = *base64url_decode(ec["y"].get<std::string>());
  y.back() ^= 1;
  off_curve["y"] = base64url_encode(y);
  EXPECT_FALSE(Key::from_jwk(off_curve).ok());
  auto short_x = ec;
  short_x["x"] = base64url_encode(std::string(31, 'a'));
  EXPECT_FALSE(Key::from_jwk(short_x).ok());
  auto wrong_crv = ec;
  wrong_crv["crv"] = "P-384";
  EXPECT_FALSE(Key::from_jwk(wrong_crv).ok());
  auto padded = ec;
  padded["x"] = ec["x"].get<std::string>() + "=";
  EXPECT_FALSE(Key::from_jwk(padded).ok());
  auto alg_mismatch = ec;
  alg_mismatch["alg"] = "RS256";
  EXPECT_FALSE(Key::from_jwk(alg_mismatch).ok());
  auto alg_none = ec;
  alg_none["alg"] = "none";
  EXPECT_FALSE(Key::from_jwk(alg_none).ok());
  EXPECT_FALSE(Key::from_jwk({{"kty", "RSA"}, {"n", "AQAB"}}).ok());
  EXPECT_FALSE(Key::from_jwk({{"kty", "XYZ"}}).ok());
  EXPECT_FALSE(Key::from_jwk(nlohmann::json::array()).ok());
  auto restricted = rsa_key().public_jwk;
  restricted["alg"] = "PS256";
  restricted["kid"] = "r1";
  auto key = Key::from_jwk(restricted);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ((*key)->kid(), "r1");
  EXPECT_EQ((*key)->algorithms(), std::vector<Algorithm>{Algorithm::kPs256});
}

TEST(Jwks, SkipsKeysForOtherUsesAndUnknownTypes) {
  auto sig = ec_p256_key().public_jwk;
  sig["kid"] = "a";
  auto enc = rsa_key().public_jwk;
  enc["use"] = "enc";
  auto ops = rsa_key().public_jwk;
  ops["key_ops"] = {"encrypt"};
  nlohmann::json doc = {{"keys", {sig, enc, ops, {{"kty", "weird"}}}}};
  auto set = parse_jwks(doc.dump());
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  ASSERT_EQ((*set)->keys.size(), 1u);
  EXPECT_EQ((*set)->keys[0]->kid(), "a");
}

TEST(Jwks, MalformedInputFails) {
  EXPECT_FALSE(parse_jwks("").ok());
  EXPECT_FALSE(parse_jwks("[]").ok());
  EXPECT_FALSE(parse_jwks("{}").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":{}})").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":[1]})").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})").ok());
  EXPECT_TRUE(parse_jwks(R"({"keys":[]})").ok());
}

// RFC 7515 A.4 (ES512) and RFC 8037 A.4 (Ed25519): payloads are not JSON objects, so these
// vectors are checked at the key level.
TEST(Key, Rfc7515A4Es512Vector) {
  nlohmann::json jwk = {
      {"kty", "EC"},
      {"crv", "P-521"},
      {"x",
       "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk"},
      {"y",
       "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}};
  auto key = Key::from_jwk(jwk);
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  auto sig = base64url_decode(
      "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8"
      "GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE((*key)->verify(Algorithm::kEs512, "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA", *sig));
  EXPECT_FALSE((*key)->verify(Algorithm::kEs512, "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZB", *sig));
}

TEST(Key, Rfc8037Ed25519Vector) {
  auto key = Key::from_jwk(
      {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}});
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  auto sig = base64url_decode(
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE((*key)->verify(Algorithm::kEdDsa,
                             "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc", *sig));
}

TEST(Signer, RejectsNonObjectClaimsAndBadUtf8) {
  auto key = Key::from_secret(kSecret32);
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(sign(nlohmann::json::array(), Algorithm::kHs256, **key).ok());
  EXPECT_FALSE(sign({{"sub", "\xff\xfe"}}, Algorithm::kHs256, **key).ok());
  EXPECT_FALSE(sign({{"sub", "a"}}, "none", **key).ok());
  EXPECT_FALSE(sign({{"sub", "a"}}, Algorithm::kRs256, **key).ok());
  EXPECT_TRUE(sign({{"sub", "a"}}, "HS256", **key).ok());
}

}  // namespace
}  // namespace herald::auth
