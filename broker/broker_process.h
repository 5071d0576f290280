// BrokerProcess: one herald-broker assembled — NATS bus, the Broker on its thread, the public gRPC
// API, the EdgeLink server and the admin endpoint — started and stopped in the right order.
#pragma once

#include <memory>
#include <string>

#include "broker/broker_config.h"
#include "common/config/common_config.h"
#include "common/process/shutdown.h"
#include "common/status.h"

namespace herald::broker {

struct BrokerProcessConfig {
  config::CommonConfig common;
  BrokerConfig broker;
};

class BrokerProcess {
 public:
  // Connects the bus (in the background if NATS is not up yet), binds every listener and starts
  // serving. Fails when bus.type is not nats, or a listener cannot be bound.
  static Result<std::unique_ptr<BrokerProcess>> start(BrokerProcessConfig config);
  ~BrokerProcess();
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  // Graceful drain (SIGTERM): /readyz turns not_ready; the public API refuses new calls and
  // lets unary calls in flight finish (EmitWithAck sockets stay reachable meanwhile); then the
  // EdgeLink streams end (edges re-pin their sessions to other brokers) and stop() runs.
  // Returns by about plan.stop_by.
  void drain(const DrainPlan& plan);
  bool draining() const;

  // EdgeLink streams end first (edges fail over at once), then the broker, the API, the admin
  // endpoint and the bus (drained). Idempotent.
  void stop();

  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& edgelink_address() const { return edgelink_address_; }
  const std::string& admin_url() const { return admin_url_; }

 private:
  struct Parts;
  BrokerProcess();
  std::unique_ptr<Parts> parts_;
  std::string grpc_address_;
  std::string edgelink_address_;
  std::string admin_url_;
  bool stopped_ = false;
};

}  // namespace herald::broker
