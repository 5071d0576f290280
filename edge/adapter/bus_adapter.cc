// BusAdapter and ShardAdapter: bus handlers decode and encode once on the bus thread, then post
// the shared packet to the shards that have members; shards never block on the bus.
#include "edge/adapter/bus_adapter.h"

#include <openssl/rand.h>

#include <boost/asio/post.hpp>

#include "common/ids.h"
#include "common/log/log.h"
#include "edge/engineio/outbound.h"
#include "edge/socketio/packet.h"

namespace herald::edge {

namespace {

constexpr std::string_view kLog = "edge.adapter";

uint64_t random_boot_id() {
  uint64_t v = 0;
  while (v == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof(v)) != 1) std::abort();
  }
  return v;
}

}  // namespace

// --- ShardAdapter -------------------------------------------------------------------------------

ShardAdapter::ShardAdapter(BusAdapter& owner, uint32_t shard)
    : owner_(owner), shard_(shard), index_(this) {}

void ShardAdapter::connect(LocalSocket& socket) {
  if (index_.in_namespace(socket)) return;
  index_.enter_namespace(socket);
  record(internal::PresenceChange::OP_CONNECT, socket, {});
}

void ShardAdapter::remove_socket(LocalSocket& socket) {
  const bool was_connected = index_.in_namespace(socket);
  index_.remove_socket(socket);
  // DISCONNECT implies leaving every room: no LEAVE per room.
  if (was_connected) record(internal::PresenceChange::OP_DISCONNECT, socket, {});
}

RoomIndex::JoinResult ShardAdapter::join(LocalSocket& socket, std::string_view room) {
  auto result = index_.join(socket, room, owner_.options_.max_rooms_per_socket);
  if (result == RoomIndex::JoinResult::kJoined) {
    record(internal::PresenceChange::OP_JOIN, socket, room);
  } else if (result == RoomIndex::JoinResult::kLimitReached) {
    owner_.counters_.joins_refused.fetch_add(1, std::memory_order_relaxed);
    log::write_limited("join_limit", 10, log::Level::kWarn, kLog, "max_rooms_per_socket reached",
                       {{"socket", socket.id()}, {"room", std::string(room)}});
  }
  return result;
}

bool ShardAdapter::leave(LocalSocket& socket, std::string_view room) {
  if (!index_.leave(socket, room)) return false;
  record(internal::PresenceChange::OP_LEAVE, socket, room);
  return true;
}

void ShardAdapter::deliver(const internal::Delivery& delivery, DeliveryScope scope,
                           std::string_view subject_room, const eio::SharedMessage& message) {
  scratch_.clear();
  index_.collect_recipients(delivery, scope, subject_room, scratch_);
  uint64_t sent = 0;
  // A send may close its own connection (overflow), which removes only that connection's
  // sockets; the others in scratch_ stay valid (one socket per connection per namespace).
  for (LocalSocket* socket : scratch_) {
    if (socket->send(message) == eio::SendResult::kQueued) ++sent;
  }
  const uint64_t dropped = scratch_.size() - sent;
  scratch_.clear();
  if (sent != 0) owner_.counters_.packets_sent.fetch_add(sent, std::memory_order_relaxed);
  if (dropped != 0) owner_.counters_.packets_dropped.fetch_add(dropped, std::memory_order_relaxed);
}

void ShardAdapter::apply_command(const internal::RoomCommand& command, DeliveryScope scope,
                                 std::string_view subject_room) {
  // Ids, not pointers: a disconnect below may destroy sockets.
  std::vector<std::string> ids;
  auto add_members = [&ids](const auto* members) {
    if (members == nullptr) return;
    for (LocalSocket* s : *members) ids.emplace_back(s->id());
  };
  const std::string& ns = command.ns();
  if (!command.socket_ids().empty()) {
    for (const auto& id : command.socket_ids()) {
      LocalSocket* s = index_.find(id);
      if (s != nullptr && index_.in_namespace(*s) && (ns.empty() || s->ns() == ns)) {
        ids.push_back(id);
      }
    }
  } else {
    const bool whole_namespace = scope == DeliveryScope::kNamespace ||
                                 (scope == DeliveryScope::kEdge && command.room().empty());
    if (whole_namespace) {
      add_members(index_.namespace_members(ns));
    } else {
      const std::string_view room = scope == DeliveryScope::kRoom ? subject_room : command.room();
      add_members(index_.members(ns, room));
      if (LocalSocket* own = index_.find(room);
          own != nullptr && own->ns() == ns && index_.in_namespace(*own)) {
        ids.emplace_back(own->id());
      }
    }
  }
  for (const auto& id : ids) {
    LocalSocket* s = index_.find(id);
    if (s == nullptr) continue;
    for (const auto& room : command.join()) join(*s, room);
    for (const auto& room : command.leave()) leave(*s, room);
    if (command.disconnect()) s->disconnect(command.reason(), command.close_connection());
  }
}

void ShardAdapter::collect_snapshot(std::vector<internal::PresenceChange>& out) const {
  index_.for_each_connected([&](const LocalSocket& s) {
    auto& c = out.emplace_back();
    c.set_op(internal::PresenceChange::OP_CONNECT);
    c.set_socket_id(std::string(s.id()));
    c.set_ns(s.ns());
    c.set_user_id(s.user_id());
    for (std::string_view room : index_.rooms_of(s)) {
      auto& j = out.emplace_back();
      j.set_op(internal::PresenceChange::OP_JOIN);
      j.set_socket_id(std::string(s.id()));
      j.set_ns(s.ns());
      j.set_room(std::string(room));
    }
  });
}

void ShardAdapter::record(internal::PresenceChange::Op op, const LocalSocket& socket,
                          std::string_view room) {
  internal::PresenceChange change;
  change.set_op(op);
  change.set_socket_id(std::string(socket.id()));
  change.set_ns(socket.ns());
  if (op == internal::PresenceChange::OP_CONNECT) change.set_user_id(socket.user_id());
  if (!room.empty()) change.set_room(std::string(room));
  owner_.record(shard_, std::move(change));
}

void ShardAdapter::on_room_created(std::string_view ns, std::string_view room) {
  owner_.retain(shard_, DeliveryScope::kRoom, ns, room);
}
void ShardAdapter::on_room_deleted(std::string_view ns, std::string_view room) {
  owner_.release(shard_, DeliveryScope::kRoom, ns, room);
}
void ShardAdapter::on_namespace_created(const std::string& ns) {
  owner_.retain(shard_, DeliveryScope::kNamespace, ns, {});
}
void ShardAdapter::on_namespace_deleted(const std::string& ns) {
  owner_.release(shard_, DeliveryScope::kNamespace, ns, {});
}

// --- BusAdapter ---------------------------------------------------------------------------------

// One room or namespace subject the edge is subscribed to, and which shards have members.
struct BusAdapter::Interest {
  DeliveryScope scope = DeliveryScope::kRoom;
  std::string ns;
  std::string room;
  std::unique_ptr<std::atomic<bool>[]> on_shard;  // read by bus threads without the lock
  std::vector<uint32_t> shard_counts;             // interest_mu_
  uint32_t total = 0;                             // interest_mu_
  std::unique_ptr<bus::Subscription> subscription;
};

std::shared_ptr<BusAdapter> BusAdapter::create(bus::Bus& bus, BusAdapterOptions options,
                                               std::vector<boost::asio::io_context*> shards) {
  return std::shared_ptr<BusAdapter>(new BusAdapter(bus, std::move(options), std::move(shards)));
}

BusAdapter::BusAdapter(bus::Bus& bus, BusAdapterOptions options,
                       std::vector<boost::asio::io_context*> shards)
    : bus_(bus),
      options_(std::move(options)),
      subjects_(options_.cluster_prefix),
      executors_(std::move(shards)) {
  if (options_.boot_id == 0) options_.boot_id = random_boot_id();
  shards_.reserve(executors_.size());
  for (uint32_t i = 0; i < executors_.size(); ++i) {
    shards_.push_back(std::make_unique<ShardAdapter>(*this, i));
  }
  if (!executors_.empty()) {
    heartbeat_timer_ = std::make_unique<boost::asio::steady_timer>(*executors_[0]);
  }
}

BusAdapter::~BusAdapter() {
  stop();
}

void BusAdapter::start() {
  std::weak_ptr<BusAdapter> weak = weak_from_this();
  {
    std::lock_guard lock(interest_mu_);
    stopped_ = false;
    edge_subscription_ =
        bus_.subscribe(subjects_.edge(options_.edge_id),
                       [weak](const std::string&, const bus::EnvelopePtr& envelope) {
                         if (auto self = weak.lock())
                           self->on_bus_message(envelope, DeliveryScope::kEdge, nullptr, {});
                       });
    snapshot_subscription_ = bus_.subscribe(
        subjects_.snapshot_request(), [weak](const std::string&, const bus::EnvelopePtr& envelope) {
          auto self = weak.lock();
          if (!self || envelope->kind_case() != bus::Envelope::kSnapshotRequest) return;
          const auto& request = envelope->snapshot_request();
          if (!request.edge_id().empty() && request.edge_id() != self->options_.edge_id) return;
          // Never inline: the request may be published from inside our own presence publish.
          if (self->executors_.empty()) return;
          boost::asio::post(*self->executors_[0], [self] { self->publish_snapshot(); });
        });
    if (options_.local_bus) {
      subscribe_wildcards();
    } else {
      // Interests registered before start() (or kept across stop()) get their subscriptions now.
      for (auto& [subject, interest] : interests_) {
        if (!interest->subscription) subscribe_interest(subject, interest);
      }
    }
  }
  bus_.on_state_change([weak](bus::BusState state) {
    // Whatever was published while disconnected is lost: re-announce the full state.
    auto self = weak.lock();
    if (!self || state != bus::BusState::kConnected || self->executors_.empty()) return;
    boost::asio::post(*self->executors_[0], [self] { self->publish_snapshot(); });
  });
  {
    std::lock_guard lock(presence_mu_);
    publish_delta_locked(true, {});
  }
  heartbeats_stopped_.store(false);
  publish_heartbeat();
  // The timer is shard 0's: arm it from there.
  if (!executors_.empty()) {
    boost::asio::post(*executors_[0], [self = shared_from_this()] { self->schedule_heartbeat(); });
  }
}

void BusAdapter::stop() {
  {
    std::lock_guard lock(interest_mu_);
    stopped_ = true;
    for (auto& [subject, interest] : interests_) {
      if (interest->subscription) {
        interest->subscription.reset();
        counters_.subscriptions.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    edge_subscription_.reset();
    snapshot_subscription_.reset();
    if (rooms_subscription_) counters_.subscriptions.fetch_sub(2, std::memory_order_relaxed);
    rooms_subscription_.reset();
    namespaces_subscription_.reset();
  }
  if (!heartbeats_stopped_.exchange(true) && heartbeat_timer_ && !executors_.empty()) {
    // The timer belongs to shard 0's thread; cancel it there (a no-op once that loop is gone).
    boost::asio::post(*executors_[0], [weak = weak_from_this()] {
      auto self = weak.lock();
      if (self && self->heartbeat_timer_) self->heartbeat_timer_->cancel();
    });
  }
}

void BusAdapter::shutdown() {
  stop();
  {
    std::lock_guard lock(presence_mu_);
    pending_.clear();
    snapshot_in_progress_ = false;
    snapshot_changes_.clear();
    publish_delta_locked(true, {});
  }
}

void BusAdapter::release_timer() {
  heartbeats_stopped_.store(true);
  heartbeat_timer_.reset();
}

uint64_t BusAdapter::presence_seq() const {
  std::lock_guard lock(presence_mu_);
  return seq_;
}

bool BusAdapter::subscribed(const std::string& subject) const {
  std::lock_guard lock(interest_mu_);
  auto it = interests_.find(subject);
  return it != interests_.end() && it->second->subscription != nullptr;
}

Result<eio::SharedMessage> BusAdapter::encode_delivery(const internal::Delivery& delivery) {
  auto message = std::make_shared<eio::OutboundMessage>();
  const std::string_view args = delivery.args_json().empty()
                                    ? std::string_view("[]")
                                    : std::string_view(delivery.args_json());
  const auto attachments = static_cast<uint32_t>(delivery.attachments_size());
  message->text.reserve(
      sio::event_encoded_size(delivery.ns(), delivery.event(), args, attachments, std::nullopt));
  if (Status s = sio::append_event(delivery.ns(), delivery.event(), args, attachments, std::nullopt,
                                   message->text);
      !s.ok()) {
    return s;
  }
  message->binaries.reserve(delivery.attachments_size());
  for (const auto& a : delivery.attachments()) message->binaries.push_back(a);
  message->is_volatile = delivery.volatile_();
  eio::seal_message(*message);
  return eio::SharedMessage(std::move(message));
}

void BusAdapter::retain(uint32_t shard, DeliveryScope scope, std::string_view ns,
                        std::string_view room) {
  if (options_.local_bus) return;  // the wildcards cover it
  std::string subject = scope == DeliveryScope::kRoom ? subjects_.room(ns, room) : subjects_.ns(ns);
  std::lock_guard lock(interest_mu_);
  auto& interest = interests_[subject];
  if (!interest) {
    interest = std::make_shared<Interest>();
    interest->scope = scope;
    interest->ns = ns;
    interest->room = room;
    interest->on_shard = std::make_unique<std::atomic<bool>[]>(shards_.size());
    interest->shard_counts.assign(shards_.size(), 0);
  }
  if (interest->shard_counts[shard]++ == 0) interest->on_shard[shard].store(true);
  if (interest->total++ == 0 && !stopped_) subscribe_interest(subject, interest);
}

void BusAdapter::release(uint32_t shard, DeliveryScope scope, std::string_view ns,
                         std::string_view room) {
  if (options_.local_bus) return;
  std::string subject = scope == DeliveryScope::kRoom ? subjects_.room(ns, room) : subjects_.ns(ns);
  std::lock_guard lock(interest_mu_);
  auto it = interests_.find(subject);
  if (it == interests_.end()) return;
  Interest& interest = *it->second;
  if (interest.shard_counts[shard] == 0) return;
  if (--interest.shard_counts[shard] == 0) interest.on_shard[shard].store(false);
  if (--interest.total == 0) {
    if (interest.subscription) {
      interest.subscription.reset();
      counters_.subscriptions.fetch_sub(1, std::memory_order_relaxed);
    }
    interests_.erase(it);
  }
}

void BusAdapter::subscribe_interest(const std::string& subject,
                                    const std::shared_ptr<Interest>& interest) {
  std::weak_ptr<BusAdapter> weak = weak_from_this();
  std::weak_ptr<Interest> weak_interest = interest;
  interest->subscription = bus_.subscribe(
      subject, [weak, weak_interest](const std::string&, const bus::EnvelopePtr& envelope) {
        auto self = weak.lock();
        auto target = weak_interest.lock();
        if (self && target) self->on_bus_message(envelope, target->scope, target, target->room);
      });
  counters_.subscriptions.fetch_add(1, std::memory_order_relaxed);
}

void BusAdapter::subscribe_wildcards() {
  std::weak_ptr<BusAdapter> weak = weak_from_this();
  auto handler = [weak](const std::string& subject, const bus::EnvelopePtr& envelope) {
    auto self = weak.lock();
    DeliveryScope scope;
    std::string room;
    if (self && self->parse_subject(subject, &scope, &room)) {
      self->on_bus_message(envelope, scope, nullptr, room);
    }
  };
  rooms_subscription_ = bus_.subscribe(subjects_.prefix() + ".room.*.*", handler);
  namespaces_subscription_ = bus_.subscribe(subjects_.prefix() + ".ns.*", handler);
  counters_.subscriptions.fetch_add(2, std::memory_order_relaxed);
}

bool BusAdapter::parse_subject(std::string_view subject, DeliveryScope* scope,
                               std::string* room) const {
  const std::string& prefix = subjects_.prefix();
  if (subject.size() <= prefix.size() || subject.substr(0, prefix.size()) != prefix ||
      subject[prefix.size()] != '.') {
    return false;
  }
  std::string_view rest = subject.substr(prefix.size() + 1);
  if (rest.starts_with("ns.")) {
    *scope = DeliveryScope::kNamespace;
    room->clear();
    return true;
  }
  if (!rest.starts_with("room.")) return false;
  rest.remove_prefix(5);
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return false;
  auto decoded = bus::decode_token(rest.substr(dot + 1));
  if (!decoded) return false;
  *scope = DeliveryScope::kRoom;
  *room = std::move(*decoded);
  return true;
}

void BusAdapter::on_bus_message(const bus::EnvelopePtr& envelope, DeliveryScope scope,
                                const std::shared_ptr<Interest>& interest,
                                std::string_view subject_room) {
  auto self = shared_from_this();
  const uint32_t n = shard_count();
  auto wanted = [&](uint32_t i) { return interest == nullptr || interest->on_shard[i].load(); };

  switch (envelope->kind_case()) {
    case bus::Envelope::kDelivery: {
      counters_.deliveries_received.fetch_add(1, std::memory_order_relaxed);
      auto message = encode_delivery(envelope->delivery());
      if (!message.ok()) {
        counters_.deliveries_invalid.fetch_add(1, std::memory_order_relaxed);
        log::write_limited(
            "bad_delivery", 10, log::Level::kWarn, kLog, "delivery dropped",
            {{"error", message.status().to_string()}, {"event", envelope->delivery().event()}});
        return;
      }
      for (uint32_t i = 0; i < n; ++i) {
        if (!wanted(i)) continue;
        boost::asio::post(*executors_[i], [self, envelope, room = std::string(subject_room), scope,
                                           i, message = *message] {
          self->shards_[i]->deliver(envelope->delivery(), scope, room, message);
        });
      }
      return;
    }
    case bus::Envelope::kCommand: {
      counters_.commands_received.fetch_add(1, std::memory_order_relaxed);
      const auto& command = envelope->command();
      std::vector<bool> targets(n, false);
      if (scope == DeliveryScope::kEdge && !command.socket_ids().empty()) {
        // Named sockets: only the shards that own them.
        for (const auto& id : command.socket_ids()) {
          auto parts = parse_id(id);
          if (parts && parts->shard < n) targets[parts->shard] = true;
        }
      } else {
        for (uint32_t i = 0; i < n; ++i) targets[i] = wanted(i);
      }
      for (uint32_t i = 0; i < n; ++i) {
        if (!targets[i]) continue;
        boost::asio::post(*executors_[i],
                          [self, envelope, room = std::string(subject_room), scope, i] {
                            self->shards_[i]->apply_command(envelope->command(), scope, room);
                          });
      }
      return;
    }
    default:
      if (scope == DeliveryScope::kEdge && edge_hook_ && edge_hook_(envelope)) return;
      counters_.unsupported_messages.fetch_add(1, std::memory_order_relaxed);
      log::write_limited("bus_unsupported", 1, log::Level::kDebug, kLog,
                         "bus message not handled by the edge",
                         {{"kind", static_cast<int>(envelope->kind_case())}});
      return;
  }
}

void BusAdapter::on_fallback(const std::string& subject, const bus::EnvelopePtr& envelope) {
  if (!envelope) return;
  if (subject == subjects_.edge(options_.edge_id)) {
    on_bus_message(envelope, DeliveryScope::kEdge, nullptr, {});
    return;
  }
  if (options_.local_bus) {
    DeliveryScope scope;
    std::string room;
    if (!parse_subject(subject, &scope, &room)) return;
    counters_.fallback_received.fetch_add(1, std::memory_order_relaxed);
    on_bus_message(envelope, scope, nullptr, room);
    return;
  }
  std::shared_ptr<Interest> interest;
  {
    std::lock_guard lock(interest_mu_);
    if (stopped_) return;
    auto it = interests_.find(subject);
    if (it == interests_.end()) return;  // no local member: the bus would not have delivered it
    interest = it->second;
  }
  counters_.fallback_received.fetch_add(1, std::memory_order_relaxed);
  on_bus_message(envelope, interest->scope, interest, interest->room);
}

void BusAdapter::record(uint32_t shard, internal::PresenceChange change) {
  std::lock_guard lock(presence_mu_);
  pending_.push_back(std::move(change));
  if (!flush_posted_) {
    flush_posted_ = true;
    // Runs after what the shard has already queued: one delta per loop iteration, not per change.
    boost::asio::post(*executors_[shard], [self = shared_from_this()] { self->flush_presence(); });
  }
}

void BusAdapter::flush_presence() {
  std::lock_guard lock(presence_mu_);
  flush_posted_ = false;
  // During a snapshot, changes wait: they must come after it (they may postdate a shard's part).
  if (snapshot_in_progress_ || pending_.empty()) return;
  publish_delta_locked(false, std::move(pending_));
  pending_.clear();
}

void BusAdapter::publish_snapshot() {
  {
    std::lock_guard lock(presence_mu_);
    if (snapshot_in_progress_) return;  // the one in flight answers this request too
    snapshot_in_progress_ = true;
    snapshot_parts_missing_ = shard_count();
    snapshot_changes_.clear();
  }
  if (shard_count() == 0) {
    add_snapshot_part({});
    return;
  }
  auto self = shared_from_this();
  for (uint32_t i = 0; i < shard_count(); ++i) {
    boost::asio::post(*executors_[i], [self, i] {
      std::vector<internal::PresenceChange> part;
      self->shards_[i]->collect_snapshot(part);
      self->add_snapshot_part(std::move(part));
    });
  }
}

void BusAdapter::add_snapshot_part(std::vector<internal::PresenceChange> part) {
  std::lock_guard lock(presence_mu_);
  for (auto& c : part) snapshot_changes_.push_back(std::move(c));
  if (snapshot_parts_missing_ > 0) --snapshot_parts_missing_;
  if (snapshot_parts_missing_ != 0) return;
  publish_delta_locked(true, std::move(snapshot_changes_));
  snapshot_changes_.clear();
  snapshot_in_progress_ = false;
  // Changes recorded meanwhile: some are already in the snapshot; replaying them is idempotent.
  if (!pending_.empty()) {
    publish_delta_locked(false, std::move(pending_));
    pending_.clear();
  }
}

void BusAdapter::publish_delta_locked(bool snapshot,
                                      std::vector<internal::PresenceChange> changes) {
  auto envelope = std::make_shared<bus::Envelope>();
  auto* delta = envelope->mutable_presence();
  delta->set_edge_id(options_.edge_id);
  delta->set_seq(++seq_);
  delta->set_boot_id(options_.boot_id);
  delta->set_snapshot(snapshot);
  delta->mutable_changes()->Reserve(static_cast<int>(changes.size()));
  for (auto& c : changes) *delta->add_changes() = std::move(c);
  (snapshot ? counters_.presence_snapshots : counters_.presence_deltas)
      .fetch_add(1, std::memory_order_relaxed);
  bus_.publish(subjects_.presence(options_.edge_id), std::move(envelope));
}

void BusAdapter::publish_heartbeat() {
  auto envelope = std::make_shared<bus::Envelope>();
  auto* hb = envelope->mutable_heartbeat();
  hb->set_node_id(options_.edge_id);
  hb->set_role("edge");
  hb->set_boot_id(options_.boot_id);
  // Under the presence lock, so a heartbeat never announces a seq whose delta is not out yet.
  std::lock_guard lock(presence_mu_);
  hb->set_seq(seq_);
  counters_.heartbeats.fetch_add(1, std::memory_order_relaxed);
  bus_.publish(subjects_.heartbeat("edge"), std::move(envelope));
}

void BusAdapter::schedule_heartbeat() {
  if (!heartbeat_timer_ || heartbeats_stopped_.load() || options_.heartbeat_interval_ms == 0) {
    return;
  }
  heartbeat_timer_->expires_after(std::chrono::milliseconds(options_.heartbeat_interval_ms));
  heartbeat_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || self->heartbeats_stopped_.load()) return;
    self->publish_heartbeat();
    self->schedule_heartbeat();
  });
}

}  // namespace herald::edge
