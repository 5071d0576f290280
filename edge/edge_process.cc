// EdgeProcess: assembly and ordered shutdown of a cluster-mode edge.
#include "edge/edge_process.h"

#include <prometheus/registry.h>

#include "common/admin/admin_server.h"
#include "common/bus/nats_bus.h"
#include "common/log/log.h"
#include "common/process/command_line.h"
#include "edge/edge.h"
#include "edge/edgelink/grpc_broker_link.h"

namespace herald::edge {

namespace {

bool is_wildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

std::string join_host_port(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

}  // namespace

struct EdgeProcess::Parts {
  EdgeProcessConfig config;
  std::unique_ptr<bus::NatsBus> bus;
  std::unique_ptr<GrpcBrokerLink> link;
  std::unique_ptr<Edge> edge;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<admin::HealthRegistry> health = std::make_shared<admin::HealthRegistry>();
  std::unique_ptr<admin::AdminServer> admin;
};

EdgeProcess::EdgeProcess() : parts_(std::make_unique<Parts>()) {}

EdgeProcess::~EdgeProcess() {
  stop();
}

Result<std::unique_ptr<EdgeProcess>> EdgeProcess::start(EdgeProcessConfig config) {
  if (config.common.bus.type != "nats") {
    return invalid_argument(
        "bus.type: herald-edge needs 'nats' (the in-process bus only exists inside the "
        "standalone `herald` binary)");
  }
  std::unique_ptr<EdgeProcess> process(new EdgeProcess());
  Parts& p = *process->parts_;
  p.config = std::move(config);
  const config::CommonConfig& common = p.config.common;

  auto bus = bus::make_nats_bus(common.bus, "herald-edge " + common.node.id);
  if (!bus.ok()) return bus.status();
  p.bus = std::move(bus.value());

  GrpcBrokerLinkOptions link_options;
  link_options.edge_id = common.node.id;
  link_options.version = kHeraldVersion;
  link_options.cluster_prefix = common.node.cluster_prefix;
  link_options.brokers = p.config.edge.brokers;
  link_options.heartbeat_timeout_ms = common.bus.heartbeat_timeout_ms;
  p.link = std::make_unique<GrpcBrokerLink>(std::move(link_options), p.bus.get());

  EdgeOptions edge_options;
  edge_options.config = p.config.edge;
  edge_options.edge_id = common.node.id;
  edge_options.cluster_prefix = common.node.cluster_prefix;
  edge_options.heartbeat_interval_ms = common.bus.heartbeat_interval_ms;
  auto edge = Edge::create(std::move(edge_options), *p.link, *p.bus);  // sets the link's receiver
  if (!edge.ok()) return edge.status();
  p.edge = std::move(edge.value());
  p.link->start();
  p.edge->start();

  bus::NatsBus* bus_ptr = p.bus.get();
  p.health->add("bus", [bus_ptr] {
    if (bus_ptr->state() == bus::BusState::kConnected) {
      return admin::CheckResult{admin::Readiness::kReady, "nats connected"};
    }
    return admin::CheckResult{admin::Readiness::kDegraded,
                              "nats unavailable: no deliveries, presence or room subscriptions"};
  });
  GrpcBrokerLink* link_ptr = p.link.get();
  p.health->add("brokers", [link_ptr] {
    std::vector<std::string> live = link_ptr->live_broker_addresses();
    std::string detail;
    for (const std::string& a : live) detail += (detail.empty() ? "" : ",") + a;
    if (live.empty()) {
      return admin::CheckResult{admin::Readiness::kNotReady, "no broker stream is up"};
    }
    return admin::CheckResult{admin::Readiness::kReady,
                              std::to_string(live.size()) + " up: " + detail};
  });
  if (!common.admin.listen.empty()) {
    auto admin = admin::AdminServer::start(common.admin.listen, p.registry, p.health);
    if (!admin.ok()) return admin.status();
    p.admin = std::move(admin.value());
    std::string host;
    uint16_t port = 0;
    (void)config::split_host_port(common.admin.listen, "admin.listen", &host, &port);
    process->admin_url_ =
        "http://" + join_host_port(is_wildcard(host) ? "127.0.0.1" : host, p.admin->port());
  }
  {
    std::string host;
    uint16_t port = 0;
    (void)config::split_host_port(p.config.edge.listen, "edge.listen", &host, &port);
    process->socketio_url_ =
        "http://" + join_host_port(is_wildcard(host) ? "127.0.0.1" : host, p.edge->port());
  }
  HLOG_INFO("edge", "herald-edge ready",
            {{"node", common.node.id},
             {"socketio_url", process->socketio_url_},
             {"admin_url", process->admin_url_},
             {"brokers", p.config.edge.brokers},
             {"nats", common.bus.nats_urls}});
  return process;
}

void EdgeProcess::stop() {
  if (stopped_) return;
  stopped_ = true;
  Parts& p = *parts_;
  if (p.edge) p.edge->stop();  // SessionClose for every socket goes out on the link
  if (p.link) p.link->stop(2000);
  if (p.admin) p.admin->stop();
  p.edge.reset();
  if (p.bus) p.bus->drain(1000);
  HLOG_INFO("edge", "herald-edge stopped", {});
}

}  // namespace herald::edge
