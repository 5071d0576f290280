// JWT verification for the broker: configured keys and a JWKS file, algorithm allowlists, claims.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "broker/auth/algorithm.h"
#include "broker/auth/jwks.h"
#include "broker/auth/key.h"
#include "common/status.h"

namespace herald::auth {

// Tokens longer than this are refused before any decoding.
inline constexpr size_t kMaxTokenBytes = 8 * 1024;

// The codes clients see in CONNECT_ERROR data (DESIGN.md §2).
enum class TokenError { kMissingToken, kExpiredToken, kInvalidToken };

// "MISSING_TOKEN", "EXPIRED_TOKEN", "INVALID_TOKEN".
std::string_view token_error_code(TokenError error);

struct VerifiedToken {
  std::string subject;        // "sub"; empty only when require_sub is false and the token has none
  nlohmann::json claims;      // the whole payload object
  int64_t expires_at_ms = 0;  // "exp" in Unix ms, 0 if the token has no exp
  std::string alg;
  std::string kid;  // the header's kid, else the kid of the key that verified the token
};

// Either a verified token or a TokenError with a human-readable reason. Reasons never contain the
// token or any part of it, so they are safe to log and to send to the client.
class [[nodiscard]] TokenResult {
 public:
  TokenResult(VerifiedToken token) : v_(std::move(token)) {}  // NOLINT(google-explicit-constructor)
  TokenResult(TokenError error, std::string reason) : v_(Failure{error, std::move(reason)}) {}

  bool ok() const { return std::holds_alternative<VerifiedToken>(v_); }
  explicit operator bool() const { return ok(); }

  const VerifiedToken& value() const& { return std::get<VerifiedToken>(v_); }
  VerifiedToken&& value() && { return std::get<VerifiedToken>(std::move(v_)); }
  const VerifiedToken* operator->() const { return &value(); }

  // Only meaningful when !ok().
  TokenError error() const { return std::get<Failure>(v_).error; }
  const std::string& reason() const { return std::get<Failure>(v_).reason; }
  std::string_view code() const { return token_error_code(error()); }
  // UNAUTHENTICATED "<CODE>: <reason>", or OK.
  Status status() const;

 private:
  struct Failure {
    TokenError error;
    std::string reason;
  };
  std::variant<VerifiedToken, Failure> v_;
};

// One configured key. For kSecret the material is the raw secret bytes, or "base64:<base64>" for
// binary secrets; for kPem it is a PEM public key, certificate or (unencrypted) private key.
struct KeySpec {
  enum class Type { kSecret, kPem };
  std::optional<std::string> kid;
  Type type = Type::kSecret;
  std::string value;              // inline material, or
  std::string file;               // a path to it (a secret file's trailing newline is dropped)
  std::vector<std::string> algs;  // empty = every algorithm the key's type and size permit
};

struct JwtConfig {
  std::vector<KeySpec> keys;
  std::vector<std::string> allowed_algs;  // empty = whatever some key allows
  int leeway_s = 30;                      // applied to exp, nbf and iat
  std::optional<std::string> audience;    // when set, "aud" (string or array) must contain it
  std::optional<std::string> issuer;      // when set, "iss" must equal it
  bool require_sub = true;                // Herald joins every socket to room user:<sub>
  std::string jwks_file;                  // optional RFC 7517 key set, keys selected by kid
  int jwks_reload_s = 60;  // mtime checked at most this often; 0 = every verify; <0 = never
};

// Unix time in milliseconds; injected so tests control time.
using Clock = std::function<int64_t()>;
int64_t system_clock_ms();

// Builds a key from its spec (reads the file, decodes "base64:", binds the algorithms).
Result<std::shared_ptr<const Key>> load_key(const KeySpec& spec);

// Thread-safe: verify() may run concurrently on any number of threads.
class JwtVerifier {
 public:
  // Fails with INVALID_ARGUMENT naming the offending key/algorithm/file when the configuration is
  // unusable (no keys, bad key material, unknown or "none" algorithm, unreadable JWKS, ...).
  static Result<std::unique_ptr<JwtVerifier>> create(const JwtConfig& config,
                                                     Clock clock = system_clock_ms);

  // An empty token is MISSING_TOKEN; callers pass extract_token(...).value_or("").
  TokenResult verify(std::string_view token) const;

  // Re-reads the JWKS file now. On failure the previous key set stays in use.
  Status reload_jwks();
  // Outcome of the latest JWKS load (OK when there is no JWKS file).
  Status jwks_status() const;

 private:
  JwtVerifier() = default;
  void maybe_reload_jwks(int64_t now_ms) const;
  Status load_jwks_locked() const;  // needs reload_mu_
  std::shared_ptr<const KeySet> jwks_snapshot() const;
  TokenResult check_claims(nlohmann::json claims, Algorithm alg, std::string kid,
                           int64_t now_ms) const;

  std::vector<std::shared_ptr<const Key>> keys_;
  std::vector<Algorithm> allowed_algs_;
  int64_t leeway_ms_ = 0;
  std::optional<std::string> audience_;
  std::optional<std::string> issuer_;
  bool require_sub_ = true;
  std::string jwks_file_;
  int64_t jwks_reload_ms_ = 0;
  Clock clock_;

  // JWKS state: the snapshot swaps under jwks_mu_; reloading is serialized by reload_mu_.
  mutable std::mutex jwks_mu_;
  mutable std::shared_ptr<const KeySet> jwks_;
  mutable Status jwks_status_;
  mutable std::mutex reload_mu_;
  mutable std::atomic<int64_t> next_jwks_check_ms_{0};
  mutable int64_t jwks_mtime_ns_ = -1;  // guarded by reload_mu_
  mutable int64_t jwks_size_ = -1;      // guarded by reload_mu_
};

}  // namespace herald::auth
