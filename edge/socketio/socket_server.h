// SocketServer: the Socket.IO v5 server side of the edge — the SessionHandlerFactory that gives
// every Engine.IO session a Connection, per-shard state (timeouts, pending acks) and the routing of
// broker messages to the shard that owns their socket.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ids.h"
#include "edge/adapter/bus_adapter.h"
#include "edge/broker_link.h"
#include "edge/edge_config.h"
#include "edge/engineio/session_handler.h"
#include "herald/internal/edgelink.pb.h"

namespace herald::sio {

class Connection;
class Socket;
class SocketServer;

// Monotonic counters, readable from any thread. The "closed" group are client protocol
// violations that close the connection; "ignored" ones are dropped like the Node server does.
struct SioCounters {
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> connections_closed{0};
  std::atomic<uint64_t> namespace_connects{0};  // SessionOpen sent
  std::atomic<uint64_t> connects_accepted{0};
  std::atomic<uint64_t> connects_rejected{0};
  std::atomic<uint64_t> namespace_limit_refused{0};  // max_namespaces_per_connection
  std::atomic<uint64_t> connect_timeouts{0};         // no namespace within connect_timeout_ms
  std::atomic<uint64_t> events_in{0};                // ClientEvent sent
  std::atomic<uint64_t> client_acks_in{0};           // ClientAck sent (client answered)
  std::atomic<uint64_t> acks_out{0};                 // ACK / BINARY_ACK sent to clients
  std::atomic<uint64_t> error_events_out{0};         // "error" events sent to clients
  std::atomic<uint64_t> emits_out{0};                // EmitToSocket written
  std::atomic<uint64_t> ack_timeouts{0};             // server emits whose ack never came
  std::atomic<uint64_t> client_disconnects{0};
  std::atomic<uint64_t> server_disconnects{0};
  // closed ("parse error" / "forced server close")
  std::atomic<uint64_t> bad_packets{0};             // decode_packet refused the text frame
  std::atomic<uint64_t> binary_sequence_errors{0};  // attachments out of sequence or too large
  std::atomic<uint64_t> reserved_events{0};         // event named "connect", "disconnect", ...
  std::atomic<uint64_t> invalid_state{0};           // packet for a namespace not connected, ...
  // ignored
  std::atomic<uint64_t> unknown_acks{0};                // ACK with an id nothing waits for
  std::atomic<uint64_t> duplicate_connects{0};          // CONNECT while that namespace is pending
  std::atomic<uint64_t> stale_broker_messages{0};       // for a socket that is gone
  std::atomic<uint64_t> unroutable_broker_messages{0};  // socket id of no shard of this edge
  std::atomic<uint64_t> encode_failures{0};             // broker args_json not an array
};

// Connected sockets per namespace, for /metrics. gauge() locks (once per accepted socket, never per
// packet); the count itself is an atomic the socket keeps. Past kMaxNamespaces names (dynamic
// namespaces), new ones share the "~other" series so the label set stays bounded.
class NamespaceGauges {
 public:
  static constexpr std::size_t kMaxNamespaces = 256;
  static constexpr std::string_view kOther = "~other";

  std::atomic<int64_t>* gauge(const std::string& ns);
  std::vector<std::pair<std::string, int64_t>> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::atomic<int64_t>>, std::less<>> by_ns_;
};

// One shard's Socket.IO state. Touched only on the shard's thread.
class SioShard {
 public:
  using Clock = std::chrono::steady_clock;

  SioShard(SocketServer& server, uint32_t index, boost::asio::io_context& io,
           edge::ShardAdapter& rooms);
  ~SioShard();

  uint32_t index() const { return index_; }
  boost::asio::io_context& io() { return io_; }
  edge::ShardAdapter& rooms() { return rooms_; }
  SocketServer& server() { return server_; }

  Socket* find_socket(std::string_view socket_id);

  // Messages to the broker leave in one batch per turn of the shard's loop: handing each over on
  // its own would wake the broker's thread once per message, which on a busy core preempts the
  // shard every time (two context switches per connect). Order is kept. After stop(): at once.
  void send_to_broker(internal::EdgeToBroker message);

  // Connection timeouts and server-emit ack timeouts: FIFO queues (one timeout value each, so
  // deadlines are monotonic) swept by one shard timer, not a timer per item.
  uint64_t watch_connect(Connection& connection);  // returns the watch id
  void unwatch_connect(uint64_t watch_id);
  void watch_ack(std::string_view socket_id, uint64_t ack_id);
  void sweep(Clock::time_point now);
  // Stops sweeping and releases the timer. On the shard's thread (or with its loop not running):
  // the io_context may be destroyed right after.
  void stop();

  size_t pending_ack_timeouts() const { return acks_.size(); }

 private:
  struct AckDeadline {
    Clock::time_point deadline;
    InlineId socket_id;
    uint64_t ack_id;
  };
  struct ConnectDeadline {
    Clock::time_point deadline;
    uint64_t watch_id;
  };
  void arm();
  void flush_to_broker();

  SocketServer& server_;
  uint32_t index_;
  boost::asio::io_context& io_;
  edge::ShardAdapter& rooms_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  bool armed_ = false;
  bool stopped_ = false;
  std::deque<AckDeadline> acks_;
  std::deque<ConnectDeadline> connects_;
  std::unordered_map<uint64_t, Connection*> unconnected_;
  uint64_t next_watch_id_ = 1;
  std::vector<internal::EdgeToBroker> outbox_;
  bool flush_posted_ = false;
};

struct SocketServerOptions {
  uint32_t connect_timeout_ms = 45000;
  uint32_t max_namespaces_per_connection = 32;
  uint32_t max_attachments = 32;
  uint32_t max_payload = 1000000;  // also caps a binary packet's attachments in total
  uint32_t ack_timeout_ms = 10000;
  std::chrono::milliseconds sweep_interval{100};

  static SocketServerOptions from(const edge::EdgeConfig& config);
};

class SocketServer final : public eio::SessionHandlerFactory {
 public:
  using Clock = std::chrono::steady_clock;

  // `shards` are the Engine.IO server's io_contexts, in shard order; `adapter` has as many shards.
  SocketServer(SocketServerOptions options, std::string edge_tag, edge::BrokerLink& link,
               edge::BusAdapter& adapter, std::vector<boost::asio::io_context*> shards);
  ~SocketServer() override;
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  // On the session's shard.
  std::unique_ptr<eio::SessionHandler> on_open(eio::Session& session) override;

  // The BrokerLink receiver: any thread. Posts the message to the shard owning its socket.
  void on_broker_message(internal::BrokerToEdge message);

  // Stops the shards' sweep timers (posted to each shard; see SioShard::stop for doing it inline).
  void stop();

  // Time source for deadlines (tests inject one; default steady_clock::now).
  void set_clock(std::function<Clock::time_point()> clock) { clock_ = std::move(clock); }
  Clock::time_point now() const { return clock_(); }

  const SocketServerOptions& options() const { return options_; }
  const std::string& edge_tag() const { return edge_tag_; }
  edge::BrokerLink& link() { return link_; }
  SioCounters& counters() { return counters_; }
  const SioCounters& counters() const { return counters_; }
  NamespaceGauges& namespace_gauges() { return namespace_gauges_; }
  const NamespaceGauges& namespace_gauges() const { return namespace_gauges_; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  SioShard& shard(uint32_t index) { return *shards_[index]; }

 private:
  void handle(SioShard& shard, const internal::BrokerToEdge& message);

  SocketServerOptions options_;
  std::string edge_tag_;
  edge::BrokerLink& link_;
  std::vector<std::unique_ptr<SioShard>> shards_;
  std::function<Clock::time_point()> clock_;
  SioCounters counters_;
  NamespaceGauges namespace_gauges_;
};

}  // namespace herald::sio
