// SocketServer and SioShard: broker messages hop to the owning shard with one post; timeouts are
// FIFO queues swept by one timer per shard.
#include "edge/socketio/socket_server.h"

#include <boost/asio/post.hpp>
#include <cassert>

#include "common/ids.h"
#include "common/log/log.h"
#include "edge/socketio/connection.h"

namespace herald::sio {

namespace {

constexpr std::string_view kLog = "edge.sio";

const std::string& socket_id_of(const internal::BrokerToEdge& m) {
  static const std::string kNone;
  switch (m.kind_case()) {
    case internal::BrokerToEdge::kAccepted:
      return m.accepted().socket_id();
    case internal::BrokerToEdge::kRejected:
      return m.rejected().socket_id();
    case internal::BrokerToEdge::kVerdict:
      return m.verdict().socket_id();
    case internal::BrokerToEdge::kEmit:
      return m.emit().socket_id();
    case internal::BrokerToEdge::kDisconnect:
      return m.disconnect().socket_id();
    default:
      return kNone;
  }
}

}  // namespace

SocketServerOptions SocketServerOptions::from(const edge::EdgeConfig& config) {
  SocketServerOptions o;
  o.connect_timeout_ms = config.connect_timeout_ms;
  o.max_namespaces_per_connection = config.max_namespaces_per_connection;
  o.max_attachments = config.max_attachments;
  o.max_payload = config.max_payload;
  o.ack_timeout_ms = config.ack_timeout_ms;
  return o;
}

// --- NamespaceGauges ----------------------------------------------------------------------------

std::atomic<int64_t>* NamespaceGauges::gauge(const std::string& ns) {
  std::lock_guard lock(mu_);
  auto it = by_ns_.find(ns);
  if (it != by_ns_.end()) return it->second.get();
  const std::string key = by_ns_.size() < kMaxNamespaces ? ns : std::string(kOther);
  auto& slot = by_ns_[key];
  if (!slot) slot = std::make_unique<std::atomic<int64_t>>(0);
  return slot.get();
}

std::vector<std::pair<std::string, int64_t>> NamespaceGauges::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, int64_t>> out;
  out.reserve(by_ns_.size());
  for (const auto& [ns, count] : by_ns_)
    out.emplace_back(ns, count->load(std::memory_order_relaxed));
  return out;
}

// --- SioShard -----------------------------------------------------------------------------------

SioShard::SioShard(SocketServer& server, uint32_t index, boost::asio::io_context& io,
                   edge::ShardAdapter& rooms)
    : server_(server),
      index_(index),
      io_(io),
      rooms_(rooms),
      timer_(std::make_unique<boost::asio::steady_timer>(io)) {}

SioShard::~SioShard() {
  flush_to_broker();
}

void SioShard::send_to_broker(internal::EdgeToBroker message) {
  if (stopped_) {
    flush_to_broker();  // keeps the order
    server_.link().send(std::move(message));
    return;
  }
  outbox_.push_back(std::move(message));
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(io_, [this] { flush_to_broker(); });
}

void SioShard::flush_to_broker() {
  flush_posted_ = false;
  if (outbox_.empty()) return;
  std::vector<internal::EdgeToBroker> batch;
  batch.swap(outbox_);
  server_.link().send_batch(std::move(batch));
}

Socket* SioShard::find_socket(std::string_view socket_id) {
  // Every LocalSocket in a shard's index is a Socket of one of its Connections.
  return static_cast<Socket*>(rooms_.find(socket_id));
}

uint64_t SioShard::watch_connect(Connection& connection) {
  const uint64_t id = next_watch_id_++;
  unconnected_.emplace(id, &connection);
  connects_.push_back(
      {server_.now() + std::chrono::milliseconds(server_.options().connect_timeout_ms), id});
  arm();
  return id;
}

void SioShard::unwatch_connect(uint64_t watch_id) {
  // Its queue entry stays until its deadline and is skipped then.
  unconnected_.erase(watch_id);
}

void SioShard::watch_ack(std::string_view socket_id, uint64_t ack_id) {
  acks_.push_back({server_.now() + std::chrono::milliseconds(server_.options().ack_timeout_ms),
                   InlineId(socket_id), ack_id});
  arm();
}

void SioShard::sweep(Clock::time_point now) {
  while (!connects_.empty() && connects_.front().deadline <= now) {
    const uint64_t id = connects_.front().watch_id;
    connects_.pop_front();
    auto it = unconnected_.find(id);
    if (it == unconnected_.end()) continue;
    Connection* connection = it->second;
    unconnected_.erase(it);
    connection->on_connect_timeout();
  }
  while (!acks_.empty() && acks_.front().deadline <= now) {
    AckDeadline entry = std::move(acks_.front());
    acks_.pop_front();
    if (Socket* socket = find_socket(entry.socket_id)) {
      socket->connection().on_ack_timeout(*socket, entry.ack_id);
    }
  }
}

void SioShard::arm() {
  if (armed_ || stopped_ || !timer_ || (acks_.empty() && connects_.empty())) return;
  armed_ = true;
  timer_->expires_after(server_.options().sweep_interval);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: `this` may be gone
    armed_ = false;
    sweep(server_.now());
    arm();
  });
}

void SioShard::stop() {
  flush_to_broker();
  stopped_ = true;
  timer_.reset();  // cancels a pending wait, whose handler then touches nothing
  armed_ = false;
}

// --- SocketServer -------------------------------------------------------------------------------

SocketServer::SocketServer(SocketServerOptions options, std::string edge_tag,
                           edge::BrokerLink& link, edge::BusAdapter& adapter,
                           std::vector<boost::asio::io_context*> shards)
    : options_(options),
      edge_tag_(std::move(edge_tag)),
      link_(link),
      clock_([] { return Clock::now(); }) {
  assert(adapter.shard_count() == shards.size() && "one adapter shard per io_context");
  shards_.reserve(shards.size());
  for (uint32_t i = 0; i < shards.size(); ++i) {
    shards_.push_back(std::make_unique<SioShard>(*this, i, *shards[i], adapter.shard(i)));
  }
}

SocketServer::~SocketServer() = default;

std::unique_ptr<eio::SessionHandler> SocketServer::on_open(eio::Session& session) {
  return std::make_unique<Connection>(*shards_.at(session.shard()), session);
}

void SocketServer::on_broker_message(internal::BrokerToEdge message) {
  const uint32_t n = shard_count();
  if (message.kind_case() == internal::BrokerToEdge::kRooms) {
    // One RoomChange may name sockets of several shards: split it.
    const auto& change = message.rooms();
    std::vector<internal::BrokerToEdge> parts(n);
    std::vector<bool> used(n, false);
    for (const auto& id : change.socket_ids()) {
      auto parsed = parse_id(id);
      if (!parsed || parsed->edge_tag != edge_tag_ || parsed->shard >= n) {
        counters_.unroutable_broker_messages.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      auto* part = parts[parsed->shard].mutable_rooms();
      if (!used[parsed->shard]) {
        used[parsed->shard] = true;
        *part->mutable_join() = change.join();
        *part->mutable_leave() = change.leave();
      }
      part->add_socket_ids(id);
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (!used[i]) continue;
      boost::asio::post(shards_[i]->io(),
                        [this, i, m = std::move(parts[i])] { handle(*shards_[i], m); });
    }
    return;
  }
  auto parsed = parse_id(socket_id_of(message));
  if (!parsed || parsed->edge_tag != edge_tag_ || parsed->shard >= n) {
    counters_.unroutable_broker_messages.fetch_add(1, std::memory_order_relaxed);
    log::write_limited("unroutable", 5, log::Level::kWarn, kLog,
                       "broker message for a socket of no shard here",
                       {{"socket", socket_id_of(message)}});
    return;
  }
  const uint32_t i = parsed->shard;
  boost::asio::post(shards_[i]->io(),
                    [this, i, m = std::move(message)] { handle(*shards_[i], m); });
}

void SocketServer::handle(SioShard& shard, const internal::BrokerToEdge& message) {
  if (message.kind_case() == internal::BrokerToEdge::kRooms) {
    for (const auto& id : message.rooms().socket_ids()) {
      if (Socket* socket = shard.find_socket(id)) {
        socket->connection().on_room_change(*socket, message.rooms());
      } else {
        counters_.stale_broker_messages.fetch_add(1, std::memory_order_relaxed);
      }
    }
    return;
  }
  Socket* socket = shard.find_socket(socket_id_of(message));
  if (socket == nullptr) {
    // The socket closed while the broker was answering: normal, nothing to do.
    counters_.stale_broker_messages.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Connection& connection = socket->connection();
  switch (message.kind_case()) {
    case internal::BrokerToEdge::kAccepted:
      return connection.on_accepted(*socket, message.accepted());
    case internal::BrokerToEdge::kRejected:
      return connection.on_rejected(*socket, message.rejected());
    case internal::BrokerToEdge::kVerdict:
      return connection.on_verdict(*socket, message.verdict());
    case internal::BrokerToEdge::kEmit:
      return connection.on_emit(*socket, message.emit());
    case internal::BrokerToEdge::kDisconnect:
      return connection.server_disconnect(*socket, message.disconnect().close_connection());
    default:
      return;
  }
}

void SocketServer::stop() {
  for (auto& shard : shards_) {
    SioShard* s = shard.get();
    boost::asio::post(s->io(), [s] { s->stop(); });
  }
}

}  // namespace herald::sio
