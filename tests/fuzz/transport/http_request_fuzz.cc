// Fuzzes the edge's HTTP request handling without sockets. The input is the byte stream a client
// sends on one connection; each request is parsed with Beast as HttpConnection sets the parser up
// (header limit, then the body limit for a polling POST), then routed like dispatch() does:
// route_engine_request for the Engine.IO endpoint (CORS, preflight, transport, handshake checks),
// the websocket upgrade check and 101/refusal, the polling POST payload decode, the handshake's
// selected headers, or static files for other paths. The configuration (CORS on/off, transports,
// endpoint path) is picked by the input's length.
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "edge/engineio/handshake.h"
#include "edge/engineio/packet.h"
#include "edge/transport/cors.h"
#include "edge/transport/http_request.h"
#include "edge/transport/static_files.h"
#include "edge/websocket/handshake.h"

namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using herald::edge::EngineRoute;

struct Setup {
  herald::edge::EdgeConfig config;
  herald::edge::CorsPolicy cors;
  herald::edge::StaticFiles statics;
};

struct Fixture {
  std::string root;                 // the static directory
  std::vector<std::string> served;  // every file body the static directory may serve
  std::vector<Setup> setups;

  Fixture() {
    char dir[] = "/tmp/herald-http-fuzz.XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    root = dir;
    write("index.html", "<!doctype html><title>demo</title>");
    write("app.js", "console.log('demo');");
    fs::create_directories(root + "/sub/deeper");
    write("sub/data.json", "{\"a\":1}");
    write("sub/deeper/index.html", "<p>deeper</p>");
    // Links out of the directory must never be followed.
    std::error_code ec;
    fs::create_symlink("/etc/hostname", root + "/escape.txt", ec);
    fs::create_directory_symlink("/etc", root + "/etc", ec);
    fs::create_symlink("app.js", root + "/inside.js", ec);  // stays inside: allowed

    herald::edge::EdgeConfig a;  // CORS allowlist with patterns, static files under /demo/
    a.cors.origins = {"https://*.example.com", "http://localhost:*", "https://app.test"};
    a.cors.credentials = true;
    a.static_path = "/demo/";
    herald::edge::EdgeConfig b;  // no CORS, polling only, static files at the root
    b.allow_websocket = false;
    b.static_path = "/";
    b.max_payload = 1024;
    herald::edge::EdgeConfig c;  // any origin, not refusing, websocket only, another path
    c.cors.origins = {"*"};
    c.cors.reject_disallowed = false;
    c.allow_polling = false;
    c.path = "/engine.io/";
    c.max_http_header_bytes = 1024;
    for (herald::edge::EdgeConfig* cfg : {&a, &b, &c}) {
      setups.push_back(Setup{*cfg, herald::edge::CorsPolicy(cfg->cors),
                             herald::edge::StaticFiles(cfg->static_path, root)});
    }
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  void write(const std::string& name, const std::string& body) {
    std::ofstream(root + "/" + name, std::ios::binary) << body;
    served.push_back(body);
  }
};

// Header lines the edge writes: "Name: value\r\n", no CR or LF inside (no response splitting).
void check_header_lines(std::string_view headers) {
  while (!headers.empty()) {
    const size_t end = headers.find("\r\n");
    if (end == std::string_view::npos) std::abort();
    const std::string_view line = headers.substr(0, end);
    if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos ||
        line.find(": ") == std::string_view::npos) {
      std::abort();
    }
    headers.remove_prefix(end + 2);
  }
}

void check_static(const Fixture& fixture, const Setup& setup, std::string_view path) {
  if (!setup.statics.enabled()) return;  // HttpConnection::handle_other answers 404 itself
  const auto response = setup.statics.serve(path);
  if (!response) {
    if (path.substr(0, setup.config.static_path.size()) == setup.config.static_path) std::abort();
    return;
  }
  if (response->status == 200) {
    bool known = false;
    for (const std::string& body : fixture.served) known = known || body == response->body;
    if (!known) std::abort();  // served something that is not one of our files
  } else if (response->status != 400 && response->status != 404) {
    std::abort();
  }
}

// One request whose header is complete. Returns whether the connection goes on to the next one.
bool handle(const Fixture& fixture, const Setup& setup, http::request_parser<http::string_body>& p,
            std::string_view& rest) {
  const auto& req = p.get();
  const std::string_view target = req.target();
  const herald::edge::RequestTarget parts = herald::edge::split_target(target);
  // path + '?' + query give the target back.
  if (target.find('?') == std::string_view::npos) {
    if (parts.path != target || !parts.query.empty()) std::abort();
  } else if (std::string(parts.path) + "?" + std::string(parts.query) != target) {
    std::abort();
  }
  const bool body_pending = !p.is_done();
  const std::string& engine_path = setup.config.path;
  if (target.substr(0, engine_path.size()) != engine_path) {
    const std::string_view method = req.method_string();
    if (method == "GET" || method == "HEAD") check_static(fixture, setup, parts.path);
    return !body_pending && req.keep_alive();
  }

  EngineRoute route =
      herald::edge::route_engine_request(req, parts.query, setup.config, setup.cors);
  check_header_lines(route.cors_headers);
  switch (route.kind) {
    case EngineRoute::Kind::kError: {
      const std::string body = herald::eio::error_body(route.error);
      const int status = herald::eio::error_http_status(route.error);
      if (body.empty() || (status != 400 && status != 403)) std::abort();
      return !body_pending && !route.upgrade && req.keep_alive();
    }
    case EngineRoute::Kind::kPreflight:
      if (req.method() != http::verb::options || !setup.cors.enabled()) std::abort();
      return !body_pending && req.keep_alive();
    case EngineRoute::Kind::kSession:
    case EngineRoute::Kind::kHandshake:
      break;
  }
  if (route.transport != "polling" && route.transport != "websocket") std::abort();
  if ((route.transport == "polling" && !setup.config.allow_polling) ||
      (route.transport == "websocket" && !setup.config.allow_websocket)) {
    std::abort();
  }
  if (route.kind == EngineRoute::Kind::kHandshake) {
    if (req.method() != http::verb::get || route.query["EIO"] != "4" || !route.sid.empty()) {
      std::abort();
    }
    const auto headers = herald::edge::selected_headers(req);
    for (const auto& [name, value] : headers) {
      if (req[name] != value) std::abort();
    }
    herald::eio::Handshake hs;
    hs.sid = herald::make_id("Ab-_", 0).str();
    if (herald::eio::handshake_json(hs).empty()) std::abort();
  } else {
    if (route.sid.empty()) std::abort();
    (void)herald::parse_id(route.sid);
  }
  if (route.upgrade) {
    // HttpConnection::handle_upgrade: the RFC 6455 checks, then the 101 or a refusal.
    const herald::ws::HandshakeRequest hr = herald::edge::websocket_handshake_request(req);
    auto accept = herald::ws::check_handshake(hr);
    if (accept.ok()) {
      if (*accept != herald::ws::compute_accept_key(hr.key)) std::abort();
      const std::string response = herald::ws::make_accept_response(*accept, route.cors_headers);
      if (response.compare(0, 12, "HTTP/1.1 101") != 0) std::abort();
    } else if (herald::ws::make_rejection_response(accept.status()).empty()) {
      std::abort();
    }
    return false;  // the connection becomes a websocket (or is closed)
  }
  if (route.kind == EngineRoute::Kind::kSession && req.method() == http::verb::post &&
      req[http::field::content_type] != "application/octet-stream") {
    // HttpConnection::handle_post: 413 past max_payload, else read the body and decode it.
    const auto length = p.content_length();
    if (length && *length > setup.config.max_payload) return false;
    p.body_limit(setup.config.max_payload);
    p.eager(true);
    boost::beast::error_code ec;
    while (!p.is_done() && !rest.empty()) {
      const size_t used = p.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec == http::error::need_more && used == 0) return false;  // body still on its way
      if (ec && ec != http::error::need_more) return false;         // 413 or broken body
    }
    if (!p.is_done()) return false;
    herald::eio::PayloadLimits limits;
    limits.max_bytes = setup.config.max_payload;
    limits.max_packets = 100000;
    auto packets = herald::eio::decode_payload(p.get().body(), limits);
    if (packets.ok()) {
      std::string again;
      herald::eio::append_payload(*packets, again);
      if (again != p.get().body()) std::abort();
    }
    return req.keep_alive();
  }
  return !body_pending && req.keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture;
  const Setup& setup = fixture.setups[size % fixture.setups.size()];
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // Requests on one keep-alive connection, as HttpConnection reads them.
  for (int n = 0; n < 16 && !rest.empty(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(setup.config.max_http_header_bytes);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::beast::error_code ec;
    const size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec == http::error::need_more) return 0;  // an incomplete header: the client waits
    if (ec) return 0;                            // 400 or 431, connection closed
    if (!parser.is_header_done()) std::abort();
    rest.remove_prefix(used);
    if (!handle(fixture, setup, parser, rest)) return 0;
  }
  return 0;
}
