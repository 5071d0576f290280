// Tests for JwtVerifier: algorithms, key binding, RFC vectors, JWKS reload, claims, malformed
// input.
#include "broker/auth/jwt_verifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "broker/auth/base64url.h"
#include "broker/auth/jwt_signer.h"
#include "tests/unit/auth/test_keys.h"

namespace herald::auth {
namespace {

using testing::TestKey;

constexpr int64_t kNowS = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";       // 32 bytes
const std::string kOtherSecret = "fedcba9876543210fedcba9876543210";  // 32 bytes
const std::string kLongSecret(64, 'L');

struct FakeClock {
  int64_t now_ms = kNowS * 1000;
  Clock fn() {
    return [this] { return now_ms; };
  }
};

KeySpec secret_spec(std::string value, std::optional<std::string> kid = std::nullopt) {
  KeySpec spec;
  spec.kid = std::move(kid);
  spec.type = KeySpec::Type::kSecret;
  spec.value = std::move(value);
  return spec;
}

KeySpec pem_spec(std::string pem, std::optional<std::string> kid = std::nullopt,
                 std::vector<std::string> algs = {}) {
  KeySpec spec;
  spec.kid = std::move(kid);
  spec.type = KeySpec::Type::kPem;
  spec.value = std::move(pem);
  spec.algs = std::move(algs);
  return spec;
}

std::unique_ptr<JwtVerifier> make_verifier(const JwtConfig& config, FakeClock& clock) {
  auto v = JwtVerifier::create(config, clock.fn());
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() ? std::move(v).value() : nullptr;
}

std::string sign_with(const nlohmann::json& claims, std::string_view alg,
                      const std::string& material, bool secret, std::string_view kid = {}) {
  auto key = secret ? Key::from_secret(material) : Key::from_pem(material);
  EXPECT_TRUE(key.ok()) << key.status().to_string();
  auto token = sign(claims, alg, **key, kid);
  EXPECT_TRUE(token.ok()) << token.status().to_string();
  return token.ok() ? *token : std::string();
}

std::string hs256(const nlohmann::json& claims, const std::string& secret = kSecret,
                  std::string_view kid = {}) {
  return sign_with(claims, "HS256", secret, true, kid);
}

// Builds a token from literal header/payload text, HMAC-signed with kSecret over the segments.
std::string raw_token(std::string_view header, std::string_view payload) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  auto key = Key::from_secret(kSecret);
  auto sig = (*key)->sign(Algorithm::kHs256, input);
  return input + "." + base64url_encode(*sig);
}

nlohmann::json claims_for(std::string sub = "alice") {
  return {{"sub", std::move(sub)}, {"iat", kNowS}, {"exp", kNowS + 600}};
}

void expect_invalid(const TokenResult& r, std::string_view reason_part = {}) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TokenError::kInvalidToken) << r.reason();
  EXPECT_EQ(r.code(), "INVALID_TOKEN");
  if (!reason_part.empty()) {
    EXPECT_NE(r.reason().find(reason_part), std::string::npos) << r.reason();
  }
}

// ---------------------------------------------------------------------------------------------
// Per-algorithm table: good token, tampered payload, other key's signature, truncated signature.

struct AlgCase {
  std::string alg;
  std::function<const TestKey&(int)> key;  // null for HS*
};

void PrintTo(const AlgCase& c, std::ostream* os) {
  *os << c.alg;
}

class JwtAlgorithms : public ::testing::TestWithParam<AlgCase> {};

TEST_P(JwtAlgorithms, GoodAndBadTokens) {
  const AlgCase& c = GetParam();
  FakeClock clock;
  JwtConfig config;
  config.allowed_algs = {c.alg};
  std::string signer, other_signer;
  bool secret = !c.key;
  if (secret) {
    config.keys = {secret_spec(kLongSecret, "k1")};
    signer = kLongSecret;
    other_signer = std::string(64, 'M');
  } else {
    config.keys = {pem_spec(c.key(0).public_pem, "k1")};
    signer = c.key(0).private_pem;
    other_signer = c.key(1).private_pem;
  }
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);

  std::string good = sign_with(claims_for(), c.alg, signer, secret, "k1");
  auto r = v->verify(good);
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r->subject, "alice");
  EXPECT_EQ(r->alg, c.alg);
  EXPECT_EQ(r->kid, "k1");
  EXPECT_EQ(r->expires_at_ms, (kNowS + 600) * 1000);
  EXPECT_EQ(r->claims["iat"], kNowS);

  // Same header and signature, different payload.
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string forged =
      good.substr(0, d1 + 1) + base64url_encode(claims_for("mallory").dump()) + good.substr(d2);
  expect_invalid(v->verify(forged), "invalid signature");

  expect_invalid(v->verify(sign_with(claims_for(), c.alg, other_signer, secret, "k1")),
                 "invalid signature");

  std::string sig = *base64url_decode(good.substr(d2 + 1));
  expect_invalid(
      v->verify(good.substr(0, d2 + 1) + base64url_encode(sig.substr(0, sig.size() - 1))),
      "invalid signature");
  std::string flipped = sig;
  flipped[0] ^= 0x01;
  expect_invalid(v->verify(good.substr(0, d2 + 1) + base64url_encode(flipped)),
                 "invalid signature");
}

INSTANTIATE_TEST_SUITE_P(
    All, JwtAlgorithms,
    ::testing::Values(AlgCase{"HS256", nullptr}, AlgCase{"HS384", nullptr},
                      AlgCase{"HS512", nullptr}, AlgCase{"RS256", testing::rsa_key},
                      AlgCase{"RS384", testing::rsa_key}, AlgCase{"RS512", testing::rsa_key},
                      AlgCase{"PS256", testing::rsa_key}, AlgCase{"PS384", testing::rsa_key},
                      AlgCase{"PS512", testing::rsa_key}, AlgCase{"ES256", testing::ec_p256_key},
                      AlgCase{"ES384", testing::ec_p384_key},
                      AlgCase{"ES512", testing::ec_p521_key},
                      AlgCase{"EdDSA", testing::ed25519_key}),
    [](const ::testing::TestParamInfo<AlgCase>& param_info) { return param_info.param.alg; });

// ---------------------------------------------------------------------------------------------
// Published vectors.

constexpr char kRfcPayload[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
constexpr int64_t kRfcExp = 1300819380;

TEST(JwtVerifierVectors, Rfc7515A1Hs256) {
  FakeClock clock{(kRfcExp - 10) * 1000};
  JwtConfig config;
  config.require_sub = false;
  config.issuer = "joe";
  config.keys = {
      secret_spec("base64:AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
                  "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")};
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  std::string token = std::string("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.") + kRfcPayload +
                      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto r = v->verify(token);
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r->claims["iss"], "joe");
  EXPECT_EQ(r->claims["http://example.com/is_root"], true);
  EXPECT_EQ(r->expires_at_ms, kRfcExp * 1000);
  EXPECT_EQ(r->subject, "");
  clock.now_ms = (kRfcExp + 30) * 1000;
  auto expired = v->verify(token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.code(), "EXPIRED_TOKEN");
}

TEST(JwtVerifierVectors, Rfc7515A2Rs256ViaJwks) {
  auto dir =
      std::filesystem::temp_directory_path() / ("herald_auth_a2_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  nlohmann::json jwk = {
      {"kty", "RSA"},
      {"kid", "2010-12-29"},
      {"n",
       "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
       "4qPCJrcS2mJPMEzP1Pt0Bm4"
       "d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5r"
       "exMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhy"
       "xXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"},
      {"e", "AQAB"}};
  std::ofstream(dir / "jwks.json") << nlohmann::json{{"keys", {jwk}}}.dump();
  FakeClock clock{(kRfcExp - 10) * 1000};
  JwtConfig config;
  config.require_sub = false;
  config.jwks_file = (dir / "jwks.json").string();
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  std::string token = std::string("eyJhbGciOiJSUzI1NiJ9.") + kRfcPayload +
                      ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-"
                      "0Qc_lF5YKt_O8W2Fp5"
                      "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
                      "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1"
                      "L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
                      "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYE"
                      "UipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
  auto r = v->verify(token);
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r->kid, "2010-12-29");  // no kid in the header: the verifying key's kid
  std::filesystem::remove_all(dir);
}

TEST(JwtVerifierVectors, Rfc7515A3Es256) {
  FakeClock clock{(kRfcExp - 10) * 1000};
  JwtConfig config;
  config.require_sub = false;
  config.allowed_algs = {"ES256"};
  auto jwk = Key::from_jwk({{"kty", "EC"},
                            {"crv", "P-256"},
                            {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                            {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}});
  ASSERT_TRUE(jwk.ok()) << jwk.status().to_string();
  // The verifier takes PEM from config; go JWK → raw verify and JWK → JWKS file both.
  std::string token =
      std::string("eyJhbGciOiJFUzI1NiJ9.") + kRfcPayload +
      ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3"
      "-Kg6NU1Q";
  size_t d2 = token.rfind('.');
  EXPECT_TRUE((*jwk)->verify(Algorithm::kEs256, std::string_view(token).substr(0, d2),
                             *base64url_decode(token.substr(d2 + 1))));
  auto path = std::filesystem::temp_directory_path() /
              ("herald_auth_a3_" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e9bc097a",)"
                      << R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
                      << R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";
  config.jwks_file = path.string();
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  auto r = v->verify(token);
  EXPECT_TRUE(r.ok()) << r.reason();
  // Any single bit of the signature matters.
  std::string bad = token;
  bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
  expect_invalid(v->verify(bad));
  std::filesystem::remove(path);
}

// ---------------------------------------------------------------------------------------------
// Algorithm and key selection attacks.

TEST(JwtVerifier, AlgNoneIsRejected) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {secret_spec(kSecret)};
  auto v = make_verifier(config, clock);
  std::string payload = base64url_encode(claims_for().dump());
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    std::string header = base64url_encode(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})");
    expect_invalid(v->verify(header + "." + payload + "."));  // trailing dot, empty signature
    expect_invalid(v->verify(header + "." + payload));        // no signature segment at all
    expect_invalid(v->verify(header + "." + payload + "." + base64url_encode("x")));
  }
  std::string none = base64url_encode(R"({"alg":"none"})") + "." + payload + ".";
  expect_invalid(v->verify(none), "unsigned tokens are not accepted");
}

TEST(JwtVerifier, RsaPublicKeyAsHmacSecretIsRejected) {
  FakeClock clock;
  const std::string& pub = testing::rsa_key().public_pem;
  for (bool with_kid : {false, true}) {
    JwtConfig config;
    config.keys = {pem_spec(pub, with_kid ? std::optional<std::string>("rsa") : std::nullopt)};
    auto v = make_verifier(config, clock);
    ASSERT_TRUE(v);
    // The classic confusion: HMAC over the token with the public PEM text as the secret.
    std::string header =
        base64url_encode(with_kid ? R"({"alg":"HS256","kid":"rsa"})" : R"({"alg":"HS256"})");
    std::string input = header + "." + base64url_encode(claims_for().dump());
    auto as_secret = Key::from_secret(pub);
    ASSERT_TRUE(as_secret.ok());
    std::string forged =
        input + "." + base64url_encode(*(*as_secret)->sign(Algorithm::kHs256, input));
    expect_invalid(v->verify(forged), with_kid ? "not allowed for the key" : "");
    // And the real RS256 token passes.
    EXPECT_TRUE(v->verify(sign_with(claims_for(), "RS256", testing::rsa_key().private_pem, false,
                                    with_kid ? "rsa" : ""))
                    .ok());
  }
}

TEST(JwtVerifier, KidSelectsTheKey) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {secret_spec(kSecret, "a"), secret_spec(kOtherSecret, "b"),
                 pem_spec(testing::ec_p256_key().public_pem, "ec")};
  auto v = make_verifier(config, clock);
  EXPECT_TRUE(v->verify(hs256(claims_for(), kSecret, "a")).ok());
  EXPECT_TRUE(v->verify(hs256(claims_for(), kOtherSecret, "b")).ok());
  expect_invalid(v->verify(hs256(claims_for(), kSecret, "b")), "invalid signature");
  expect_invalid(v->verify(hs256(claims_for(), kSecret, "zzz")), "unknown kid");
  expect_invalid(v->verify(hs256(claims_for(), kSecret, "ec")), "not allowed for the key");
  // No kid: every key that allows the algorithm is tried.
  EXPECT_TRUE(v->verify(hs256(claims_for(), kOtherSecret)).ok());
  expect_invalid(v->verify(raw_token(R"({"alg":"HS256","kid":7})", claims_for().dump())),
                 "kid is not a string");
}

TEST(JwtVerifier, KeysWithoutKidServeTokensWithAnyKid) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {secret_spec(kSecret)};
  auto v = make_verifier(config, clock);
  auto r = v->verify(hs256(claims_for(), kSecret, "whatever"));
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r->kid, "whatever");
}

TEST(JwtVerifier, AlgorithmAllowlists) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {pem_spec(testing::rsa_key().public_pem, std::nullopt, {"RS256"}),
                 secret_spec(kLongSecret)};
  config.allowed_algs = {"RS256", "HS512"};
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  const std::string& priv = testing::rsa_key().private_pem;
  EXPECT_TRUE(v->verify(sign_with(claims_for(), "RS256", priv, false)).ok());
  expect_invalid(v->verify(sign_with(claims_for(), "PS256", priv, false)), "is not allowed");
  expect_invalid(v->verify(sign_with(claims_for(), "HS256", kLongSecret, true)), "is not allowed");
  EXPECT_TRUE(v->verify(sign_with(claims_for(), "HS512", kLongSecret, true)).ok());

  // Key-level restriction without a global allowlist.
  config.allowed_algs.clear();
  v = make_verifier(config, clock);
  expect_invalid(v->verify(sign_with(claims_for(), "PS256", priv, false)),
                 "not allowed for the key");
  expect_invalid(v->verify(raw_token(R"({"alg":"XS256"})", claims_for().dump())),
                 "unsupported algorithm");
}

TEST(JwtVerifier, EcCurveMustMatchAlgorithm) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {pem_spec(testing::ec_p384_key().public_pem)};
  auto v = make_verifier(config, clock);
  EXPECT_TRUE(
      v->verify(sign_with(claims_for(), "ES384", testing::ec_p384_key().private_pem, false)).ok());
  expect_invalid(
      v->verify(sign_with(claims_for(), "ES256", testing::ec_p256_key().private_pem, false)),
      "not allowed for the key");
}

// ---------------------------------------------------------------------------------------------
// JWKS file and reload.

class JwksFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("herald_auth_jwks_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  void write(const std::vector<std::pair<std::string, const TestKey*>>& keys) {
    nlohmann::json doc = {{"keys", nlohmann::json::array()}};
    for (const auto& [kid, key] : keys) {
      auto jwk = key->public_jwk;
      jwk["kid"] = kid;
      doc["keys"].push_back(jwk);
    }
    write_text(doc.dump());
  }
  void write_text(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << text;
    // Make every rewrite visible even on file systems with coarse timestamps.
    static int bump = 0;
    std::filesystem::last_write_time(
        path_, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(++bump));
  }

  std::filesystem::path path_;
};

TEST_F(JwksFile, ReloadPicksUpNewKeysAfterTheInterval) {
  const TestKey& k1 = testing::rsa_key(0);
  const TestKey& k2 = testing::ec_p256_key(0);
  write({{"one", &k1}});
  FakeClock clock;
  JwtConfig config;
  config.jwks_file = path_.string();
  config.jwks_reload_s = 10;
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  std::string t1 = sign_with(claims_for(), "RS256", k1.private_pem, false, "one");
  std::string t2 = sign_with(claims_for(), "ES256", k2.private_pem, false, "two");
  EXPECT_TRUE(v->verify(t1).ok());
  expect_invalid(v->verify(t2), "unknown kid");

  write({{"two", &k2}});
  clock.now_ms += 9'000;  // before the interval: the old set is still in use
  EXPECT_TRUE(v->verify(t1).ok());
  expect_invalid(v->verify(t2), "unknown kid");
  clock.now_ms += 1'000;
  EXPECT_TRUE(v->verify(t2).ok());
  expect_invalid(v->verify(t1), "unknown kid");
  EXPECT_TRUE(v->jwks_status().ok());
}

TEST_F(JwksFile, ExplicitReloadAndBrokenFileKeepsPreviousKeys) {
  const TestKey& k1 = testing::ec_p384_key(0);
  const TestKey& k2 = testing::ed25519_key(0);
  write({{"one", &k1}});
  FakeClock clock;
  JwtConfig config;
  config.jwks_file = path_.string();
  config.jwks_reload_s = -1;  // only explicit reloads
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  std::string t1 = sign_with(claims_for(), "ES384", k1.private_pem, false, "one");
  std::string t2 = sign_with(claims_for(), "EdDSA", k2.private_pem, false, "two");
  EXPECT_TRUE(v->verify(t1).ok());

  write_text("{not json");
  EXPECT_FALSE(v->reload_jwks().ok());
  EXPECT_FALSE(v->jwks_status().ok());
  EXPECT_TRUE(v->verify(t1).ok());  // previous keys still in use

  write({{"one", &k1}, {"two", &k2}});
  EXPECT_TRUE(v->verify(t1).ok());
  expect_invalid(v->verify(t2), "unknown kid");  // no automatic reload configured
  ASSERT_TRUE(v->reload_jwks().ok());
  EXPECT_TRUE(v->jwks_status().ok());
  EXPECT_TRUE(v->verify(t1).ok());
  EXPECT_TRUE(v->verify(t2).ok());
}

TEST_F(JwksFile, ZeroIntervalChecksOnEveryVerify) {
  const TestKey& k1 = testing::ec_p256_key(0);
  const TestKey& k2 = testing::ec_p256_key(1);
  write({{"k", &k1}});
  FakeClock clock;
  JwtConfig config;
  config.jwks_file = path_.string();
  config.jwks_reload_s = 0;
  config.keys = {secret_spec(kSecret, "static")};  // static keys and JWKS together
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->verify(hs256(claims_for(), kSecret, "static")).ok());
  std::string t2 = sign_with(claims_for(), "ES256", k2.private_pem, false, "k");
  expect_invalid(v->verify(t2), "invalid signature");
  write({{"k", &k2}});
  EXPECT_TRUE(v->verify(t2).ok());
}

TEST_F(JwksFile, ConcurrentVerifyDuringReloads) {
  const TestKey& k1 = testing::ec_p256_key(0);
  write({{"k", &k1}});
  FakeClock clock;
  JwtConfig config;
  config.jwks_file = path_.string();
  config.jwks_reload_s = 0;
  auto v = make_verifier(config, clock);
  ASSERT_TRUE(v);
  std::string token = sign_with(claims_for(), "ES256", k1.private_pem, false, "k");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!v->verify(token).ok()) failures++;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    write({{"k", &k1}});
    (void)v->reload_jwks();
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---------------------------------------------------------------------------------------------
// Claims.

class JwtClaims : public ::testing::Test {
 protected:
  std::unique_ptr<JwtVerifier> verifier(JwtConfig config = {}) {
    if (config.keys.empty()) config.keys = {secret_spec(kSecret)};
    return make_verifier(config, clock_);
  }
  FakeClock clock_;
};

TEST_F(JwtClaims, ExpiryWithLeewayBoundaries) {
  JwtConfig config;
  config.leeway_s = 30;
  auto v = verifier(config);
  std::string token = hs256({{"sub", "a"}, {"exp", kNowS}});
  clock_.now_ms = (kNowS + 30) * 1000 - 1;
  auto ok = v->verify(token);
  ASSERT_TRUE(ok.ok()) << ok.reason();
  EXPECT_EQ(ok->expires_at_ms, kNowS * 1000);
  clock_.now_ms = (kNowS + 30) * 1000;
  auto r = v->verify(token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TokenError::kExpiredToken);
  EXPECT_EQ(r.code(), "EXPIRED_TOKEN");
  EXPECT_EQ(r.reason(), "token expired");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "EXPIRED_TOKEN: token expired");

  // Zero leeway: exp itself is already too late (RFC 7519: "before" exp).
  config.leeway_s = 0;
  v = verifier(config);
  clock_.now_ms = kNowS * 1000 - 1;
  EXPECT_TRUE(v->verify(token).ok());
  clock_.now_ms = kNowS * 1000;
  EXPECT_EQ(v->verify(token).error(), TokenError::kExpiredToken);
}

TEST_F(JwtClaims, NotBeforeWithLeewayBoundaries) {
  JwtConfig config;
  config.leeway_s = 30;
  auto v = verifier(config);
  std::string token = hs256({{"sub", "a"}, {"nbf", kNowS}});
  clock_.now_ms = (kNowS - 30) * 1000;
  EXPECT_TRUE(v->verify(token).ok());
  clock_.now_ms = (kNowS - 30) * 1000 - 1;
  auto r = v->verify(token);
  expect_invalid(r);
  EXPECT_EQ(r.reason(), "token not yet valid");
}

TEST_F(JwtClaims, IssuedInTheFutureBeyondLeeway) {
  JwtConfig config;
  config.leeway_s = 30;
  auto v = verifier(config);
  EXPECT_TRUE(v->verify(hs256({{"sub", "a"}, {"iat", kNowS + 30}})).ok());
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"iat", kNowS + 31}})), "issued in the future");
  EXPECT_TRUE(v->verify(hs256({{"sub", "a"}, {"iat", kNowS - 100000}})).ok());
}

TEST_F(JwtClaims, MalformedDates) {
  auto v = verifier();
  for (nlohmann::json bad :
       {nlohmann::json("1700000000"), nlohmann::json(-1), nlohmann::json(true),
        nlohmann::json(1e300), nlohmann::json(nullptr), nlohmann::json::array({1}),
        nlohmann::json(253402300800LL), nlohmann::json(18446744073709551615ULL)}) {
    for (const char* claim : {"exp", "nbf", "iat"}) {
      SCOPED_TRACE(std::string(claim) + "=" + bad.dump());
      expect_invalid(v->verify(hs256({{"sub", "a"}, {claim, bad}})), "malformed");
    }
  }
  auto r = v->verify(hs256({{"sub", "a"}, {"exp", kNowS + 0.5}}));
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r->expires_at_ms, kNowS * 1000 + 500);
}

TEST_F(JwtClaims, NoExpMeansZeroExpiresAt) {
  auto r = verifier()->verify(hs256({{"sub", "a"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->expires_at_ms, 0);
}

TEST_F(JwtClaims, AudienceStringOrArray) {
  JwtConfig config;
  config.audience = "herald";
  auto v = verifier(config);
  EXPECT_TRUE(v->verify(hs256({{"sub", "a"}, {"aud", "herald"}})).ok());
  EXPECT_TRUE(v->verify(hs256({{"sub", "a"}, {"aud", {"other", "herald"}}})).ok());
  EXPECT_TRUE(v->verify(hs256({{"sub", "a"}, {"aud", {1, "herald"}}})).ok());
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"aud", "other"}})), "audience mismatch");
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"aud", {"other"}}})), "audience mismatch");
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"aud", nlohmann::json::array()}})));
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"aud", "Herald"}})));
  expect_invalid(v->verify(hs256({{"sub", "a"}})), "audience mismatch");
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"aud", {{"x", "herald"}}}})));
  // Not configured: aud is not checked.
  EXPECT_TRUE(verifier()->verify(hs256({{"sub", "a"}, {"aud", "other"}})).ok());
}

TEST_F(JwtClaims, Issuer) {
  JwtConfig config;
  config.issuer = "https://auth.example";
  auto v = verifier(config);
  EXPECT_TRUE(v->verify(hs256({{"sub", "a"}, {"iss", "https://auth.example"}})).ok());
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"iss", "https://evil.example"}})), "issuer");
  expect_invalid(v->verify(hs256({{"sub", "a"}, {"iss", 1}})), "issuer");
  expect_invalid(v->verify(hs256({{"sub", "a"}})), "issuer");
}

TEST_F(JwtClaims, Subject) {
  auto v = verifier();
  expect_invalid(v->verify(hs256({{"exp", kNowS + 10}})), "no subject");
  expect_invalid(v->verify(hs256({{"sub", ""}})), "no subject");
  expect_invalid(v->verify(hs256({{"sub", 42}})), "malformed sub");
  JwtConfig config;
  config.require_sub = false;
  auto lax = verifier(config);
  auto r = lax->verify(hs256({{"exp", kNowS + 10}}));
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(r->subject, "");
  expect_invalid(lax->verify(hs256({{"sub", 42}})), "malformed sub");
}

TEST_F(JwtClaims, SignatureIsCheckedBeforeClaims) {
  // An expired token with a bad signature is INVALID, not EXPIRED.
  auto r = verifier()->verify(hs256({{"sub", "a"}, {"exp", 1}}, kOtherSecret));
  expect_invalid(r, "invalid signature");
}

// ---------------------------------------------------------------------------------------------
// Malformed input.

TEST(JwtVerifier, MissingToken) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {secret_spec(kSecret)};
  auto v = make_verifier(config, clock);
  auto r = v->verify("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TokenError::kMissingToken);
  EXPECT_EQ(r.code(), "MISSING_TOKEN");
  EXPECT_EQ(token_error_code(TokenError::kInvalidToken), "INVALID_TOKEN");
}

TEST(JwtVerifier, OversizedTokens) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {secret_spec(kSecret)};
  auto v = make_verifier(config, clock);
  auto claims = claims_for();
  claims["pad"] = std::string(5000, 'p');
  std::string fits = hs256(claims);
  ASSERT_LE(fits.size(), kMaxTokenBytes);
  EXPECT_TRUE(v->verify(fits).ok());
  claims["pad"] = std::string(6500, 'p');
  std::string big = hs256(claims);
  ASSERT_GT(big.size(), kMaxTokenBytes);
  expect_invalid(v->verify(big), "too large");
  expect_invalid(v->verify(std::string(1 << 20, 'a')), "too large");
}

TEST(JwtVerifier, MalformedSegments) {
  FakeClock clock;
  JwtConfig config;
  config.keys = {secret_spec(kSecret)};
  auto v = make_verifier(config, clock);
  std::string good = hs256(claims_for());
  ASSERT_TRUE(v->verify(good).ok());
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string h = good.substr(0, d1), p = good.substr(d1 + 1, d2 - d1 - 1), s = good.substr(d2 + 1);
  std::string payload = claims_for().dump();

  struct Case {
    const char* name;
    std::string token;
    const char* reason;
  };
  std::vector<Case> cases = {
      {"one segment", h, "three"},
      {"two segments", h + "." + p, "three"},
      {"four segments", good + "." + s, "three"},
      {"five segments (JWE)", h + "." + p + "." + s + "." + s + "." + s, "three"},
      {"only dots", "..", "header"},
      {"empty header", "." + p + "." + s, "header"},
      {"empty payload", h + ".." + s, "invalid signature"},
      {"empty signature", h + "." + p + ".", "no signature"},
      {"header padding", h + "=." + p + "." + s, "header is not base64url"},
      {"payload padding", h + "." + p + "=." + s, "payload is not base64url"},
      {"signature padding", h + "." + p + "." + s + "=", "signature is not base64url"},
      {"standard alphabet +", h + "." + p + "." + "+" + s.substr(1), "signature is not base64url"},
      {"standard alphabet /", h + "." + p + "/." + s, "payload is not base64url"},
      {"space", h + " ." + p + "." + s, "header is not base64url"},
      {"newline", h + "." + p + "." + s + "\n", "signature is not base64url"},
      {"nul byte", h + "." + p + std::string(1, '\0') + "." + s, "payload is not base64url"},
      {"impossible length", h + "." + p + "." + s + "AA", "signature is not base64url"},
      {"header not JSON", raw_token("{alg:HS256}", payload), "header is not a JSON object"},
      {"header JSON array", raw_token(R"(["HS256"])", payload), "header is not a JSON object"},
      {"header JSON string", raw_token(R"("HS256")", payload), "header is not a JSON object"},
      {"header trailing garbage", raw_token(R"({"alg":"HS256"}x)", payload), "header is not"},
      {"header no alg", raw_token(R"({"typ":"JWT"})", payload), "no alg"},
      {"alg not a string", raw_token(R"({"alg":256})", payload), "no alg"},
      {"alg wrong case", raw_token(R"({"alg":"hs256"})", payload), "unsupported algorithm"},
      {"crit header", raw_token(R"({"alg":"HS256","crit":["exp"],"exp":1})", payload), "critical"},
      {"payload not JSON", raw_token(R"({"alg":"HS256"})", "sub=alice"), "payload is not a JSON"},
      {"payload JSON array", raw_token(R"({"alg":"HS256"})", "[1]"), "payload is not a JSON"},
      {"payload invalid UTF-8", raw_token(R"({"alg":"HS256"})", "{\"sub\":\"\xff\"}"), "payload"},
      {"header invalid UTF-8", raw_token("{\"alg\":\"HS256\",\"x\":\"\xc3\"}", payload), "header"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = v->verify(c.token);
    expect_invalid(r, c.reason);
    // Reasons are safe to log: never an echo of the token.
    if (!r.ok() && !c.token.empty()) {
      EXPECT_EQ(r.reason().find(p), std::string::npos);
      EXPECT_EQ(r.reason().find(s), std::string::npos);
    }
  }
  // The untampered raw builder is accepted, so the cases above fail for the stated reason.
  EXPECT_TRUE(v->verify(raw_token(R"({"alg":"HS256","typ":"JWT"})", payload)).ok());
  // Embedded keys in the header are ignored, not trusted.
  auto attacker = Key::from_secret(kOtherSecret);
  std::string jwk_header =
      nlohmann::json{{"alg", "HS256"},
                     {"jwk", {{"kty", "oct"}, {"k", base64url_encode(kOtherSecret)}}}}
          .dump();
  std::string input = base64url_encode(jwk_header) + "." + base64url_encode(payload);
  std::string forged = input + "." + base64url_encode(*(*attacker)->sign(Algorithm::kHs256, input));
  expect_invalid(v->verify(forged), "invalid signature");
}

// ---------------------------------------------------------------------------------------------
// Configuration.

TEST(JwtVerifierCreate, ReportsConfigurationErrors) {
  auto expect_error = [](JwtConfig config, std::string_view part) {
    auto v = JwtVerifier::create(config);
    ASSERT_FALSE(v.ok()) << part;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find(part), std::string::npos) << v.status().message();
  };
  expect_error(JwtConfig{}, "no keys");
  JwtConfig c;
  c.keys = {secret_spec("short", "dev")};
  expect_error(c, "key \"dev\": HMAC secret must be at least 32 bytes");
  c.keys = {secret_spec(kSecret)};
  c.allowed_algs = {"none"};
  expect_error(c, "\"none\"");
  c.allowed_algs = {"HS257"};
  expect_error(c, "HS257");
  c.allowed_algs = {"RS256"};
  expect_error(c, "no configured key can verify RS256");
  c.allowed_algs = {};
  c.leeway_s = -1;
  expect_error(c, "leeway");
  c.leeway_s = 0;
  c.audience = "";
  expect_error(c, "audience");
  c.audience.reset();
  c.keys = {pem_spec("not a pem", "p")};
  expect_error(c, "key \"p\"");
  c.keys = {pem_spec(testing::rsa_key().public_pem, "p", {"HS256"})};
  expect_error(c, "HS256 cannot be used");
  c.keys = {pem_spec(testing::rsa_key().public_pem, "p", {"RS999"})};
  expect_error(c, "RS999");
  KeySpec both = secret_spec(kSecret);
  both.file = "/etc/hostname";
  c.keys = {both};
  expect_error(c, "exactly one of value and file");
  KeySpec missing;
  missing.file = "/nonexistent/secret";
  c.keys = {missing};
  expect_error(c, "cannot open");
  c.keys = {secret_spec("base64:!!!")};
  expect_error(c, "base64");
  c.keys = {};
  c.jwks_file = "/nonexistent/jwks.json";
  expect_error(c, "jwks_file");
}

TEST(JwtVerifierCreate, SecretsFromBase64AndFiles) {
  FakeClock clock;
  std::string binary(32, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
  JwtConfig config;
  config.keys = {secret_spec("base64:" + base64url_encode(binary))};
  auto v = make_verifier(config, clock);
  EXPECT_TRUE(v->verify(hs256(claims_for(), binary)).ok());

  auto path =
      std::filesystem::temp_directory_path() / ("herald_auth_secret_" + std::to_string(::getpid()));
  std::ofstream(path) << kSecret << "\n";
  KeySpec spec;
  spec.file = path.string();
  config.keys = {spec};
  v = make_verifier(config, clock);
  EXPECT_TRUE(v->verify(hs256(claims_for(), kSecret)).ok());

  std::ofstream(path, std::ios::trunc) << testing::ec_p256_key().public_pem;
  spec.type = KeySpec::Type::kPem;
  config.keys = {spec};
  v = make_verifier(config, clock);
  EXPECT_TRUE(
      v->verify(sign_with(claims_for(), "ES256", testing::ec_p256_key().private_pem, false)).ok());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace herald::auth
