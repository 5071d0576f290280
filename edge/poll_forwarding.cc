// BusPollForwarder: origin and owner sides of forwarded polling requests over the bus.
#include "edge/poll_forwarding.h"

#include <chrono>

#include "common/ids.h"
#include "common/log/log.h"

namespace herald::edge {

namespace {

constexpr std::string_view kLog = "edge.poll_forward";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

BusPollForwarder::BusPollForwarder(bus::Bus& bus, std::string cluster_prefix, std::string edge_id,
                                   uint32_t heartbeat_timeout_ms, EioServer& server)
    : bus_(bus),
      subjects_(std::move(cluster_prefix)),
      edge_id_(std::move(edge_id)),
      own_tag_(edge_tag_for(edge_id_)),
      own_subject_(subjects_.edge(edge_id_)),
      heartbeat_timeout_ms_(heartbeat_timeout_ms),
      server_(server) {}

BusPollForwarder::~BusPollForwarder() {
  stop();
}

void BusPollForwarder::start() {
  std::weak_ptr<BusPollForwarder> weak = weak_from_this();
  auto sub = bus_.subscribe(subjects_.heartbeat("edge"),
                            [weak](const std::string&, const bus::EnvelopePtr& envelope) {
                              auto self = weak.lock();
                              if (self && envelope->kind_case() == bus::Envelope::kHeartbeat) {
                                self->on_heartbeat(envelope->heartbeat());
                              }
                            });
  std::lock_guard lock(mu_);
  stopped_ = false;
  heartbeats_ = std::move(sub);
}

void BusPollForwarder::stop() {
  std::unique_ptr<bus::Subscription> sub;
  std::unordered_map<uint64_t, Pending> pending;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    sub = std::move(heartbeats_);
    pending.swap(pending_);
    serving_.clear();
  }
  // Destroyed outside the lock: a heartbeat handler may be running and want it.
}

void BusPollForwarder::on_heartbeat(const internal::Heartbeat& hb) {
  if (hb.role() != "edge" || hb.node_id().empty() || hb.node_id() == edge_id_) return;
  std::string tag = edge_tag_for(hb.node_id());
  std::lock_guard lock(mu_);
  Peer& peer = peers_[tag];
  if (peer.edge_id != hb.node_id() && !peer.edge_id.empty() &&
      now_ms() - peer.last_heard_ms <= heartbeat_timeout_ms_) {
    log::write_limited("poll_forward.tag_clash", 1, log::Level::kWarn, kLog,
                       "two live edges share an edge tag; polling for one of them may fail",
                       {{"tag", tag}, {"edge", hb.node_id()}, {"other", peer.edge_id}});
  }
  peer.edge_id = hb.node_id();
  peer.last_heard_ms = now_ms();
}

std::string BusPollForwarder::edge_for_tag(const std::string& tag) const {
  std::lock_guard lock(mu_);
  auto it = peers_.find(tag);
  if (it == peers_.end() || now_ms() - it->second.last_heard_ms > heartbeat_timeout_ms_) return {};
  return it->second.edge_id;
}

uint64_t BusPollForwarder::forward(std::string_view edge_tag, ForwardedRequest request,
                                   ForwardedReplyFn reply) {
  auto envelope = std::make_shared<bus::Envelope>();
  internal::ForwardedPoll* poll = envelope->mutable_forwarded_poll();
  std::string subject;
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return 0;
    auto it = peers_.find(std::string(edge_tag));
    if (it == peers_.end() || now_ms() - it->second.last_heard_ms > heartbeat_timeout_ms_) {
      return 0;
    }
    subject = subjects_.edge(it->second.edge_id);
    id = next_id_++;
    pending_[id] = Pending{std::move(reply), subject};
  }
  poll->set_request_id(id);
  poll->set_origin_edge(edge_id_);
  poll->set_reply_subject(own_subject_);
  poll->set_sid(std::move(request.sid));
  poll->set_method(std::move(request.method));
  poll->set_query(std::move(request.query));
  poll->set_body(std::move(request.body));
  if (!request.content_type.empty()) {
    (*poll->mutable_headers())["content-type"] = std::move(request.content_type);
  }
  bus_.publish(subject, std::move(envelope));
  return id;
}

void BusPollForwarder::cancel(uint64_t handle) {
  std::string subject;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(handle);
    if (it == pending_.end()) return;
    subject = std::move(it->second.subject);
    pending_.erase(it);
  }
  auto envelope = std::make_shared<bus::Envelope>();
  internal::ForwardedPoll* poll = envelope->mutable_forwarded_poll();
  poll->set_request_id(handle);
  poll->set_origin_edge(edge_id_);
  poll->set_reply_subject(own_subject_);
  poll->set_cancel(true);
  bus_.publish(subject, std::move(envelope));
}

bool BusPollForwarder::on_edge_message(const bus::EnvelopePtr& envelope) {
  switch (envelope->kind_case()) {
    case bus::Envelope::kForwardedPoll:
      serve(envelope->forwarded_poll());
      return true;
    case bus::Envelope::kForwardedPollReply: {
      const internal::ForwardedPollReply& r = envelope->forwarded_poll_reply();
      ForwardedReplyFn reply;
      {
        std::lock_guard lock(mu_);
        auto it = pending_.find(r.request_id());
        if (it == pending_.end()) return true;  // cancelled or timed out meanwhile
        reply = std::move(it->second.reply);
        pending_.erase(it);
      }
      ForwardedResponse response;
      response.status = r.status();
      response.content_type = r.content_type();
      response.body = r.body();
      for (const auto& [name, value] : r.headers()) response.headers.emplace_back(name, value);
      if (reply) reply(std::move(response));
      return true;
    }
    default:
      return false;
  }
}

void BusPollForwarder::serve(const internal::ForwardedPoll& poll) {
  std::string key = poll.origin_edge() + '#' + std::to_string(poll.request_id());
  if (poll.cancel()) {
    std::shared_ptr<ForwardedCall> call;
    {
      std::lock_guard lock(mu_);
      auto it = serving_.find(key);
      if (it == serving_.end()) return;
      call = std::move(it->second.call);
      if (call) {
        serving_.erase(it);
      } else {
        it->second.cancelled = true;  // serve_forwarded has not returned yet
      }
    }
    if (call) call->cancel();
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    serving_[key] = Serving{};
  }
  ForwardedRequest request;
  request.sid = poll.sid();
  request.method = poll.method();
  request.query = poll.query();
  request.body = poll.body();
  if (auto it = poll.headers().find("content-type"); it != poll.headers().end()) {
    request.content_type = it->second;
  }
  std::weak_ptr<BusPollForwarder> weak = weak_from_this();
  auto call = server_.serve_forwarded(
      std::move(request), [weak, key, id = poll.request_id(),
                           subject = poll.reply_subject()](ForwardedResponse response) {
        auto self = weak.lock();
        if (!self) return;
        {
          std::lock_guard lock(self->mu_);
          self->serving_.erase(key);
        }
        auto envelope = std::make_shared<bus::Envelope>();
        internal::ForwardedPollReply* r = envelope->mutable_forwarded_poll_reply();
        r->set_request_id(id);
        r->set_status(response.status);
        r->set_content_type(std::move(response.content_type));
        r->set_body(std::move(response.body));
        for (auto& [name, value] : response.headers) {
          (*r->mutable_headers())[std::move(name)] = std::move(value);
        }
        self->bus_.publish(subject, std::move(envelope));
      });
  bool cancel_now = false;
  {
    std::lock_guard lock(mu_);
    auto it = serving_.find(key);
    if (it != serving_.end()) {  // not answered yet
      if (it->second.cancelled) {
        cancel_now = true;
        serving_.erase(it);
      } else {
        it->second.call = call;
      }
    }
  }
  if (cancel_now && call) call->cancel();
}

}  // namespace herald::edge
