// BusAdapter: the edge's side of the bus — room/namespace subscriptions refcounted across shards,
// deliveries encoded once and fanned out to the shards, room commands, sequenced presence deltas,
// snapshots and heartbeats. ShardAdapter: one shard's RoomIndex wired to it.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/bus/bus.h"
#include "common/bus/subjects.h"
#include "common/status.h"
#include "edge/adapter/room_index.h"
#include "edge/engineio/session_handler.h"

namespace herald::edge {

struct BusAdapterOptions {
  std::string edge_id;
  std::string cluster_prefix = "herald";
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t max_rooms_per_socket = 1000;
  uint64_t boot_id = 0;  // 0: a random one
  // The bus is in-process (standalone: this edge is its only room subscriber). Room and namespace
  // subjects are then taken with two wildcard subscriptions instead of one subscription (and its
  // interest record) per room, which would cost ~800 bytes per one-member room such as
  // "user:<sub>"; every shard gets the delivery and filters it with its own room index.
  bool local_bus = false;
};

// Monotonic counters (and one gauge), readable from any thread.
struct AdapterCounters {
  std::atomic<uint64_t> deliveries_received{0};   // Delivery envelopes taken from the bus
  std::atomic<uint64_t> deliveries_invalid{0};    // not encodable (args_json not an array): dropped
  std::atomic<uint64_t> packets_sent{0};          // delivery packets accepted by a local socket
  std::atomic<uint64_t> packets_dropped{0};       // volatile drops, overflows, closed sockets
  std::atomic<uint64_t> commands_received{0};     // RoomCommand envelopes
  std::atomic<uint64_t> unsupported_messages{0};  // envelopes the edge does not handle
  std::atomic<uint64_t> joins_refused{0};         // max_rooms_per_socket reached
  std::atomic<uint64_t> presence_deltas{0};  // PresenceDelta messages published (not snapshots)
  std::atomic<uint64_t> presence_snapshots{0};
  std::atomic<uint64_t> heartbeats{0};
  std::atomic<uint64_t> fallback_received{0};  // bus messages that came on an EdgeLink stream
  std::atomic<int64_t> subscriptions{0};       // room + namespace subjects subscribed now
};

class BusAdapter;

// One shard's local sockets and rooms. Every method runs on the shard's thread.
class ShardAdapter final : private RoomObserver {
 public:
  ShardAdapter(BusAdapter& owner, uint32_t shard);

  uint32_t shard() const { return shard_; }
  const RoomIndex& index() const { return index_; }

  // Registers a socket that is connecting (not yet a namespace member): findable by id only.
  bool add_socket(LocalSocket& socket) { return index_.add_socket(socket); }
  // The broker accepted it: it enters its namespace (presence CONNECT).
  void connect(LocalSocket& socket);
  // Leaves every room and the namespace (presence DISCONNECT when it was connected).
  void remove_socket(LocalSocket& socket);
  LocalSocket* find(std::string_view socket_id) const { return index_.find(socket_id); }

  RoomIndex::JoinResult join(LocalSocket& socket, std::string_view room);
  bool leave(LocalSocket& socket, std::string_view room);

  // Bus side, posted by the BusAdapter.
  void deliver(const internal::Delivery& delivery, DeliveryScope scope,
               std::string_view subject_room, const eio::SharedMessage& message);
  void apply_command(const internal::RoomCommand& command, DeliveryScope scope,
                     std::string_view subject_room);
  // Appends CONNECT and JOIN changes describing every connected socket.
  void collect_snapshot(std::vector<internal::PresenceChange>& out) const;

 private:
  void on_room_created(std::string_view ns, std::string_view room) override;
  void on_room_deleted(std::string_view ns, std::string_view room) override;
  void on_namespace_created(const std::string& ns) override;
  void on_namespace_deleted(const std::string& ns) override;
  void record(internal::PresenceChange::Op op, const LocalSocket& socket, std::string_view room);

  BusAdapter& owner_;
  uint32_t shard_;
  RoomIndex index_;
  std::vector<LocalSocket*> scratch_;  // recipients of the delivery being handled
};

class BusAdapter : public std::enable_shared_from_this<BusAdapter> {
 public:
  // `shards`: each shard's io_context; bus messages are posted to them. They must outlive the
  // adapter's use (stop() before destroying them).
  static std::shared_ptr<BusAdapter> create(bus::Bus& bus, BusAdapterOptions options,
                                            std::vector<boost::asio::io_context*> shards);
  ~BusAdapter();
  BusAdapter(const BusAdapter&) = delete;
  BusAdapter& operator=(const BusAdapter&) = delete;

  // Subscribes <p>.edge.<id> and <p>.snapshot, publishes an empty snapshot (the edge (re)started:
  // brokers drop what they knew of it) and starts heartbeats on shard 0.
  void start();
  // Drops every subscription and stops heartbeats. Any thread.
  void stop();
  // Stops heartbeats and destroys their timer: on shard 0's thread, or while its loop does not
  // run, and before that io_context is destroyed.
  void release_timer();
  // After stop() and release_timer(), once the shard loops no longer run: announces an empty
  // snapshot (the edge has no sockets any more; brokers need not wait for heartbeats to expire).
  void shutdown();

  ShardAdapter& shard(uint32_t index) { return *shards_[index]; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  const std::string& edge_id() const { return options_.edge_id; }
  const bus::Subjects& subjects() const { return subjects_; }
  const AdapterCounters& counters() const { return counters_; }
  uint64_t boot_id() const { return options_.boot_id; }
  uint64_t presence_seq() const;
  // Subjects currently subscribed for rooms and namespaces (for tests and /metrics).
  bool subscribed(const std::string& subject) const;

  // Collects every shard's state and publishes it as one snapshot delta (what a SnapshotRequest
  // for this edge does). Any thread.
  void publish_snapshot();
  // Presence deltas and heartbeats are published under the presence lock (seq order is publish
  // order): a subscriber must not call back into the edge synchronously from its handler.

  // Publishes one heartbeat now (the timer calls it every heartbeat_interval_ms). Any thread.
  void publish_heartbeat();

  // Messages on <p>.edge.<edge-id> the adapter does not handle itself (forwarded polling
  // requests and their replies) go to `hook`, on a bus thread; it returns whether it took the
  // message. Set before start().
  void set_edge_message_hook(std::function<bool(const bus::EnvelopePtr&)> hook) {
    edge_hook_ = std::move(hook);
  }

  // A bus message that came another way while the bus was down (BusFallback on a broker's
  // EdgeLink stream): handled exactly as if it had arrived on `subject`. Any thread.
  void on_fallback(const std::string& subject, const bus::EnvelopePtr& envelope);

  // The Socket.IO EVENT/BINARY_EVENT packet of a delivery, encoded once for every recipient.
  static Result<eio::SharedMessage> encode_delivery(const internal::Delivery& delivery);

 private:
  friend class ShardAdapter;
  struct Interest;

  BusAdapter(bus::Bus& bus, BusAdapterOptions options,
             std::vector<boost::asio::io_context*> shards);

  void retain(uint32_t shard, DeliveryScope scope, std::string_view ns, std::string_view room);
  void release(uint32_t shard, DeliveryScope scope, std::string_view ns, std::string_view room);
  void subscribe_interest(const std::string& subject, const std::shared_ptr<Interest>& interest);
  // local_bus: the wildcard subscriptions for every room and namespace subject.
  void subscribe_wildcards();
  // local_bus: a room or namespace subject's scope and room; false for anything else.
  bool parse_subject(std::string_view subject, DeliveryScope* scope, std::string* room) const;
  // `interest` null: every shard (edge subjects, local_bus); `subject_room`: the room of a kRoom
  // subject.
  void on_bus_message(const bus::EnvelopePtr& envelope, DeliveryScope scope,
                      const std::shared_ptr<Interest>& interest, std::string_view subject_room);
  void record(uint32_t shard, internal::PresenceChange change);
  void flush_presence();
  void add_snapshot_part(std::vector<internal::PresenceChange> part);
  // Publishes the next sequenced delta; presence_mu_ held (seq order is publish order).
  void publish_delta_locked(bool snapshot, std::vector<internal::PresenceChange> changes);
  void schedule_heartbeat();

  bus::Bus& bus_;
  BusAdapterOptions options_;
  bus::Subjects subjects_;
  std::vector<boost::asio::io_context*> executors_;
  std::vector<std::unique_ptr<ShardAdapter>> shards_;
  AdapterCounters counters_;

  mutable std::mutex interest_mu_;
  std::unordered_map<std::string, std::shared_ptr<Interest>> interests_;  // by subject
  std::unique_ptr<bus::Subscription> edge_subscription_;
  std::unique_ptr<bus::Subscription> snapshot_subscription_;
  std::unique_ptr<bus::Subscription> rooms_subscription_;       // local_bus
  std::unique_ptr<bus::Subscription> namespaces_subscription_;  // local_bus
  bool stopped_ = false;                                        // interest_mu_

  mutable std::mutex presence_mu_;
  uint64_t seq_ = 0;
  std::vector<internal::PresenceChange> pending_;
  bool flush_posted_ = false;
  bool snapshot_in_progress_ = false;
  uint32_t snapshot_parts_missing_ = 0;
  std::vector<internal::PresenceChange> snapshot_changes_;

  std::function<bool(const bus::EnvelopePtr&)> edge_hook_;

  std::unique_ptr<boost::asio::steady_timer> heartbeat_timer_;  // on shard 0
  std::atomic<bool> heartbeats_stopped_{false};
};

}  // namespace herald::edge
