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
    reader.add_error("node.cluster_prefix: must be a non-empty bus token without '.', '*', '>' or spaces");
  }

  reader.read_enum("log.level", &out->log.level, {"trace", "debug", "info", "warn", "error", "off"});

  reader.read_enum("bus.type", &out->bus.type, {"inprocess", "nats"});
  reader.read("bus.nats_urls", &out->bus.nats_urls);
  reader.read("bus.reconnect_wait_ms", &out->bus.reconnect_wait_ms, 10, 60000);
  reader.read("bus.heartbeat_interval_ms", &out->bus.heartbeat_interval_ms, 50, 60000);
  reader.read("bus.heartbeat_timeout_ms", &out->bus.heartbeat_timeout_ms, 100, 600000);

  reader.read("admin.listen", &out->admin.listen);
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
