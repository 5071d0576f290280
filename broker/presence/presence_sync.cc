// PresenceSync: bus subscriptions, snapshot requests and heartbeats around the presence registry.
#include "broker/presence/presence_sync.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "common/log/log.h"

namespace herald::broker {

PresenceSync::PresenceSync(boost::asio::any_io_executor executor, bus::Bus& bus,
                           bus::Subjects subjects, PresenceSyncOptions options, Clock clock)
    : executor_(std::move(executor)),
      bus_(bus),
      subjects_(std::move(subjects)),
      options_(std::move(options)),
      clock_(std::move(clock)),
      registry_(options_.registry) {}

PresenceSync::~PresenceSync() = default;

void PresenceSync::start(bool run_timer) {
  running_ = true;
  std::weak_ptr<PresenceSync> weak = weak_from_this();
  auto forward = [weak, executor = executor_](const std::string& subject,
                                              const bus::EnvelopePtr& envelope) {
    boost::asio::post(executor, [weak, subject, envelope] {
      if (auto self = weak.lock()) self->handle(subject, envelope);
    });
  };
  subscriptions_.push_back(bus_.subscribe(subjects_.presence_all(), forward));
  subscriptions_.push_back(bus_.subscribe(subjects_.heartbeat("edge"), forward));
  subscriptions_.push_back(bus_.subscribe(subjects_.heartbeat("broker"), forward));
  request_snapshot("");  // every edge: a starting broker knows nothing
  if (run_timer) {
    timer_ = std::make_unique<boost::asio::steady_timer>(executor_);
    arm_timer();
  }
}

void PresenceSync::stop() {
  running_ = false;
  subscriptions_.clear();
  if (timer_) timer_->cancel();
}

void PresenceSync::arm_timer() {
  timer_->expires_after(std::chrono::milliseconds(options_.heartbeat_interval_ms));
  std::weak_ptr<PresenceSync> weak = weak_from_this();
  timer_->async_wait([weak](const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || !self->running_) return;
    self->tick();
    self->arm_timer();
  });
}

void PresenceSync::tick() {
  const int64_t now = clock_();
  if (bus_.state() != bus::BusState::kConnected) {
    // Heartbeats cannot arrive: silence says nothing about edges or peers. Keep them until the
    // bus is back (edges re-announce themselves with snapshots then).
    bus_down_ = true;
    return;
  }
  if (bus_down_) {
    bus_down_ = false;
    registry_.touch_all(now);
    for (auto& [id, heard] : peers_) heard = now;
  }
  PresenceRegistry::TickResult result = registry_.tick(now);
  for (const std::string& edge : result.expired_edges) {
    HLOG_WARN("broker.presence", "edge expired: no heartbeat", {{"edge", edge}});
  }
  for (const std::string& edge : result.snapshot_edges) request_snapshot(edge);
  std::erase_if(peers_, [&](const auto& peer) {
    if (now - peer.second <= options_.registry.heartbeat_timeout_ms) return false;
    peer_routes_.erase(peer.first);
    return true;
  });

  auto envelope = std::make_shared<bus::Envelope>();
  internal::Heartbeat* hb = envelope->mutable_heartbeat();
  hb->set_node_id(options_.broker_id);
  hb->set_role("broker");
  hb->set_seq(++heartbeat_seq_);
  hb->set_boot_id(options_.boot_id);
  hb->set_address(options_.broker_address);
  if (routes_provider_) {
    for (std::string& route : routes_provider_()) hb->add_handled_routes(std::move(route));
  }
  bus_.publish(subjects_.heartbeat("broker"), std::move(envelope));
}

void PresenceSync::handle(const std::string& subject, const bus::EnvelopePtr& envelope) {
  (void)subject;
  if (!running_ || !envelope) return;
  const int64_t now = clock_();
  switch (envelope->kind_case()) {
    case bus::Envelope::kPresence: {
      const internal::PresenceDelta& delta = envelope->presence();
      const bool was_synced = registry_.edge_synced(delta.edge_id());
      const uint64_t before = registry_.edge_seq(delta.edge_id());
      if (registry_.apply(delta, now)) request_snapshot(delta.edge_id());
      // Only deltas that were applied in sequence are changes worth announcing.
      if (listener_ && !delta.snapshot() && was_synced &&
          registry_.edge_seq(delta.edge_id()) == before + 1 && delta.seq() == before + 1) {
        for (const auto& change : delta.changes()) listener_(delta.edge_id(), change);
      }
      break;
    }
    case bus::Envelope::kHeartbeat: {
      const internal::Heartbeat& hb = envelope->heartbeat();
      if (hb.role() == "broker") {
        if (hb.node_id() != options_.broker_id) {
          peers_[hb.node_id()] = now;
          peer_routes_[hb.node_id()].assign(hb.handled_routes().begin(), hb.handled_routes().end());
        }
      } else if (registry_.on_heartbeat(hb, now)) {
        request_snapshot(hb.node_id());
      }
      break;
    }
    default:
      break;
  }
}

void PresenceSync::request_snapshot(const std::string& edge_id) {
  auto envelope = std::make_shared<bus::Envelope>();
  envelope->mutable_snapshot_request()->set_requester(options_.broker_id);
  envelope->mutable_snapshot_request()->set_edge_id(edge_id);
  HLOG_DEBUG("broker.presence", "snapshot request", {{"edge", edge_id}});
  bus_.publish(subjects_.snapshot_request(), std::move(envelope));
}

bool PresenceSync::peer_handles(const std::string& route) const {
  for (const auto& [id, routes] : peer_routes_) {
    if (!peers_.count(id)) continue;
    if (std::find(routes.begin(), routes.end(), route) != routes.end()) return true;
  }
  return false;
}

std::vector<std::string> PresenceSync::peer_brokers() const {
  std::vector<std::string> out;
  for (const auto& [id, heard] : peers_) out.push_back(id);
  return out;
}

}  // namespace herald::broker
