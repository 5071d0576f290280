// The pure part of HTTP request handling: the target's path and query, the query parameters,
// the headers passed up in HandshakeInfo, and the routing of an Engine.IO endpoint request up to
// the point where a session or the server's state is needed. No sockets (fuzzed in tests/fuzz).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <map>
#include <string>
#include <string_view>

#include "edge/edge_config.h"
#include "edge/engineio/handshake.h"
#include "edge/engineio/string_pairs.h"
#include "edge/transport/cors.h"
#include "edge/websocket/handshake.h"

namespace herald::edge {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

// application/x-www-form-urlencoded decoding, as URLSearchParams does it ('+' is a space, a
// malformed escape is kept as it is).
std::string url_decode(std::string_view s);
// "a=1&b=2" → {a: 1, b: 2}; the last of repeated keys wins, like Object.fromEntries.
std::map<std::string, std::string> parse_query(std::string_view query);

struct RequestTarget {
  std::string_view path;
  std::string_view query;  // without the '?'
};
RequestTarget split_target(std::string_view target);

// The request headers kept in HandshakeInfo for the layers above (auth, proxies, diagnostics),
// by lower-case name, packed for the session's life.
eio::StringPairs selected_headers(const HttpRequest& request);

// The parts of an upgrade request the RFC 6455 handshake checks (views into `request`).
ws::HandshakeRequest websocket_handshake_request(const HttpRequest& request);

// What to do with a request to the Engine.IO endpoint, decided from the request alone.
struct EngineRoute {
  enum class Kind {
    kError,      // answer `error` (an upgrade request gets engine.io's abortUpgrade form)
    kPreflight,  // CORS preflight (OPTIONS): 204 with the preflight headers
    kSession,    // has a sid: the session (here, on another shard or another edge) handles it
    kHandshake,  // a new session over `transport` (if capacity allows)
  };
  Kind kind = Kind::kError;
  eio::ErrorCode error = eio::ErrorCode::kBadRequest;
  bool upgrade = false;      // Connection: upgrade and Upgrade: websocket
  std::string cors_headers;  // CORS headers for the response (each line ends "\r\n")
  std::map<std::string, std::string> query;
  std::string transport;  // "polling" or "websocket" (kSession, kHandshake)
  std::string sid;        // kSession
};

// CORS (refusal of disallowed origins, preflight), the transport, and for a handshake its method,
// upgrade headers and EIO version — in the order engine.io checks them.
EngineRoute route_engine_request(const HttpRequest& request, std::string_view query,
                                 const EdgeConfig& config, const CorsPolicy& cors);

}  // namespace herald::edge
