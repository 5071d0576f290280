// PresenceSync: binds a PresenceRegistry to the bus — presence deltas and heartbeats in, snapshot
// requests and this broker's own heartbeat out — on the broker's single thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/presence/presence_registry.h"
#include "common/bus/bus.h"
#include "common/bus/subjects.h"

namespace herald::broker {

struct PresenceSyncOptions {
  std::string broker_id;
  std::string broker_address;  // EdgeLink address advertised in this broker's heartbeat
  uint64_t boot_id = 0;
  int64_t heartbeat_interval_ms = 1000;
  PresenceOptions registry;  // heartbeat_timeout_ms applies to peer brokers too
};

// Subjects: in `<p>.presence.*` (PresenceDelta), `<p>.heartbeat.edge` and `<p>.heartbeat.broker`
// (Heartbeat); out `<p>.snapshot` (SnapshotRequest) and `<p>.heartbeat.broker`.
// Bus callbacks post to `executor`; every registry access happens there. Create with
// std::make_shared (callbacks hold weak references).
class PresenceSync : public std::enable_shared_from_this<PresenceSync> {
 public:
  using Clock = std::function<int64_t()>;  // Unix ms
  // Told about every change applied from a non-snapshot delta (for presence events).
  using ChangeListener =
      std::function<void(const std::string& edge_id, const internal::PresenceChange& change)>;

  PresenceSync(boost::asio::any_io_executor executor, bus::Bus& bus, bus::Subjects subjects,
               PresenceSyncOptions options, Clock clock);
  ~PresenceSync();

  // Subscribes, asks every edge for a snapshot, and (when `run_timer`) ticks every heartbeat
  // interval. Tests pass run_timer=false and call tick() themselves.
  void start(bool run_timer = true);
  // Unsubscribes and stops the timer. Call on the executor's thread.
  void stop();

  // Expires silent edges and brokers, re-asks missing snapshots, publishes this broker's heartbeat.
  void tick();

  // Handles one bus message now (on the executor's thread); what the bus callbacks post.
  void handle(const std::string& subject, const bus::EnvelopePtr& envelope);

  void set_change_listener(ChangeListener listener) { listener_ = std::move(listener); }

  PresenceRegistry& registry() { return registry_; }
  const PresenceRegistry& registry() const { return registry_; }
  // Live brokers other than this one, by id.
  std::vector<std::string> peer_brokers() const;

  // HandleEvents routes this broker advertises in its heartbeat ("<ns> <event>").
  void set_routes_provider(std::function<std::vector<std::string>()> provider) {
    routes_provider_ = std::move(provider);
  }
  // Whether a live peer broker advertised `route` ("<ns> <event>") in its last heartbeat.
  bool peer_handles(const std::string& route) const;

 private:
  void request_snapshot(const std::string& edge_id);
  void arm_timer();

  boost::asio::any_io_executor executor_;
  bus::Bus& bus_;
  bus::Subjects subjects_;
  PresenceSyncOptions options_;
  Clock clock_;
  PresenceRegistry registry_;
  ChangeListener listener_;
  std::vector<std::unique_ptr<bus::Subscription>> subscriptions_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::map<std::string, int64_t> peers_;                         // broker id → last heard (ms)
  std::map<std::string, std::vector<std::string>> peer_routes_;  // broker id → handled routes
  std::function<std::vector<std::string>()> routes_provider_;
  bool bus_down_ = false;  // expiry suspended: nobody's heartbeats can arrive
  uint64_t heartbeat_seq_ = 0;
  bool running_ = false;
};

}  // namespace herald::broker
