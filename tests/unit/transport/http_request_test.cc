// Unit tests of the socket-free HTTP request handling: query parsing and Engine.IO endpoint
// routing (CORS, preflight, transports, handshake checks).
#include "edge/transport/http_request.h"

#include <gtest/gtest.h>

namespace herald::edge {
namespace {

namespace http = boost::beast::http;

HttpRequest request(http::verb method, std::string_view target) {
  HttpRequest req{method, target, 11};
  req.set(http::field::host, "localhost");
  return req;
}

TEST(HttpRequest, QueryDecodingLikeUrlSearchParams) {
  EXPECT_EQ(url_decode("a+b%20c%2"), "a b c%2");
  EXPECT_EQ(url_decode("%zz%4A"), "%zzJ");
  const auto q = parse_query("EIO=4&transport=polling&&x&k=1&k=2&%41=%42");
  EXPECT_EQ(q.at("EIO"), "4");
  EXPECT_EQ(q.at("transport"), "polling");
  EXPECT_EQ(q.at("x"), "");
  EXPECT_EQ(q.at("k"), "2");  // the last one wins
  EXPECT_EQ(q.at("A"), "B");
  EXPECT_EQ(q.size(), 5u);
}

TEST(HttpRequest, SplitTarget) {
  auto t = split_target("/socket.io/?EIO=4");
  EXPECT_EQ(t.path, "/socket.io/");
  EXPECT_EQ(t.query, "EIO=4");
  t = split_target("/demo/a.js");
  EXPECT_EQ(t.path, "/demo/a.js");
  EXPECT_EQ(t.query, "");
}

TEST(HttpRequest, SelectedHeadersOnly) {
  auto req = request(http::verb::get, "/");
  req.set(http::field::user_agent, "ua");
  req.set(http::field::authorization, "Bearer t");
  req.set("X-Secret", "no");
  const auto headers = selected_headers(req);
  EXPECT_EQ(headers.size(), 3u);  // host, user-agent, authorization
  EXPECT_EQ(headers.find("authorization"), "Bearer t");
  EXPECT_FALSE(headers.find("x-secret").has_value());
}

TEST(HttpRequest, RoutesHandshakesSessionsAndErrors) {
  EdgeConfig cfg;
  const CorsPolicy cors(cfg.cors);
  auto route =
      route_engine_request(request(http::verb::get, "/"), "EIO=4&transport=polling", cfg, cors);
  EXPECT_EQ(route.kind, EngineRoute::Kind::kHandshake);
  EXPECT_EQ(route.transport, "polling");
  EXPECT_FALSE(route.upgrade);

  route = route_engine_request(request(http::verb::post, "/"), "EIO=4&transport=polling&sid=abc",
                               cfg, cors);
  EXPECT_EQ(route.kind, EngineRoute::Kind::kSession);
  EXPECT_EQ(route.sid, "abc");

  auto expect_error = [&](http::verb method, std::string_view query, eio::ErrorCode code) {
    const auto r = route_engine_request(request(method, "/"), query, cfg, cors);
    EXPECT_EQ(r.kind, EngineRoute::Kind::kError) << query;
    EXPECT_EQ(r.error, code) << query;
  };
  expect_error(http::verb::get, "EIO=4&transport=flash", eio::ErrorCode::kUnknownTransport);
  expect_error(http::verb::post, "EIO=4&transport=polling", eio::ErrorCode::kBadHandshakeMethod);
  expect_error(http::verb::get, "EIO=3&transport=polling",
               eio::ErrorCode::kUnsupportedProtocolVersion);
  // A websocket handshake without the upgrade headers.
  expect_error(http::verb::get, "EIO=4&transport=websocket", eio::ErrorCode::kBadRequest);

  auto upgrade = request(http::verb::get, "/");
  upgrade.set(http::field::connection, "keep-alive, Upgrade");
  upgrade.set(http::field::upgrade, "websocket");
  route = route_engine_request(upgrade, "EIO=4&transport=websocket", cfg, cors);
  EXPECT_EQ(route.kind, EngineRoute::Kind::kHandshake);
  EXPECT_TRUE(route.upgrade);

  cfg.allow_websocket = false;
  route = route_engine_request(upgrade, "EIO=4&transport=websocket", cfg, cors);
  EXPECT_EQ(route.kind, EngineRoute::Kind::kError);
  EXPECT_EQ(route.error, eio::ErrorCode::kUnknownTransport);
  EXPECT_TRUE(route.upgrade);  // answered in abortUpgrade's form
}

TEST(HttpRequest, CorsRefusalAndPreflight) {
  EdgeConfig cfg;
  cfg.cors.origins = {"https://*.example.com"};
  const CorsPolicy cors(cfg.cors);
  auto req = request(http::verb::get, "/");
  req.set(http::field::origin, "https://evil.test");
  auto route = route_engine_request(req, "EIO=4&transport=polling", cfg, cors);
  EXPECT_EQ(route.kind, EngineRoute::Kind::kError);
  EXPECT_EQ(route.error, eio::ErrorCode::kForbidden);
  EXPECT_EQ(route.cors_headers, "Vary: Origin\r\n");

  auto preflight = request(http::verb::options, "/");
  preflight.set(http::field::origin, "https://a.example.com");
  preflight.set(http::field::access_control_request_headers, "content-type");
  route = route_engine_request(preflight, "", cfg, cors);  // no transport needed
  EXPECT_EQ(route.kind, EngineRoute::Kind::kPreflight);
  EXPECT_NE(route.cors_headers.find("Access-Control-Allow-Origin: https://a.example.com\r\n"),
            std::string::npos);
  EXPECT_NE(route.cors_headers.find("Access-Control-Allow-Headers: content-type\r\n"),
            std::string::npos);
}

}  // namespace
}  // namespace herald::edge
