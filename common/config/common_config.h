// Configuration sections every Herald process has: node identity, logging, bus, admin endpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config_reader.h"

namespace herald::config {

struct NodeConfig {
  std::string id;                        // unique per process in a cluster; default: hostname-pid
  std::string cluster_prefix = "herald"; // first token of every bus subject
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | off
};

struct BusConfig {
  std::string type = "inprocess";  // inprocess (standalone only) | nats
  std::vector<std::string> nats_urls = {"nats://127.0.0.1:4222"};
  uint32_t reconnect_wait_ms = 250;
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t heartbeat_timeout_ms = 5000;
};

struct AdminConfig {
  std::string listen = "127.0.0.1:9100";  // /metrics, /healthz, /readyz; "" disables
};

struct CommonConfig {
  NodeConfig node;
  LogConfig log;
  BusConfig bus;
  AdminConfig admin;
};

// Reads node.*, log.*, bus.*, admin.* into *out (keeping defaults for absent keys).
void read_common_config(ConfigReader& reader, CommonConfig* out);

// "host:port" → host and port; accepts "[::1]:80". Errors name `what`.
Status split_host_port(std::string_view address, std::string_view what, std::string* host,
                       uint16_t* port);

}  // namespace herald::config
