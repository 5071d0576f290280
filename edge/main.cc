// herald-edge: terminates Socket.IO clients and talks to the brokers over EdgeLink (cluster mode).
#include <iostream>

#include "common/log/log.h"
#include "common/process/command_line.h"
#include "common/process/shutdown.h"
#include "common/process/signals.h"
#include "edge/edge_process.h"

int main(int argc, char** argv) {
  using namespace herald;
  block_shutdown_signals();
  constexpr std::string_view kSummary =
      "herald-edge: serves Socket.IO clients (Engine.IO v4 polling and websocket) and forwards "
      "their sessions to the brokers over EdgeLink (cluster mode, NATS bus).";
  auto cli = parse_command_line(argc, argv);
  if (!cli.ok()) {
    std::cerr << "herald-edge: " << cli.status().message() << "\n"
              << usage_text("herald-edge", kSummary);
    return 2;
  }
  if (cli->help) {
    std::cout << usage_text("herald-edge", kSummary);
    return 0;
  }
  if (cli->version) {
    std::cout << "herald-edge " << kHeraldVersion << "\n";
    return 0;
  }
  auto reader = open_config(*cli);
  if (!reader.ok()) {
    std::cerr << "herald-edge: " << reader.status().message() << "\n";
    return 2;
  }
  edge::EdgeProcessConfig config;
  config::read_common_config(*reader, &config.common);
  edge::read_edge_config(*reader, &config.edge);
  // One file may configure both tiers.
  for (const char* section : {"broker", "api", "auth", "namespaces"}) reader->accept(section);
  if (Status s = reader->finish(); !s.ok()) {
    std::cerr << "herald-edge: " << s.message() << "\n";
    return 2;
  }
  if (config.common.bus.type != "nats") {
    std::cerr << "herald-edge: bus.type must be 'nats' (got '" << config.common.bus.type
              << "'); the in-process bus is for the standalone `herald` binary\n";
    return 2;
  }
  if (cli->check_config) {
    std::cout << "herald-edge: configuration OK\n";
    return 0;
  }
  if (auto level = log::parse_level(config.common.log.level); level.ok()) log::set_level(*level);

  const config::DrainConfig drain = config.common.drain;
  auto process = edge::EdgeProcess::start(std::move(config));
  if (!process.ok()) {
    HLOG_ERROR("edge", "herald-edge failed to start", {{"error", process.status().message()}});
    return 1;
  }
  edge::EdgeProcess& running = **process;
  return serve_until_shutdown("edge", drain,
                              [&running](const DrainPlan& plan) { running.drain(plan); });
}
