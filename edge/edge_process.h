// EdgeProcess: one herald-edge assembled — NATS bus, the gRPC BrokerLink, the Edge and the admin
// endpoint — started and stopped in the right order.
#pragma once

#include <memory>
#include <string>

#include "common/config/common_config.h"
#include "common/process/shutdown.h"
#include "common/status.h"
#include "edge/edge_config.h"

namespace herald::edge {

struct EdgeProcessConfig {
  config::CommonConfig common;
  EdgeConfig edge;
};

class EdgeProcess {
 public:
  // Connects the bus and the broker streams (in the background when they are not up yet), binds
  // the client listener and the admin endpoint. Fails when bus.type is not nats or a listener
  // cannot be bound.
  static Result<std::unique_ptr<EdgeProcess>> start(EdgeProcessConfig config);
  ~EdgeProcess();
  EdgeProcess(const EdgeProcess&) = delete;
  EdgeProcess& operator=(const EdgeProcess&) = delete;

  // Graceful drain (SIGTERM): /readyz turns not_ready, the edge stops accepting and closes its
  // client sessions in batches (those with acks in flight last) so they reconnect to other edges,
  // then stop(). Returns by about plan.stop_by.
  void drain(const DrainPlan& plan);
  bool draining() const;

  // Closes the client sessions (their SessionClose reach the brokers), then the broker streams,
  // the admin endpoint and the bus (drained). Idempotent.
  void stop();

  const std::string& socketio_url() const { return socketio_url_; }
  const std::string& admin_url() const { return admin_url_; }

 private:
  struct Parts;
  EdgeProcess();
  std::unique_ptr<Parts> parts_;
  std::string socketio_url_;
  std::string admin_url_;
  bool stopped_ = false;
};

}  // namespace herald::edge
