// herald-broker: the cluster's authority (tokens, policy, presence, public API) behind EdgeLink.
#include <iostream>

#include "broker/broker_process.h"
#include "common/log/log.h"
#include "common/process/command_line.h"
#include "common/process/shutdown.h"
#include "common/process/signals.h"

int main(int argc, char** argv) {
  using namespace herald;
  block_shutdown_signals();
  constexpr std::string_view kSummary =
      "herald-broker: verifies tokens, applies namespace policy, keeps presence and serves the "
      "gRPC API; edges connect to it over EdgeLink (cluster mode, NATS bus).";
  auto cli = parse_command_line(argc, argv);
  if (!cli.ok()) {
    std::cerr << "herald-broker: " << cli.status().message() << "\n"
              << usage_text("herald-broker", kSummary);
    return 2;
  }
  if (cli->help) {
    std::cout << usage_text("herald-broker", kSummary);
    return 0;
  }
  if (cli->version) {
    std::cout << "herald-broker " << kHeraldVersion << "\n";
    return 0;
  }
  auto reader = open_config(*cli);
  if (!reader.ok()) {
    std::cerr << "herald-broker: " << reader.status().message() << "\n";
    return 2;
  }
  broker::BrokerProcessConfig config;
  config::read_common_config(*reader, &config.common);
  broker::read_broker_config(*reader, &config.broker);
  reader->accept("edge");  // one file may configure both tiers
  if (Status s = reader->finish(); !s.ok()) {
    std::cerr << "herald-broker: " << s.message() << "\n";
    return 2;
  }
  if (config.common.bus.type != "nats") {
    std::cerr << "herald-broker: bus.type must be 'nats' (got '" << config.common.bus.type
              << "'); the in-process bus is for the standalone `herald` binary\n";
    return 2;
  }
  if (cli->check_config) {
    std::cout << "herald-broker: configuration OK\n";
    return 0;
  }
  if (auto level = log::parse_level(config.common.log.level); level.ok()) log::set_level(*level);

  const config::DrainConfig drain = config.common.drain;
  auto process = broker::BrokerProcess::start(std::move(config));
  if (!process.ok()) {
    HLOG_ERROR("broker", "herald-broker failed to start", {{"error", process.status().message()}});
    return 1;
  }
  broker::BrokerProcess& running = **process;
  return serve_until_shutdown("broker", drain,
                              [&running](const DrainPlan& plan) { running.drain(plan); });
}
