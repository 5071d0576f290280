// EdgeProcess: assembly and ordered shutdown of a cluster-mode edge.
#include "edge/edge_process.h"

#include <prometheus/registry.h>

#include <atomic>

#include "common/admin/admin_server.h"
#include "common/bus/bus_metrics.h"
#include "common/bus/nats_bus.h"
#include "common/log/log.h"
#include "common/metrics/process_metrics.h"
#include "common/process/command_line.h"
#include "common/tls/grpc_tls.h"
#include "edge/edge.h"
#include "edge/edge_metrics.h"
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

// herald_edgelink_* on the edge side: the link's streams to the brokers and its sessions.
void add_link_metrics(metrics::CallbackCollector& c, const GrpcBrokerLink& link) {
  const GrpcBrokerLink* l = &link;
  auto stat = [l](auto field) {
    return [l, field] { return static_cast<double>(l->stats().*field); };
  };
  c.gauges("herald_edgelink_streams", "EdgeLink streams to known brokers, by state", [l] {
    const GrpcBrokerLinkStats s = l->stats();
    return std::vector<metrics::Sample>{
        {{{"state", "up"}}, static_cast<double>(s.brokers_live)},
        {{{"state", "down"}}, static_cast<double>(s.brokers_known - s.brokers_live)}};
  });
  c.gauge("herald_edgelink_sessions", "Sockets the link keeps context for (pinned or not)",
          stat(&GrpcBrokerLinkStats::sessions));
  c.gauge("herald_edgelink_unpinned_sessions", "Sockets waiting for a live broker",
          stat(&GrpcBrokerLinkStats::unpinned_sessions));
  c.gauge("herald_edgelink_waiting_bytes", "Bytes of messages queued for unpinned sockets",
          stat(&GrpcBrokerLinkStats::waiting_bytes));
  c.counter("herald_edgelink_messages_sent_total", "EdgeToBroker messages sent",
            stat(&GrpcBrokerLinkStats::messages_sent));
  c.counter("herald_edgelink_messages_received_total", "BrokerToEdge messages received",
            stat(&GrpcBrokerLinkStats::messages_received));
  c.counter("herald_edgelink_batches_sent_total", "EdgeBatch writes",
            stat(&GrpcBrokerLinkStats::batches_sent));
  c.counter("herald_edgelink_streams_opened_total", "EdgeLink streams opened",
            stat(&GrpcBrokerLinkStats::streams_opened));
  c.counter("herald_edgelink_streams_lost_total", "EdgeLink streams that ended while running",
            stat(&GrpcBrokerLinkStats::streams_lost));
  c.counter("herald_edgelink_sessions_repinned_total",
            "Sessions moved to another broker after their stream ended",
            stat(&GrpcBrokerLinkStats::sessions_repinned));
  c.counters("herald_edgelink_resumes_total", "Session resumes on another broker, by result", [l] {
    const GrpcBrokerLinkStats s = l->stats();
    return std::vector<metrics::Sample>{
        {{{"result", "accepted"}}, static_cast<double>(s.resumes_accepted)},
        {{{"result", "rejected"}}, static_cast<double>(s.resumes_rejected)}};
  });
  c.counter("herald_edgelink_unavailable_total",
            "UNAVAILABLE verdicts and rejections the link produced (no live broker in time)",
            stat(&GrpcBrokerLinkStats::unavailable));
}

}  // namespace

struct EdgeProcess::Parts {
  EdgeProcessConfig config;
  std::unique_ptr<bus::NatsBus> bus;
  std::unique_ptr<GrpcBrokerLink> link;
  std::unique_ptr<Edge> edge;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<admin::HealthRegistry> health = std::make_shared<admin::HealthRegistry>();
  std::shared_ptr<metrics::CallbackCollector> collector =
      std::make_shared<metrics::CallbackCollector>();
  std::unique_ptr<admin::AdminServer> admin;
  std::atomic<bool> draining{false};
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
  link_options.tls = common.edgelink_tls;
  if (auto credentials = tls::channel_credentials(common.edgelink_tls, "edgelink.tls");
      !credentials.ok()) {
    return credentials.status();
  }
  p.link = std::make_unique<GrpcBrokerLink>(std::move(link_options), p.bus.get());

  EdgeOptions edge_options;
  edge_options.config = p.config.edge;
  edge_options.edge_id = common.node.id;
  edge_options.cluster_prefix = common.node.cluster_prefix;
  edge_options.heartbeat_interval_ms = common.bus.heartbeat_interval_ms;
  edge_options.heartbeat_timeout_ms = common.bus.heartbeat_timeout_ms;
  auto edge = Edge::create(std::move(edge_options), *p.link, *p.bus);  // sets the link's receiver
  if (!edge.ok()) return edge.status();
  p.edge = std::move(edge.value());
  p.link->start();
  p.edge->start();

  std::atomic<bool>* draining = &p.draining;
  p.health->add("drain", [draining] {
    if (draining->load()) return admin::CheckResult{admin::Readiness::kNotReady, "draining"};
    return admin::CheckResult{admin::Readiness::kReady, ""};
  });
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
    metrics::add_process_metrics(*p.collector, "herald-edge", kHeraldVersion,
                                 [draining] { return draining->load(); });
    add_edge_metrics(*p.collector, *p.edge);
    bus::add_nats_bus_metrics(*p.collector, *p.bus);
    add_link_metrics(*p.collector, *p.link);
    auto admin =
        admin::AdminServer::start(common.admin.listen, p.registry, p.health, {p.collector});
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
    process->socketio_url_ = std::string(p.config.edge.tls.mode == "on" ? "https://" : "http://") +
                             join_host_port(is_wildcard(host) ? "127.0.0.1" : host, p.edge->port());
  }
  HLOG_INFO("edge", "herald-edge ready",
            {{"node", common.node.id},
             {"socketio_url", process->socketio_url_},
             {"admin_url", process->admin_url_},
             {"brokers", p.config.edge.brokers},
             {"nats", common.bus.nats_urls}});
  return process;
}

bool EdgeProcess::draining() const {
  return parts_->draining.load();
}

void EdgeProcess::drain(const DrainPlan& plan) {
  if (stopped_ || parts_->draining.exchange(true)) return;
  HLOG_INFO("edge", "draining", {{"stop_in_ms", plan.remaining().count()}});
  // The link stays up meanwhile: acks in flight are answered before their sessions close.
  if (parts_->edge) parts_->edge->drain(plan);
  stop();
}

void EdgeProcess::stop() {
  if (stopped_) return;
  stopped_ = true;
  Parts& p = *parts_;
  if (p.admin) p.admin->stop();  // it reads the components' counters: first
  if (p.edge) p.edge->stop();    // SessionClose for every socket goes out on the link
  if (p.link) p.link->stop(2000);
  p.edge.reset();
  if (p.bus) p.bus->drain(1000);
  HLOG_INFO("edge", "herald-edge stopped", {});
}

}  // namespace herald::edge
