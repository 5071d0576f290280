// Reading the common configuration sections.
#include "common/config/common_config.h"

#include <unistd.h>

#include <charconv>

#include "common/log/log.h"

namespace herald::config {

namespace {

std::string default_node_id() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string id = host[0] ? host : "herald";
  id += "-";
  id += std::to_string(getpid());
  return id;
}

}  // namespace

void read_common_config(ConfigReader& reader, CommonConfig* out) {
  reader.read("node.id", &out->node.id);
  if (out->node.id.empty()) out->node.id = default_node_id();
  reader.read("node.cluster_prefix", &out->node.cluster_prefix);
  if (out->node.cluster_prefix.empty() ||
      out->node.cluster_prefix.find_first_of(".*> \t") != std::string::npos) {
    reader.add_error(
        "node.cluster_prefix: must be a non-empty bus token without '.', '*', '>' or spaces");
  }

  reader.read_enum("log.level", &out->log.level,
                   {"trace", "debug", "info", "warn", "error", "off"});

  reader.read_enum("bus.type", &out->bus.type, {"inprocess", "nats"});
  reader.read("bus.nats_urls", &out->bus.nats_urls);
  reader.read("bus.reconnect_wait_ms", &out->bus.reconnect_wait_ms, 10, 60000);
  reader.read("bus.heartbeat_interval_ms", &out->bus.heartbeat_interval_ms, 50, 60000);
  reader.read("bus.heartbeat_timeout_ms", &out->bus.heartbeat_timeout_ms, 100, 600000);

  reader.read("admin.listen", &out->admin.listen);

  reader.read("drain.deadline_s", &out->drain.deadline_s, 1, 3600);
  reader.read("drain.batch_size", &out->drain.batch_size, 1, 1000000);
  reader.read("drain.batch_interval_ms", &out->drain.batch_interval_ms, 0, 60000);

  read_grpc_tls(reader, "edgelink.tls", &out->edgelink_tls, "ca_file", /*enabled_by_cert=*/false,
                /*client=*/true);
}

void read_grpc_tls(ConfigReader& reader, std::string_view prefix, GrpcTlsConfig* out,
                   std::string_view ca_key, bool enabled_by_cert, bool client) {
  const std::string p(prefix);
  if (!enabled_by_cert) reader.read(p + ".enabled", &out->enabled);
  reader.read(p + ".cert_file", &out->cert_file);
  reader.read(p + ".key_file", &out->key_file);
  reader.read(p + "." + std::string(ca_key), &out->ca_file);
  if (client) reader.read(p + ".server_name", &out->server_name);
  reader.read(p + ".reload_interval_s", &out->reload_interval_s, 1, 86400);
  if (enabled_by_cert) out->enabled = !out->cert_file.empty();
  if (out->cert_file.empty() != out->key_file.empty()) {
    reader.add_error(p + ": cert_file and key_file go together");
  }
  if (enabled_by_cert && out->cert_file.empty() && !out->ca_file.empty()) {
    reader.add_error(p + "." + std::string(ca_key) + ": needs cert_file and key_file");
  }
}

Status split_host_port(std::string_view address, std::string_view what, std::string* host,
                       uint16_t* port) {
  auto bad = [&] {
    return invalid_argument(std::string(what) + ": '" + std::string(address) +
                            "' is not host:port");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= address.size()) return bad();
  std::string_view h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string_view p = address.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || ptr != p.data() + p.size() || value > 65535) return bad();
  *host = std::string(h.empty() ? "0.0.0.0" : h);
  *port = static_cast<uint16_t>(value);
  return Status::ok_status();
}

}  // namespace herald::config
