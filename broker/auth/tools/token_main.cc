// herald-token: mints a signed JWT for development and tests.
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "broker/auth/jwt_signer.h"
#include "broker/auth/jwt_verifier.h"

namespace {

constexpr char kUsage[] =
    "usage: herald-token (--secret S | --key private.pem) --sub SUBJECT [--exp SECONDS (3600; 0 = "
    "none)]\n"
    "                    [--alg ALG] [--kid K] [--iss I] [--aud A] [--claim k=v ...]\n"
    "  --secret S   HMAC secret (raw, or base64:<b64>); default alg HS256\n"
    "  --key FILE   PEM private key (RSA → RS256, EC → ES256/384/512, Ed25519 → EdDSA)\n"
    "  --claim k=v  v is parsed as JSON when it is valid JSON, else taken as a string\n";

int fail(const std::string& message) {
  std::fprintf(stderr, "herald-token: %s\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using herald::auth::Algorithm;
  herald::auth::KeySpec spec;
  std::string alg_name;
  std::string kid;
  long long exp_s = 3600;
  nlohmann::json claims = nlohmann::json::object();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) return fail("missing value for " + arg);
    std::string value = argv[++i];
    if (arg == "--secret") {
      spec.type = herald::auth::KeySpec::Type::kSecret;
      spec.value = value;
    } else if (arg == "--key") {
      spec.type = herald::auth::KeySpec::Type::kPem;
      spec.file = value;
    } else if (arg == "--sub") {
      claims["sub"] = value;
    } else if (arg == "--exp") {
      char* end = nullptr;
      exp_s = std::strtoll(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || exp_s < 0) return fail("bad --exp");
    } else if (arg == "--alg") {
      alg_name = value;
    } else if (arg == "--kid") {
      kid = value;
    } else if (arg == "--iss") {
      claims["iss"] = value;
    } else if (arg == "--aud") {
      claims["aud"] = value;
    } else if (arg == "--claim") {
      auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0) return fail("--claim wants k=v");
      auto parsed = nlohmann::json::parse(value.substr(eq + 1), nullptr, false);
      claims[value.substr(0, eq)] =
          parsed.is_discarded() ? nlohmann::json(value.substr(eq + 1)) : parsed;
    } else {
      return fail("unknown option " + arg);
    }
  }
  if (spec.value.empty() && spec.file.empty()) return fail("one of --secret or --key is required");
  if (!claims.contains("sub")) return fail("--sub is required");

  auto key = herald::auth::load_key(spec);
  if (!key.ok()) return fail(key.status().message());
  Algorithm alg = (*key)->algorithms().front();
  if (!alg_name.empty()) {
    auto parsed = herald::auth::parse_algorithm(alg_name);
    if (!parsed) return fail("unsupported --alg " + alg_name);
    alg = *parsed;
  }
  long long now_s = herald::auth::system_clock_ms() / 1000;
  claims["iat"] = now_s;
  if (exp_s > 0) claims["exp"] = now_s + exp_s;

  auto token = herald::auth::sign(claims, alg, **key, kid);
  if (!token.ok()) return fail(token.status().message());
  std::printf("%s\n", token->c_str());
  return 0;
}
