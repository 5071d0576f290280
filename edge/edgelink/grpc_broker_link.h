// GrpcBrokerLink: the edge's BrokerLink in cluster mode — one gRPC EdgeLink stream per live
// broker, sessions pinned to brokers by rendezvous hashing, failover with session resume.
// No gRPC headers here (grpc_broker_link.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/bus/bus.h"
#include "common/config/common_config.h"
#include "edge/broker_link.h"

namespace herald::edge {

struct GrpcBrokerLinkOptions {
  std::string edge_id;                    // sent in EdgeHello
  std::string version;                    // sent in EdgeHello
  std::string cluster_prefix = "herald";  // for <p>.heartbeat.broker and <p>.presence.<edge>
  std::vector<std::string> brokers;       // edge.brokers: addresses always kept (reconnected)
  // Brokers that announce themselves on <p>.heartbeat.broker are connected too; one whose stream
  // is down and whose heartbeats stopped for heartbeat_timeout_ms is forgotten.
  bool discover_from_bus = true;
  uint32_t heartbeat_timeout_ms = 5000;
  uint32_t reconnect_min_ms = 100;  // backoff between attempts to (re)open a broker's stream
  uint32_t reconnect_max_ms = 5000;
  uint32_t keepalive_ms = 5000;  // HTTP/2 pings: a silent broker is noticed within ~2× this
  uint32_t max_message_bytes = 64 * 1024 * 1024;
  // Bytes queued on one stream behind the write in flight. Past it the broker is not reading: the
  // stream is reset and its sessions fail over.
  size_t stream_queue_bytes = 64 * 1024 * 1024;
  // While no broker is live, messages wait (in order, per socket) up to this many bytes in total
  // and this long; then they fail: UNAVAILABLE verdicts for events, SessionRejected UNAVAILABLE
  // for connects.
  size_t unpinned_queue_bytes = 8 * 1024 * 1024;
  uint32_t unpinned_timeout_ms = 5000;
  uint32_t tick_ms = 50;      // timer resolution (reconnects, expiries)
  config::GrpcTlsConfig tls;  // edgelink.tls: verify the brokers; present cert_file (mTLS)
};

struct GrpcBrokerLinkStats {
  size_t brokers_known = 0;
  size_t brokers_live = 0;
  size_t sessions = 0;           // live sockets the link keeps context for
  size_t unpinned_sessions = 0;  // waiting for a live broker
  size_t waiting_bytes = 0;      // queued messages of unpinned sessions
  uint64_t batches_sent = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t streams_opened = 0;
  uint64_t streams_lost = 0;       // streams that ended while the link was running
  uint64_t sessions_repinned = 0;  // sessions moved to another broker after their stream ended
  uint64_t resumes_accepted = 0;
  uint64_t resumes_rejected = 0;  // → the socket was disconnected
  uint64_t unavailable = 0;       // UNAVAILABLE verdicts/rejections the link produced itself
};

class GrpcBrokerLink final : public BrokerLink {
 public:
  // `bus` (may be null) is used to discover brokers and to follow this edge's presence deltas
  // (the rooms of each socket, re-sent on failover); it must outlive the link.
  GrpcBrokerLink(GrpcBrokerLinkOptions options, bus::Bus* bus);
  ~GrpcBrokerLink() override;
  GrpcBrokerLink(const GrpcBrokerLink&) = delete;
  GrpcBrokerLink& operator=(const GrpcBrokerLink&) = delete;

  // Starts the link thread, subscribes, and opens streams to the configured brokers.
  void start();
  // Flushes and half-closes every stream (waiting at most `grace_ms` for the brokers to end them),
  // then cancels what is left and joins the link thread. Idempotent.
  void stop(uint32_t grace_ms = 2000);

  void send(internal::EdgeToBroker message) override;
  void set_receiver(std::function<void(internal::BrokerToEdge)> receiver) override;

  size_t live_brokers() const;
  std::vector<std::string> live_broker_addresses() const;
  GrpcBrokerLinkStats stats() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace herald::edge
