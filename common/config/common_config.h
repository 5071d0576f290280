// Configuration sections every Herald process has: node identity, logging, bus, admin endpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config_reader.h"

namespace herald::config {

struct NodeConfig {
  std::string id;                         // unique per process in a cluster; default: hostname-pid
  std::string cluster_prefix = "herald";  // first token of every bus subject
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

// TLS for a gRPC endpoint (api.tls.*, edgelink.tls.*; docs/tls.md). PEM files, re-read every
// reload_interval_s so renewed certificates apply without a restart.
struct GrpcTlsConfig {
  bool enabled = false;
  std::string cert_file;    // this process's certificate chain (servers: required)
  std::string key_file;     // its private key
  std::string ca_file;      // server: client certificates must chain to it (mTLS; empty: none
                            // asked); client: verifies the server (empty: system roots)
  std::string server_name;  // client: name the server certificate must carry (default: host)
  uint32_t reload_interval_s = 60;
};

// Reads <prefix>.enabled (unless `enabled_by_cert`: then TLS is on when cert_file is set),
// cert_file, key_file, <ca_key>, server_name (clients) and reload_interval_s.
void read_grpc_tls(ConfigReader& reader, std::string_view prefix, GrpcTlsConfig* out,
                   std::string_view ca_key, bool enabled_by_cert, bool client);

// Graceful drain on SIGTERM/SIGINT (docs/operations.md "Graceful drain").
struct DrainConfig {
  uint32_t deadline_s = 30;          // the whole drain, then the process stops anyway
  uint32_t batch_size = 500;         // client sessions closed per batch
  uint32_t batch_interval_ms = 100;  // between batches: reconnects spread over time
};

struct CommonConfig {
  NodeConfig node;
  LogConfig log;
  BusConfig bus;
  AdminConfig admin;
  DrainConfig drain;
  GrpcTlsConfig edgelink_tls;  // edgelink.tls.*: broker server side and edge client side
};

// Reads node.*, log.*, bus.*, admin.*, drain.*, edgelink.tls.* into *out (keeping defaults for
// absent keys).
void read_common_config(ConfigReader& reader, CommonConfig* out);

// "host:port" → host and port; accepts "[::1]:80". Errors name `what`.
Status split_host_port(std::string_view address, std::string_view what, std::string* host,
                       uint16_t* port);

}  // namespace herald::config
