// herald: the standalone process (edge + broker + in-process bus). Thin: parse, configure, run.
#include <iostream>

#include "common/log/log.h"
#include "common/process/command_line.h"
#include "common/process/shutdown.h"
#include "common/process/signals.h"
#include "standalone/standalone_server.h"

int main(int argc, char** argv) {
  using namespace herald;
  block_shutdown_signals();

  auto cli = parse_command_line(argc, argv);
  if (!cli.ok()) {
    std::cerr << "herald: " << cli.status().message() << "\n";
    return 2;
  }
  if (cli->help) {
    std::cout << usage_text(
        "herald", "Runs Herald standalone: a Socket.IO edge and a broker in one process.");
    return 0;
  }
  if (cli->version) {
    std::cout << "herald " << kHeraldVersion << "\n";
    return 0;
  }
  auto reader = open_config(*cli);
  standalone::StandaloneConfig config;
  Status s = reader.ok() ? standalone::read_standalone_config(*reader, &config) : reader.status();
  if (!s.ok()) {
    std::cerr << "herald: configuration error: " << s.message() << "\n";
    return 2;
  }
  log::set_level(*log::parse_level(config.common.log.level));
  if (cli->check_config) {
    std::cout << "configuration OK\n";
    return 0;
  }

  auto server = standalone::StandaloneServer::start(config);
  if (!server.ok()) {
    HLOG_ERROR("herald", "startup failed", {{"error", server.status().to_string()}});
    return 1;
  }
  std::string host, grpc_host, admin_host;
  uint16_t port = 0;
  (void)config::split_host_port(config.edge.listen, "edge.listen", &host, &port);
  (void)config::split_host_port(config.broker.grpc_listen, "broker.grpc_listen", &grpc_host, &port);
  const auto& srv = **server;
  nlohmann::json ready = {
      {"socketio_url", std::string(config.edge.tls.mode == "on" ? "https://" : "http://") + host +
                           ":" + std::to_string(srv.socketio_port())},
      {"socketio_path", config.edge.path},
      {"grpc_address", grpc_host + ":" + std::to_string(srv.grpc_port())},
      {"node_id", config.common.node.id}};
  if (srv.admin_port() != 0) {
    (void)config::split_host_port(config.common.admin.listen, "admin.listen", &admin_host, &port);
    ready["admin_url"] = "http://" + admin_host + ":" + std::to_string(srv.admin_port());
  }
  // Tests and scripts wait for this line.
  log::write(log::Level::kInfo, "herald", "herald ready", ready);

  standalone::StandaloneServer& running = **server;
  const int code = serve_until_shutdown("herald", config.common.drain,
                                        [&running](const DrainPlan& plan) { running.drain(plan); });
  HLOG_INFO("herald", "stopped", {});
  return code;
}
