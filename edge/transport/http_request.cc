// Query parsing and Engine.IO endpoint routing, independent of the connection.
#include "edge/transport/http_request.h"

#include "edge/websocket/handshake.h"

namespace herald::edge {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kSelectedHeaders[] = {"origin",          "user-agent",
                                                 "cookie",          "authorization",
                                                 "x-forwarded-for", "x-forwarded-proto",
                                                 "x-real-ip",       "host",
                                                 "accept-language", "referer"};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string query_get(const std::map<std::string, std::string>& q, const std::string& key) {
  auto it = q.find(key);
  return it == q.end() ? std::string() : it->second;
}

}  // namespace

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    std::string key = url_decode(pair.substr(0, eq));
    std::string value =
        eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    out[std::move(key)] = std::move(value);
  }
  return out;
}

RequestTarget split_target(std::string_view target) {
  const std::size_t q = target.find('?');
  return {target.substr(0, q),
          q == std::string_view::npos ? std::string_view() : target.substr(q + 1)};
}

ws::HandshakeRequest websocket_handshake_request(const HttpRequest& request) {
  ws::HandshakeRequest hr;
  hr.method = request.method_string();
  hr.http_version = request.version();
  hr.upgrade = request[http::field::upgrade];
  hr.connection = request[http::field::connection];
  hr.version = request[http::field::sec_websocket_version];
  hr.key = request[http::field::sec_websocket_key];
  return hr;
}

eio::StringPairs selected_headers(const HttpRequest& request) {
  eio::StringPairs out;
  for (std::string_view name : kSelectedHeaders) {
    auto it = request.find(name);
    if (it != request.end()) out.add(name, it->value());
  }
  return out;
}

EngineRoute route_engine_request(const HttpRequest& request, std::string_view query,
                                 const EdgeConfig& config, const CorsPolicy& cors) {
  EngineRoute route;
  const std::string_view origin = request[http::field::origin];
  route.upgrade = ws::header_has_token(request[http::field::connection], "upgrade") &&
                  ws::header_has_token(request[http::field::upgrade], "websocket");
  auto fail = [&route](eio::ErrorCode code) {
    route.kind = EngineRoute::Kind::kError;
    route.error = code;
    return std::move(route);
  };
  if (cors.enabled()) {
    route.cors_headers = cors.headers(origin);
    if (!origin.empty() && !cors.allowed(origin) && cors.reject_disallowed()) {
      return fail(eio::ErrorCode::kForbidden);
    }
    if (request.method() == http::verb::options) {
      route.cors_headers =
          cors.preflight_headers(origin, request[http::field::access_control_request_headers]);
      route.kind = EngineRoute::Kind::kPreflight;
      return route;
    }
  }
  route.query = parse_query(query);
  route.transport = query_get(route.query, "transport");
  if (!((route.transport == "polling" && config.allow_polling) ||
        (route.transport == "websocket" && config.allow_websocket))) {
    return fail(eio::ErrorCode::kUnknownTransport);
  }
  route.sid = query_get(route.query, "sid");
  if (!route.sid.empty()) {
    route.kind = EngineRoute::Kind::kSession;
    return route;
  }
  if (request.method() != http::verb::get) return fail(eio::ErrorCode::kBadHandshakeMethod);
  if (route.transport == "websocket" && !route.upgrade) {  // "TRANSPORT_HANDSHAKE_ERROR"
    return fail(eio::ErrorCode::kBadRequest);
  }
  if (query_get(route.query, "EIO") != "4") {
    return fail(eio::ErrorCode::kUnsupportedProtocolVersion);
  }
  route.kind = EngineRoute::Kind::kHandshake;
  return route;
}

}  // namespace herald::edge
