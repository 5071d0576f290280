// JWT verification: structure, algorithm/key binding, signature, then claims.
#include "broker/auth/jwt_verifier.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/auth/base64url.h"

namespace herald::auth {
namespace {

constexpr std::string_view kBase64Prefix = "base64:";
// Year 9999: a NumericDate beyond this is nonsense and would overflow millisecond arithmetic.
constexpr int64_t kMaxNumericDate = 253402300799;

TokenResult invalid(std::string reason) {
  return {TokenError::kInvalidToken, std::move(reason)};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return invalid_argument("cannot read " + path);
  return buf.str();
}

// RFC 7519 §2 NumericDate in whole milliseconds, or nullopt when malformed or out of range.
std::optional<int64_t> numeric_date_ms(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    auto s = v.get<uint64_t>();
    if (s > static_cast<uint64_t>(kMaxNumericDate)) return std::nullopt;
    return static_cast<int64_t>(s) * 1000;
  }
  if (v.is_number_integer()) {
    auto s = v.get<int64_t>();
    if (s < 0 || s > kMaxNumericDate) return std::nullopt;
    return s * 1000;
  }
  if (v.is_number_float()) {
    double s = v.get<double>();
    if (!std::isfinite(s) || s < 0 || s > static_cast<double>(kMaxNumericDate)) {
      return std::nullopt;
    }
    return static_cast<int64_t>(std::floor(s * 1000.0));
  }
  return std::nullopt;
}

struct FileIdentity {
  int64_t mtime_ns = -1;
  int64_t size = -1;
};

std::optional<FileIdentity> file_identity(const std::string& path) {
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  return FileIdentity{
      std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count(),
      static_cast<int64_t>(size)};
}

}  // namespace

std::string_view token_error_code(TokenError error) {
  switch (error) {
    case TokenError::kMissingToken:
      return "MISSING_TOKEN";
    case TokenError::kExpiredToken:
      return "EXPIRED_TOKEN";
    case TokenError::kInvalidToken:
      return "INVALID_TOKEN";
  }
  return "INVALID_TOKEN";
}

Status TokenResult::status() const {
  if (ok()) return Status::ok_status();
  return {StatusCode::kUnauthenticated, std::string(code()) + ": " + reason()};
}

int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::shared_ptr<const Key>> load_key(const KeySpec& spec) {
  std::string label = spec.kid ? "key \"" + *spec.kid + "\"" : std::string("key without kid");
  if (spec.value.empty() == spec.file.empty()) {
    return invalid_argument(label + ": exactly one of value and file must be set");
  }
  std::vector<Algorithm> algs;
  for (const auto& name : spec.algs) {
    auto alg = parse_algorithm(name);
    if (!alg) return invalid_argument(label + ": unsupported algorithm \"" + name + "\"");
    algs.push_back(*alg);
  }
  std::string material = spec.value;
  if (!spec.file.empty()) {
    auto contents = read_file(spec.file);
    if (!contents.ok()) return invalid_argument(label + ": " + contents.status().message());
    material = std::move(contents).value();
  }
  std::string kid = spec.kid.value_or("");
  Result<std::shared_ptr<const Key>> key = invalid_argument("unreachable");
  if (spec.type == KeySpec::Type::kSecret) {
    if (!spec.file.empty()) {
      while (!material.empty() && (material.back() == '\n' || material.back() == '\r')) {
        material.pop_back();
      }
    }
    if (std::string_view(material).substr(0, kBase64Prefix.size()) == kBase64Prefix) {
      auto decoded = base64_decode_lenient(std::string_view(material).substr(kBase64Prefix.size()));
      if (!decoded) return invalid_argument(label + ": secret after \"base64:\" is not base64");
      material = std::move(*decoded);
    }
    key = Key::from_secret(std::move(material), std::move(kid), std::move(algs));
  } else {
    key = Key::from_pem(material, std::move(kid), std::move(algs));
  }
  if (!key.ok()) return invalid_argument(label + ": " + key.status().message());
  return key;
}

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::create(const JwtConfig& config, Clock clock) {
  std::unique_ptr<JwtVerifier> v(new JwtVerifier());
  for (const auto& name : config.allowed_algs) {
    auto alg = parse_algorithm(name);
    if (!alg) {
      return invalid_argument("allowed_algs: unsupported algorithm \"" + name +
                              "\" (\"none\" is never accepted)");
    }
    v->allowed_algs_.push_back(*alg);
  }
  for (const auto& spec : config.keys) {
    auto key = load_key(spec);
    if (!key.ok()) return key.status();
    v->keys_.push_back(std::move(key).value());
  }
  if (config.leeway_s < 0) return invalid_argument("leeway_s must not be negative");
  if (config.audience && config.audience->empty()) {
    return invalid_argument("audience, when set, must not be empty");
  }
  if (config.issuer && config.issuer->empty()) {
    return invalid_argument("issuer, when set, must not be empty");
  }
  v->leeway_ms_ = static_cast<int64_t>(config.leeway_s) * 1000;
  v->audience_ = config.audience;
  v->issuer_ = config.issuer;
  v->require_sub_ = config.require_sub;
  v->jwks_file_ = config.jwks_file;
  v->jwks_reload_ms_ = static_cast<int64_t>(config.jwks_reload_s) * 1000;
  v->clock_ = clock ? std::move(clock) : Clock(system_clock_ms);
  if (!v->jwks_file_.empty()) {
    std::lock_guard lock(v->reload_mu_);
    Status s = v->load_jwks_locked();
    if (!s.ok()) return invalid_argument("jwks_file: " + s.message());
    v->next_jwks_check_ms_ = v->clock_() + v->jwks_reload_ms_;
  } else if (v->keys_.empty()) {
    return invalid_argument("no keys configured (set keys or jwks_file)");
  }
  // Every allowed algorithm should be usable by some static key, or the JWKS may supply it later.
  if (v->jwks_file_.empty()) {
    for (Algorithm alg : v->allowed_algs_) {
      bool usable = std::any_of(v->keys_.begin(), v->keys_.end(),
                                [alg](const auto& key) { return key->allows(alg); });
      if (!usable) {
        return invalid_argument("allowed_algs: no configured key can verify " +
                                std::string(algorithm_name(alg)));
      }
    }
  }
  return v;
}

Status JwtVerifier::load_jwks_locked() const {
  auto id = file_identity(jwks_file_);
  auto contents = read_file(jwks_file_);
  Status status;
  if (!contents.ok()) {
    status = contents.status();
  } else {
    auto set = parse_jwks(*contents);
    if (set.ok()) {
      std::lock_guard lock(jwks_mu_);
      jwks_ = std::move(set).value();
    } else {
      status = invalid_argument(jwks_file_ + ": " + set.status().message());
    }
  }
  // Remember the identity even on failure, so a broken file is parsed once, not on every check.
  jwks_mtime_ns_ = id ? id->mtime_ns : -1;
  jwks_size_ = id ? id->size : -1;
  std::lock_guard lock(jwks_mu_);
  jwks_status_ = status;
  return status;
}

Status JwtVerifier::reload_jwks() {
  if (jwks_file_.empty()) return Status::ok_status();
  std::lock_guard lock(reload_mu_);
  return load_jwks_locked();
}

Status JwtVerifier::jwks_status() const {
  std::lock_guard lock(jwks_mu_);
  return jwks_status_;
}

std::shared_ptr<const KeySet> JwtVerifier::jwks_snapshot() const {
  std::lock_guard lock(jwks_mu_);
  return jwks_;
}

void JwtVerifier::maybe_reload_jwks(int64_t now_ms) const {
  if (jwks_file_.empty() || jwks_reload_ms_ < 0) return;
  if (now_ms < next_jwks_check_ms_.load(std::memory_order_relaxed)) return;
  // One thread checks; the others keep verifying with the current snapshot.
  std::unique_lock lock(reload_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  next_jwks_check_ms_.store(now_ms + jwks_reload_ms_, std::memory_order_relaxed);
  auto id = file_identity(jwks_file_);
  if (id && id->mtime_ns == jwks_mtime_ns_ && id->size == jwks_size_) return;
  if (!id && jwks_mtime_ns_ == -1) return;  // still missing: nothing new to report
  (void)load_jwks_locked();
}

TokenResult JwtVerifier::verify(std::string_view token) const {
  if (token.empty()) return {TokenError::kMissingToken, "no token"};
  if (token.size() > kMaxTokenBytes) return invalid("token too large");

  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return invalid("malformed token: expected three dot-separated segments");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);

  auto header_json = base64url_decode(header_b64);
  if (!header_json) return invalid("malformed token: header is not base64url");
  nlohmann::json header = nlohmann::json::parse(*header_json, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return invalid("malformed token: header is not a JSON object");
  }
  auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) {
    return invalid("malformed token: header has no alg");
  }
  const std::string& alg_name = alg_it->get_ref<const std::string&>();
  auto alg = parse_algorithm(alg_name);
  if (!alg) {
    return invalid(alg_name == "none" || alg_name == "None" || alg_name == "NONE"
                       ? "unsigned tokens are not accepted"
                       : "unsupported algorithm");
  }
  if (!allowed_algs_.empty() &&
      std::find(allowed_algs_.begin(), allowed_algs_.end(), *alg) == allowed_algs_.end()) {
    return invalid("algorithm " + alg_name + " is not allowed");
  }
  // No extension is understood, so a critical one can never be honoured (RFC 7515 §4.1.11).
  if (header.contains("crit")) return invalid("unsupported critical header parameter");
  std::string kid;
  if (auto it = header.find("kid"); it != header.end()) {
    if (!it->is_string()) return invalid("malformed token: kid is not a string");
    kid = it->get<std::string>();
  }

  auto payload_json = base64url_decode(payload_b64);
  if (!payload_json) return invalid("malformed token: payload is not base64url");
  auto signature = base64url_decode(signature_b64);
  if (!signature) return invalid("malformed token: signature is not base64url");
  if (signature->empty()) return invalid("token has no signature");

  int64_t now_ms = clock_();
  maybe_reload_jwks(now_ms);
  std::shared_ptr<const KeySet> jwks = jwks_snapshot();

  // Candidate keys: with a kid, the keys of that kid or, failing that, the keys without one;
  // without a kid, every key. The algorithm binding below still applies to each candidate.
  // Embedded keys (jwk, jku, x5c header members) are never used.
  std::vector<const Key*> named;
  std::vector<const Key*> anonymous;
  auto consider = [&](const std::shared_ptr<const Key>& key) {
    if (!kid.empty() && key->kid() == kid) named.push_back(key.get());
    if (kid.empty() || key->kid().empty()) anonymous.push_back(key.get());
  };
  for (const auto& key : keys_) consider(key);
  if (jwks) {
    for (const auto& key : jwks->keys) consider(key);
  }
  const std::vector<const Key*>& candidates = named.empty() ? anonymous : named;
  if (candidates.empty()) {
    return invalid(kid.empty() ? "no key configured" : "unknown kid");
  }
  const Key* verified_by = nullptr;
  bool any_allows = false;
  std::string_view signing_input = token.substr(0, dot2);
  for (const Key* key : candidates) {
    if (!key->allows(*alg)) continue;
    any_allows = true;
    if (key->verify(*alg, signing_input, *signature)) {
      verified_by = key;
      break;
    }
  }
  if (!any_allows) return invalid("algorithm " + alg_name + " is not allowed for the key");
  if (verified_by == nullptr) return invalid("invalid signature");
  if (kid.empty()) kid = verified_by->kid();

  nlohmann::json claims = nlohmann::json::parse(*payload_json, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) {
    return invalid("malformed token: payload is not a JSON object");
  }
  return check_claims(std::move(claims), *alg, std::move(kid), now_ms);
}

TokenResult JwtVerifier::check_claims(nlohmann::json claims, Algorithm alg, std::string kid,
                                      int64_t now_ms) const {
  std::optional<int64_t> exp_ms, nbf_ms, iat_ms;
  struct DateClaim {
    const char* name;
    std::optional<int64_t>* out;
  };
  for (DateClaim c :
       {DateClaim{"exp", &exp_ms}, DateClaim{"nbf", &nbf_ms}, DateClaim{"iat", &iat_ms}}) {
    auto it = claims.find(c.name);
    if (it == claims.end()) continue;
    *c.out = numeric_date_ms(*it);
    if (!*c.out) return invalid(std::string("malformed ") + c.name + " claim");
  }

  if (issuer_) {
    auto it = claims.find("iss");
    if (it == claims.end() || !it->is_string() || *it != *issuer_)
      return invalid("issuer mismatch");
  }
  if (audience_) {
    auto it = claims.find("aud");
    bool match = false;
    if (it != claims.end() && it->is_string()) {
      match = *it == *audience_;
    } else if (it != claims.end() && it->is_array()) {
      match = std::any_of(it->begin(), it->end(),
                          [this](const auto& a) { return a.is_string() && a == *audience_; });
    }
    if (!match) return invalid("audience mismatch");
  }
  std::string subject;
  if (auto it = claims.find("sub"); it != claims.end()) {
    if (!it->is_string()) return invalid("malformed sub claim");
    subject = it->get<std::string>();
  }
  if (require_sub_ && subject.empty()) return invalid("token has no subject");

  // exp: valid while now < exp + leeway (RFC 7519 §4.1.4).
  if (exp_ms && now_ms >= *exp_ms + leeway_ms_) return {TokenError::kExpiredToken, "token expired"};
  // nbf: valid once now + leeway >= nbf. Reported as INVALID_TOKEN: refreshing will not help.
  if (nbf_ms && now_ms + leeway_ms_ < *nbf_ms) return invalid("token not yet valid");
  if (iat_ms && *iat_ms > now_ms + leeway_ms_) return invalid("token issued in the future");

  VerifiedToken out;
  out.subject = std::move(subject);
  out.claims = std::move(claims);
  out.expires_at_ms = exp_ms.value_or(0);
  out.alg = std::string(algorithm_name(alg));
  out.kid = std::move(kid);
  return out;
}

}  // namespace herald::auth
