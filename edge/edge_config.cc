// Reading edge.* from the configuration.
#include "edge/edge_config.h"

namespace herald::edge {

void read_edge_config(config::ConfigReader& r, EdgeConfig* out) {
  r.read("edge.listen", &out->listen);
  r.read("edge.path", &out->path);
  if (out->path.empty() || out->path.front() != '/') {
    r.add_error("edge.path: must start with '/'");
  } else if (out->path.back() != '/') {
    out->path.push_back('/');
  }
  r.read("edge.shards", &out->shards, 0, 64);
  r.read("edge.ping_interval_ms", &out->ping_interval_ms, 100, 3600000);
  r.read("edge.ping_timeout_ms", &out->ping_timeout_ms, 100, 3600000);
  r.read("edge.max_payload", &out->max_payload, 1024, 256u * 1024 * 1024);
  r.read("edge.upgrade_timeout_ms", &out->upgrade_timeout_ms, 100, 600000);
  r.read("edge.connect_timeout_ms", &out->connect_timeout_ms, 100, 3600000);
  r.read("edge.max_connections", &out->max_connections, 1, 10000000);
  r.read("edge.max_namespaces_per_connection", &out->max_namespaces_per_connection, 1, 10000);
  r.read("edge.max_rooms_per_socket", &out->max_rooms_per_socket, 1, 1000000);
  r.read("edge.max_attachments", &out->max_attachments, 0, 10000);
  r.read("edge.outbound_queue_bytes", &out->outbound_queue_bytes, 4096, 1u << 30);
  r.read("edge.max_http_header_bytes", &out->max_http_header_bytes, 1024, 1u << 20);
  r.read("edge.ack_timeout_ms", &out->ack_timeout_ms, 1, 3600000);
  r.read("edge.allow_polling", &out->allow_polling);
  r.read("edge.allow_websocket", &out->allow_websocket);
  if (!out->allow_polling && !out->allow_websocket) {
    r.add_error(
        "edge.allow_polling / edge.allow_websocket: at least one transport must be allowed");
  }
  r.read("edge.cors.origins", &out->cors.origins);
  r.read("edge.cors.credentials", &out->cors.credentials);
  r.read("edge.cors.reject_disallowed", &out->cors.reject_disallowed);
  r.read("edge.cors.max_age_s", &out->cors.max_age_s, 0, 86400);
  r.read("edge.static_path", &out->static_path);
  r.read("edge.static_dir", &out->static_dir);
  r.read("edge.brokers", &out->brokers);
  r.read_enum("edge.tls.mode", &out->tls.mode, {"off", "on", "detect"});
  r.read("edge.tls.cert_file", &out->tls.cert_file);
  r.read("edge.tls.key_file", &out->tls.key_file);
  if (out->tls.mode != "off" && (out->tls.cert_file.empty() || out->tls.key_file.empty())) {
    r.add_error("edge.tls: mode " + out->tls.mode + " needs cert_file and key_file");
  }
}

}  // namespace herald::edge
