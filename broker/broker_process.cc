// BrokerProcess: assembly and ordered shutdown of a cluster-mode broker.
#include "broker/broker_process.h"

#include <prometheus/registry.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "broker/api/api_server.h"
#include "broker/broker_metrics.h"
#include "broker/core/broker.h"
#include "broker/edgelink/edgelink_server.h"
#include "common/admin/admin_server.h"
#include "common/bus/bus_metrics.h"
#include "common/bus/nats_bus.h"
#include "common/log/log.h"
#include "common/metrics/process_metrics.h"
#include "common/process/command_line.h"
#include "common/process/thread_name.h"

namespace herald::broker {

namespace {

constexpr std::string_view kLog = "broker.process";

bool is_wildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

std::string join_host_port(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

// The EdgeLink address is advertised in heartbeats before the server exists (the Broker takes it
// at construction), so port 0 is resolved to a free port up front.
Result<std::string> resolve_edgelink_listen(const std::string& listen, std::string* advertised) {
  std::string host;
  uint16_t port = 0;
  Status s = config::split_host_port(listen, "broker.edgelink_listen", &host, &port);
  if (!s.ok()) return s;
  if (port == 0) {
    try {
      boost::asio::io_context io;
      boost::asio::ip::tcp::acceptor acceptor(
          io, boost::asio::ip::tcp::endpoint(
                  boost::asio::ip::make_address(is_wildcard(host) ? "0.0.0.0" : host), 0));
      port = acceptor.local_endpoint().port();
    } catch (const std::exception& e) {
      return invalid_argument(std::string("broker.edgelink_listen: ") + e.what());
    }
  }
  std::string advertise_host = host;
  if (is_wildcard(host)) {
    // Edges reach this broker by its host name (set node.id/hostname resolvable in the cluster).
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') advertise_host = name;
  }
  *advertised = join_host_port(advertise_host, port);
  return join_host_port(is_wildcard(host) && host.empty() ? "0.0.0.0" : host, port);
}

// herald_edgelink_* on the broker side: the edges' streams to this broker.
void add_edgelink_server_metrics(metrics::CallbackCollector& c,
                                 const edgelink::EdgeLinkServer& server) {
  using metrics::read;
  const edgelink::EdgeLinkCounters* k = &server.counters();
  c.gauges("herald_edgelink_streams", "EdgeLink streams from edges, by state", [k] {
    return std::vector<metrics::Sample>{{{{"state", "up"}}, read(k->streams_open)}};
  });
  c.counter("herald_edgelink_streams_opened_total", "EdgeLink streams opened by edges",
            [k] { return read(k->streams_total); });
  c.counter("herald_edgelink_messages_received_total", "EdgeToBroker messages received",
            [k] { return read(k->messages_in); });
  c.counter("herald_edgelink_messages_sent_total", "BrokerToEdge messages sent",
            [k] { return read(k->messages_out); });
  c.counter("herald_edgelink_overflow_closes_total",
            "Streams closed because the edge stopped reading (queue over its limit)",
            [k] { return read(k->overflow_closes); });
  c.counter("herald_edgelink_resumes_received_total",
            "Sessions resumed here after failing over from another broker",
            [k] { return read(k->resumes); });
}

}  // namespace

struct BrokerProcess::Parts {
  BrokerProcessConfig config;
  std::unique_ptr<bus::NatsBus> bus;
  boost::asio::io_context io;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::thread thread;
  std::shared_ptr<Broker> broker;
  std::unique_ptr<api::ApiServer> api;
  std::unique_ptr<edgelink::EdgeLinkServer> edgelink;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<admin::HealthRegistry> health = std::make_shared<admin::HealthRegistry>();
  std::shared_ptr<metrics::CallbackCollector> collector =
      std::make_shared<metrics::CallbackCollector>();
  std::unique_ptr<admin::AdminServer> admin;
  std::atomic<bool> draining{false};
};

BrokerProcess::BrokerProcess() : parts_(std::make_unique<Parts>()) {}

BrokerProcess::~BrokerProcess() {
  stop();
}

Result<std::unique_ptr<BrokerProcess>> BrokerProcess::start(BrokerProcessConfig config) {
  if (config.common.bus.type != "nats") {
    return invalid_argument(
        "bus.type: herald-broker needs 'nats' (the in-process bus only exists inside the "
        "standalone `herald` binary)");
  }
  std::unique_ptr<BrokerProcess> process(new BrokerProcess());
  Parts& p = *process->parts_;
  p.config = std::move(config);
  const config::CommonConfig& common = p.config.common;
  const BrokerConfig& bc = p.config.broker;

  std::string advertised;
  Result<std::string> edgelink_listen = resolve_edgelink_listen(bc.edgelink_listen, &advertised);
  if (!edgelink_listen.ok()) return edgelink_listen.status();

  auto bus = bus::make_nats_bus(common.bus, "herald-broker " + common.node.id);
  if (!bus.ok()) return bus.status();
  p.bus = std::move(bus.value());

  std::shared_ptr<const auth::JwtVerifier> verifier;
  if (bc.auth.has_keys()) {
    auto v = auth::JwtVerifier::create(bc.auth.jwt);
    if (!v.ok()) return v.status();
    verifier = std::move(v.value());
  } else {
    HLOG_WARN(kLog, "no auth keys configured: every presented token is refused", {});
  }

  BrokerOptions options;
  options.broker_id = common.node.id;
  options.cluster_prefix = common.node.cluster_prefix;
  options.edgelink_address = advertised;  // in this broker's heartbeats: edges connect to it
  apply_config(bc, &options);
  if (!options.policy) options.policy = default_policy();
  options.verifier = std::move(verifier);
  options.heartbeat_interval_ms = common.bus.heartbeat_interval_ms;
  options.heartbeat_timeout_ms = common.bus.heartbeat_timeout_ms;
  p.broker = Broker::create(p.io, *p.bus, std::move(options));
  p.work =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          p.io.get_executor());
  p.thread = std::thread([&io = p.io] {
    process::set_thread_name("broker");
    io.run();
  });
  p.broker->start();

  api::ApiServerOptions api_options;
  api_options.listen = bc.grpc_listen;
  api_options.bearer_tokens = bc.api.bearer_tokens;
  api_options.max_message_bytes = bc.api.max_message_bytes;
  api_options.metrics = p.registry;
  api_options.tls = bc.api.tls;
  auto api = api::ApiServer::start(std::move(api_options), p.broker);
  if (!api.ok()) return api.status();
  p.api = std::move(api.value());

  edgelink::EdgeLinkServerOptions link_options;
  link_options.listen = edgelink_listen.value();
  link_options.tls = common.edgelink_tls;
  if (link_options.tls.enabled && link_options.tls.cert_file.empty()) {
    return invalid_argument("edgelink.tls: the broker needs cert_file and key_file");
  }
  auto link = edgelink::EdgeLinkServer::start(std::move(link_options), p.broker);
  if (!link.ok()) return link.status();
  p.edgelink = std::move(link.value());

  std::atomic<bool>* draining = &p.draining;
  p.health->add("drain", [draining] {
    if (draining->load()) return admin::CheckResult{admin::Readiness::kNotReady, "draining"};
    return admin::CheckResult{admin::Readiness::kReady, ""};
  });
  boost::asio::io_context* io = &p.io;
  p.health->add("broker", [io] {
    if (loop_responds(*io, std::chrono::seconds(1))) {
      return admin::CheckResult{admin::Readiness::kReady, "broker thread answers"};
    }
    return admin::CheckResult{admin::Readiness::kNotReady, "broker thread did not answer in 1 s"};
  });
  bus::NatsBus* bus_ptr = p.bus.get();
  p.health->add("bus", [bus_ptr] {
    switch (bus_ptr->state()) {
      case bus::BusState::kConnected:
        return admin::CheckResult{admin::Readiness::kReady, "nats connected"};
      case bus::BusState::kReconnecting:
        return admin::CheckResult{admin::Readiness::kDegraded,
                                  "nats reconnecting: no deliveries or presence"};
      default:
        return admin::CheckResult{admin::Readiness::kDegraded, "nats disconnected"};
    }
  });
  if (!common.admin.listen.empty()) {
    metrics::add_process_metrics(*p.collector, "herald-broker", kHeraldVersion,
                                 [draining] { return draining->load(); });
    add_broker_metrics(*p.collector, *p.broker);
    bus::add_nats_bus_metrics(*p.collector, *p.bus);
    add_edgelink_server_metrics(*p.collector, *p.edgelink);
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
    (void)config::split_host_port(bc.grpc_listen, "broker.grpc_listen", &host, &port);
    process->grpc_address_ = join_host_port(is_wildcard(host) ? "127.0.0.1" : host,
                                            static_cast<uint16_t>(p.api->port()));
  }
  process->edgelink_address_ = advertised;
  HLOG_INFO("broker", "herald-broker ready",
            {{"node", common.node.id},
             {"grpc_address", process->grpc_address_},
             {"edgelink_address", process->edgelink_address_},
             {"admin_url", process->admin_url_},
             {"nats", common.bus.nats_urls}});
  return process;
}

bool BrokerProcess::draining() const {
  return parts_->draining.load();
}

void BrokerProcess::drain(const DrainPlan& plan) {
  if (stopped_ || parts_->draining.exchange(true)) return;
  Parts& p = *parts_;
  HLOG_INFO("broker", "draining", {{"stop_in_ms", plan.remaining().count()}});
  if (p.api) {
    // Shutdown refuses new calls at once and waits for the ones in flight; HandleEvents streams
    // end with the broker, after the unary calls (and the EdgeLink streams they need) are done.
    std::thread shutdown([&p, grace = plan.remaining()] { p.api->shutdown(grace); });
    while (p.api->in_flight() > 0 && DrainClock::now() < plan.stop_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (p.edgelink) p.edgelink->shutdown(std::chrono::milliseconds(1000));
    if (p.broker) p.broker->stop();
    shutdown.join();
  }
  stop();
}

void BrokerProcess::stop() {
  if (stopped_) return;
  stopped_ = true;
  Parts& p = *parts_;
  if (p.admin) p.admin->stop();  // it reads the components' counters: first
  // Edges first: they re-pin their sessions to the other brokers while this one winds down.
  if (p.edgelink) p.edgelink->shutdown(std::chrono::milliseconds(1000));
  if (p.broker) p.broker->stop();
  if (p.api) p.api->shutdown(std::chrono::milliseconds(2000));
  p.work.reset();
  if (p.thread.joinable()) {
    // Let the broker's posted shutdown work finish, then end the loop.
    boost::asio::post(p.io, [&io = p.io] { io.stop(); });
    p.thread.join();
  }
  if (p.bus) p.bus->drain(1000);
  HLOG_INFO("broker", "herald-broker stopped", {});
}

}  // namespace herald::broker
