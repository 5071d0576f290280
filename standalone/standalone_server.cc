// StandaloneServer assembly: bus → broker (own thread) → API server → in-process link → edge →
// admin endpoint; torn down in reverse.
#include "standalone/standalone_server.h"

#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "broker/api/api_server.h"
#include "broker/broker_metrics.h"
#include "broker/core/broker.h"
#include "common/admin/admin_server.h"
#include "common/bus/bus.h"
#include "common/bus/bus_metrics.h"
#include "common/log/log.h"
#include "common/metrics/process_metrics.h"
#include "common/process/command_line.h"
#include "common/process/thread_name.h"
#include "edge/edge.h"
#include "edge/edge_metrics.h"
#include "standalone/in_process_link.h"

namespace herald::standalone {

Status read_standalone_config(config::ConfigReader& reader, StandaloneConfig* out) {
  config::read_common_config(reader, &out->common);
  edge::read_edge_config(reader, &out->edge);
  broker::read_broker_config(reader, &out->broker);
  if (Status s = reader.finish(); !s.ok()) return s;
  if (out->common.bus.type != "inprocess") {
    return invalid_argument(
        "bus.type: the standalone herald process uses the in-process bus; run herald-edge and "
        "herald-broker for a NATS cluster");
  }
  return Status::ok_status();
}

namespace {

class StandaloneServerImpl final : public StandaloneServer {
 public:
  explicit StandaloneServerImpl(StandaloneConfig config) : config_(std::move(config)) {}
  ~StandaloneServerImpl() override { stop(); }

  Status start() {
    const auto& common = config_.common;
    bus_ = bus::make_in_process_bus();

    broker::BrokerOptions bopts;
    bopts.broker_id = common.node.id;
    bopts.cluster_prefix = common.node.cluster_prefix;
    broker::apply_config(config_.broker, &bopts);
    if (!bopts.policy) bopts.policy = broker::default_policy();
    bopts.heartbeat_interval_ms = common.bus.heartbeat_interval_ms;
    bopts.heartbeat_timeout_ms = common.bus.heartbeat_timeout_ms;
    if (config_.broker.auth.has_keys()) {
      auto verifier = auth::JwtVerifier::create(config_.broker.auth.jwt);
      if (!verifier.ok()) return verifier.status();
      bopts.verifier = std::shared_ptr<const auth::JwtVerifier>(std::move(verifier).value());
    }
    broker_ = broker::Broker::create(broker_io_, *bus_, std::move(bopts));
    broker_thread_ = std::thread([this] {
      process::set_thread_name("broker");
      broker_io_.run();
    });
    broker_->start();

    broker::api::ApiServerOptions api_opts;
    api_opts.listen = config_.broker.grpc_listen;
    api_opts.bearer_tokens = config_.broker.api.bearer_tokens;
    api_opts.max_message_bytes = config_.broker.api.max_message_bytes;
    api_opts.metrics = registry_;
    api_opts.tls = config_.broker.api.tls;
    auto api = broker::api::ApiServer::start(api_opts, broker_);
    if (!api.ok()) return api.status();
    api_ = std::move(api).value();

    link_ = std::make_unique<InProcessLink>(broker_, common.node.id);

    edge::EdgeOptions eopts;
    eopts.config = config_.edge;
    eopts.edge_id = common.node.id;
    eopts.cluster_prefix = common.node.cluster_prefix;
    eopts.heartbeat_interval_ms = common.bus.heartbeat_interval_ms;
    eopts.local_bus = true;  // the in-process bus: this edge is the only one
    auto edge = edge::Edge::create(std::move(eopts), link_->broker_link(), *bus_);
    if (!edge.ok()) return edge.status();
    edge_ = std::move(edge).value();
    edge_->start();

    if (!common.admin.listen.empty()) {
      auto health = std::make_shared<admin::HealthRegistry>();
      add_health_checks(*health);
      auto collector = std::make_shared<metrics::CallbackCollector>();
      metrics::add_process_metrics(*collector, "herald", std::string(kHeraldVersion),
                                   [this] { return draining(); });
      edge::add_edge_metrics(*collector, *edge_);
      broker::add_broker_metrics(*collector, *broker_);
      bus::add_bus_state_metric(*collector, *bus_);
      auto admin = admin::AdminServer::start(common.admin.listen, registry_, health, {collector});
      if (!admin.ok()) return admin.status();
      admin_ = std::move(admin).value();
    }
    return Status::ok_status();
  }

  void add_health_checks(admin::HealthRegistry& health) {
    health.add("drain", [this] {
      if (draining()) return admin::CheckResult{admin::Readiness::kNotReady, "draining"};
      return admin::CheckResult{admin::Readiness::kReady, ""};
    });
    edge::Edge* edge = edge_.get();
    health.add("edge", [edge] {
      if (edge->accepting()) {
        return admin::CheckResult{admin::Readiness::kReady,
                                  "listening on port " + std::to_string(edge->port())};
      }
      return admin::CheckResult{admin::Readiness::kNotReady, "not accepting connections"};
    });
    health.add("broker", [this] {
      if (broker::loop_responds(broker_io_, std::chrono::seconds(1))) {
        return admin::CheckResult{admin::Readiness::kReady, "broker thread answers"};
      }
      return admin::CheckResult{admin::Readiness::kNotReady, "broker thread did not answer in 1 s"};
    });
  }

  bool draining() const override { return draining_.load(std::memory_order_relaxed); }

  void drain(const DrainPlan& plan) override {
    if (stopped_ || draining_.exchange(true)) return;
    HLOG_INFO("herald", "draining", {{"stop_in_ms", plan.remaining().count()}});
    // Clients first: they reconnect elsewhere; API calls and HandleEvents keep serving them.
    if (edge_) edge_->drain(plan);
    drain_api(plan);
    stop();
  }

  // New API calls are refused; unary calls in flight finish (EmitWithAck included: its sockets
  // are gone or have answered), then HandleEvents streams end with the broker.
  void drain_api(const DrainPlan& plan) {
    if (!api_) return;
    std::thread shutdown([this, grace = plan.remaining()] { api_->shutdown(grace); });
    while (api_->in_flight() > 0 && DrainClock::now() < plan.stop_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (broker_) broker_->stop();  // ends HandleEvents streams, which Shutdown waits for
    shutdown.join();
  }

  uint16_t socketio_port() const override { return edge_ ? edge_->port() : 0; }
  uint16_t grpc_port() const override { return api_ ? static_cast<uint16_t>(api_->port()) : 0; }
  uint16_t admin_port() const override { return admin_ ? admin_->port() : 0; }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    // The admin endpoint reads the components' counters: it goes first.
    if (admin_) admin_->stop();
    // Clients first (their SessionClose reach the broker), then callers, then the broker.
    if (edge_) edge_->stop();
    if (broker_) broker_->stop();
    if (api_) api_->shutdown();
    if (link_) link_->close();
    if (admin_) admin_->stop();
    work_.reset();
    if (broker_thread_.joinable()) {
      broker_io_.stop();
      broker_thread_.join();
    }
    edge_.reset();
    link_.reset();
    api_.reset();
    broker_.reset();
  }

 private:
  StandaloneConfig config_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<bus::Bus> bus_;
  boost::asio::io_context broker_io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(broker_io_);
  std::thread broker_thread_;
  std::shared_ptr<broker::Broker> broker_;
  std::unique_ptr<broker::api::ApiServer> api_;
  std::unique_ptr<InProcessLink> link_;
  std::unique_ptr<edge::Edge> edge_;
  std::unique_ptr<admin::AdminServer> admin_;
  bool stopped_ = false;
  std::atomic<bool> draining_{false};
};

}  // namespace

Result<std::unique_ptr<StandaloneServer>> StandaloneServer::start(StandaloneConfig config) {
  auto server = std::make_unique<StandaloneServerImpl>(std::move(config));
  if (Status s = server->start(); !s.ok()) {
    server->stop();
    return s;
  }
  return std::unique_ptr<StandaloneServer>(std::move(server));
}

}  // namespace herald::standalone
