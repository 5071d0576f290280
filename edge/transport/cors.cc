// CORS allowlist matching and response headers.
#include "edge/transport/cors.h"

#include <string>

namespace herald::edge {
namespace {

bool is_wildcard_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

bool match_from(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    if (p.front() == '*') {
      p.remove_prefix(1);
      // One or more wildcard characters, then the rest of the pattern.
      for (std::size_t n = 1; n <= s.size() && is_wildcard_char(s[n - 1]); ++n) {
        if (match_from(p, s.substr(n))) return true;
      }
      return false;
    }
    if (s.empty() || s.front() != p.front()) return false;
    p.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

}  // namespace

CorsPolicy::CorsPolicy(const CorsConfig& config) : config_(config) {}

bool CorsPolicy::matches(std::string_view pattern, std::string_view origin) {
  if (pattern == "*") return true;
  return match_from(pattern, origin);
}

bool CorsPolicy::allowed(std::string_view origin) const {
  if (!enabled() || origin.empty()) return true;
  for (const std::string& pattern : config_.origins) {
    if (matches(pattern, origin)) return true;
  }
  return false;
}

std::string CorsPolicy::headers(std::string_view origin) const {
  std::string out;
  if (!enabled()) return out;
  // The response depends on Origin whatever the verdict: caches must key on it.
  out += "Vary: Origin\r\n";
  if (origin.empty() || !allowed(origin)) return out;
  out += "Access-Control-Allow-Origin: ";
  out += origin;
  out += "\r\n";
  if (config_.credentials) out += "Access-Control-Allow-Credentials: true\r\n";
  return out;
}

std::string CorsPolicy::preflight_headers(std::string_view origin,
                                          std::string_view request_headers) const {
  std::string out = headers(origin);
  if (!enabled() || origin.empty() || !allowed(origin)) return out;
  out += "Access-Control-Allow-Methods: GET,POST\r\n";
  if (!request_headers.empty()) {
    out += "Access-Control-Allow-Headers: ";
    out += request_headers;
    out += "\r\nVary: Access-Control-Request-Headers\r\n";
  }
  out += "Access-Control-Max-Age: " + std::to_string(config_.max_age_s) + "\r\n";
  return out;
}

}  // namespace herald::edge
