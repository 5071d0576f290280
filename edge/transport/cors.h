// CORS for the Engine.IO endpoint: an origin allowlist (exact or '*' patterns), credentials and
// preflight, as the `cors` middleware engine.io uses, plus refusing disallowed origins.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "edge/edge_config.h"

namespace herald::edge {

class CorsPolicy {
 public:
  explicit CorsPolicy(const CorsConfig& config);

  // An empty allowlist disables CORS: no headers, nothing refused.
  bool enabled() const { return !config_.origins.empty(); }
  // A request without Origin (not from a browser) is always allowed.
  bool allowed(std::string_view origin) const;
  bool reject_disallowed() const { return config_.reject_disallowed; }

  // Headers (each ending "\r\n") for a response to a request from `origin`.
  std::string headers(std::string_view origin) const;
  // Headers for a preflight (OPTIONS) response; `request_headers` is the request's
  // Access-Control-Request-Headers, reflected as the cors package does.
  std::string preflight_headers(std::string_view origin, std::string_view request_headers) const;

  // '*' matches one or more characters of [A-Za-z0-9.-] (a host label run or a port); a pattern
  // that is exactly "*" matches any origin.
  static bool matches(std::string_view pattern, std::string_view origin);

 private:
  CorsConfig config_;
};

}  // namespace herald::edge
