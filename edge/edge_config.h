// The edge's configuration section (edge.*): listener, Engine.IO options, CORS and limits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config_reader.h"

namespace herald::edge {

struct CorsConfig {
  // Allowed origins: exact ("https://app.example.com") or patterns with '*'
  // ("https://*.example.com"). Empty list: CORS disabled (no headers, nothing refused).
  std::vector<std::string> origins;
  bool credentials = false;       // Access-Control-Allow-Credentials: true
  bool reject_disallowed = true;  // a request from an origin not on the list gets 403
  uint32_t max_age_s = 600;       // preflight cache
};

// edge.tls: HTTPS polling and wss for clients (docs/tls.md).
struct EdgeTlsConfig {
  std::string mode = "off";  // off | on (TLS only) | detect (TLS and plain on the same port)
  std::string cert_file;     // PEM chain; re-read when it changes (checked every 10 s)
  std::string key_file;
};

struct EdgeConfig {
  std::string listen = "127.0.0.1:3000";  // host:port; port 0 picks a free port
  std::string path = "/socket.io/";       // Engine.IO endpoint path (trailing slash kept)
  uint32_t shards = 0;                    // io_context threads; 0 = one per core
  uint32_t ping_interval_ms = 25000;
  uint32_t ping_timeout_ms = 20000;
  uint32_t max_payload = 1000000;  // Engine.IO maxPayload (bytes per HTTP body / ws message)
  uint32_t upgrade_timeout_ms = 10000;
  uint32_t connect_timeout_ms = 45000;  // Socket.IO: an Engine.IO session with no namespace
  uint32_t max_connections = 100000;    // Engine.IO sessions per edge; past it HTTP 503
  uint32_t max_namespaces_per_connection = 32;
  uint32_t max_rooms_per_socket = 1000;
  uint32_t max_attachments = 32;                    // binary attachments per Socket.IO packet
  uint32_t outbound_queue_bytes = 4 * 1024 * 1024;  // per session; past it: disconnect
  uint32_t max_http_header_bytes = 16384;
  uint32_t ack_timeout_ms = 10000;  // default for server→client emits with ack
  bool allow_polling = true;
  bool allow_websocket = true;
  CorsConfig cors;
  std::string static_path = "";  // e.g. "/demo/"; "" disables static files
  std::string static_dir = "";
  // Cluster mode: EdgeLink addresses ("host:port") of brokers to keep a stream to. Brokers are
  // also discovered from their heartbeats on the bus, so this may be empty.
  std::vector<std::string> brokers;
  EdgeTlsConfig tls;
};

void read_edge_config(config::ConfigReader& reader, EdgeConfig* out);

}  // namespace herald::edge
