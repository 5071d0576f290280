// GrpcBrokerLink: broker discovery, one ClientBidiReactor per broker stream, rendezvous pinning,
// batching (one write in flight), reconnect with backoff, and failover with session resume.
//
// Threads: shard threads call send(); gRPC threads run the stream reactions; the link thread
// runs flushes, timers and reconnects; bus threads deliver heartbeats and presence deltas. All
// link state is under one mutex, and no gRPC call is made while holding it (reactions may run
// inline from gRPC calls): work for gRPC is posted to the link thread or done after unlocking.
#include "edge/edgelink/grpc_broker_link.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/bus/subjects.h"
#include "common/log/log.h"
#include "common/process/thread_name.h"
#include "common/tls/grpc_tls.h"
#include "herald/internal/edgelink.grpc.pb.h"

namespace herald::edge {

namespace {

constexpr std::string_view kLog = "edge.link";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

const std::string& socket_of(const internal::EdgeToBroker& m) {
  static const std::string kNone;
  switch (m.kind_case()) {
    case internal::EdgeToBroker::kOpen:
      return m.open().socket_id();
    case internal::EdgeToBroker::kClose:
      return m.close().socket_id();
    case internal::EdgeToBroker::kEvent:
      return m.event().socket_id();
    case internal::EdgeToBroker::kAck:
      return m.ack().socket_id();
    default:
      return kNone;
  }
}

std::string ack_key(const std::string& socket_id, uint64_t request_id) {
  return socket_id + '#' + std::to_string(request_id);
}

internal::BrokerToEdge unavailable_verdict(const internal::ClientEvent& event,
                                           const std::string& message) {
  internal::BrokerToEdge out;
  internal::EventVerdict* v = out.mutable_verdict();
  v->set_socket_id(event.socket_id());
  v->set_ns(event.ns().empty() ? "/" : event.ns());
  v->set_has_ack(event.wants_ack());
  v->set_ack_id(event.ack_id());
  v->mutable_error()->set_code("UNAVAILABLE");
  v->mutable_error()->set_message(message);
  return out;
}

internal::BrokerToEdge unavailable_ack(const std::string& socket_id, const std::string& ns,
                                       uint64_t ack_id, const std::string& message) {
  internal::BrokerToEdge out;
  internal::EventVerdict* v = out.mutable_verdict();
  v->set_socket_id(socket_id);
  v->set_ns(ns.empty() ? "/" : ns);
  v->set_has_ack(true);
  v->set_ack_id(ack_id);
  v->mutable_error()->set_code("UNAVAILABLE");
  v->mutable_error()->set_message(message);
  return out;
}

// The token of a "herald:refresh_token" event ([{"token": "..."}]), or "".
std::string refresh_token_of(const internal::ClientEvent& event) {
  if (event.event() != "herald:refresh_token") return {};
  nlohmann::json args = nlohmann::json::parse(event.args_json(), nullptr, false);
  if (!args.is_array() || args.empty() || !args[0].is_object()) return {};
  auto it = args[0].find("token");
  if (it == args[0].end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

class LinkStream;

class GrpcBrokerLink::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(GrpcBrokerLinkOptions options, bus::Bus* bus);

  void start();
  void stop(uint32_t grace_ms);
  void send(internal::EdgeToBroker message);
  void set_receiver(std::function<void(internal::BrokerToEdge)> receiver) {
    receiver_ = std::move(receiver);
  }
  size_t live_brokers() const;
  std::vector<std::string> live_broker_addresses() const;
  GrpcBrokerLinkStats stats() const;

  // Reactions of a LinkStream (gRPC threads).
  void on_up(LinkStream* stream);
  void on_read(LinkStream* stream, internal::BrokerBatch& batch);
  void on_read_failed(LinkStream* stream);
  void on_write_done(LinkStream* stream, bool ok);
  void on_done(LinkStream* stream, const grpc::Status& status);

 private:
  struct Item {
    internal::EdgeToBroker message;
    int64_t at_ms = 0;
    size_t bytes = 0;
  };

  // What the link keeps per live socket, to pin it and to resume it elsewhere. Held for every
  // connection of the edge, so it is kept small: the SessionOpen is serialized (a protobuf
  // object with its handshake maps cost ≈ 1 KiB per socket; it is only read again to pin the
  // socket to another broker), and nothing is allocated while no message waits.
  struct Session {
    std::string
        open;  // serialized SessionOpen as the edge sent it (token replaced after a refresh)
    bool accepted = false;
    bool resuming = false;  // a resume SessionOpen is unanswered on `broker`
    std::string user_id;
    std::set<std::string> rooms;
    std::string broker;  // pinned stream's address; "" = unpinned
    std::string previous_broker;
    uint32_t repins = 0;
    std::set<uint64_t> pending_acks;  // acked events sent to `broker`, no verdict yet
    std::set<uint64_t> ack_requests;  // EmitToSocket request ids awaiting the client's ack
    std::vector<Item> waiting;        // unpinned: messages to send once a broker is live
    int64_t unpinned_since_ms = 0;
    std::string refresh_token;  // a refresh in flight, applied when its ack says ok
    uint64_t refresh_ack_id = 0;
  };

  struct BrokerEntry {
    std::string address;
    std::string node_id;
    bool configured = false;
    int64_t last_heartbeat_ms = 0;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<internal::EdgeLink::Stub> stub;
    std::shared_ptr<LinkStream> stream;  // connecting or up; null when down
    uint32_t backoff_ms = 0;
    int64_t next_attempt_ms = 0;
    int64_t heartbeat_retry_ms = INT64_MIN;  // last attempt brought forward by a heartbeat
  };

  // --- mu_ held ---
  BrokerEntry& entry_locked(const std::string& address, bool configured);
  LinkStream* choose_locked(const std::string& socket_id) const;
  void enqueue_locked(LinkStream& stream, internal::EdgeToBroker message);
  void schedule_flush_locked(LinkStream& stream);
  void pin_locked(const std::string& socket_id, Session& s, LinkStream& stream,
                  std::vector<internal::EdgeToBroker> messages);
  void unpin_locked(const std::string& socket_id, Session& s, int64_t now);
  void erase_session_locked(const std::string& socket_id);
  void failover_locked(LinkStream& stream, std::vector<internal::BrokerToEdge>* out);
  // Returns false when the message is consumed by the link (not for the edge).
  bool observe_locked(const std::string& address, internal::BrokerToEdge& message);
  void apply_presence_locked(const internal::PresenceDelta& delta);

  // --- link thread ---
  void connect(const std::string& address);
  void flush(const std::shared_ptr<LinkStream>& stream);
  void arm_timer();
  void tick();

  void deliver(std::vector<internal::BrokerToEdge>& messages);
  void deliver_later(std::vector<internal::BrokerToEdge> messages);
  void on_heartbeat(const internal::Heartbeat& hb);

  GrpcBrokerLinkOptions options_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;  // null: edgelink.tls unusable
  bus::Bus* bus_;
  bus::Subjects subjects_;
  std::function<void(internal::BrokerToEdge)> receiver_;

  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::thread thread_;
  std::unique_ptr<bus::Subscription> heartbeat_sub_;
  std::unique_ptr<bus::Subscription> presence_sub_;

  mutable std::mutex mu_;
  std::condition_variable streams_cv_;
  size_t streams_alive_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::map<std::string, BrokerEntry> brokers_;  // by address
  std::unordered_map<std::string, Session> sessions_;
  std::unordered_set<std::string> unpinned_;
  size_t waiting_bytes_ = 0;
  std::unordered_map<std::string, std::string> ack_routes_;  // socket#request → broker address
  GrpcBrokerLinkStats stats_;
};

// One EdgeLink stream to one broker. Fields below `impl` are guarded by the Impl's mutex, except
// `out`/`in`/`ctx`, which only the write chain, the read chain and gRPC touch.
class LinkStream final
    : public grpc::ClientBidiReactor<internal::EdgeBatch, internal::BrokerBatch> {
 public:
  LinkStream(std::shared_ptr<GrpcBrokerLink::Impl> impl, std::string address)
      : impl_(std::move(impl)), address(std::move(address)) {}

  // Starts the call with `hello` as the first write. The caller set write_in_flight and self_.
  void begin(internal::EdgeLink::Stub& stub, internal::EdgeBatch hello) {
    out = std::move(hello);
    stub.async()->Connect(&ctx, this);
    StartWrite(&out);
    StartRead(&in);
    AddHold();  // writes are started from the link thread, outside reactions
    StartCall();
  }

  void OnReadInitialMetadataDone(bool ok) override {
    if (ok) impl_->on_up(this);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      impl_->on_read_failed(this);
      return;
    }
    impl_->on_read(this, in);
    in.Clear();
    StartRead(&in);
  }
  void OnWriteDone(bool ok) override { impl_->on_write_done(this, ok); }
  void OnWritesDoneDone(bool ok) override { impl_->on_write_done(this, ok); }
  void OnDone(const grpc::Status& status) override {
    impl_->on_done(this, status);
    auto keep = std::move(self_);  // the last reference goes with this frame
  }

  std::shared_ptr<GrpcBrokerLink::Impl> impl_;
  const std::string address;
  grpc::ClientContext ctx;
  internal::EdgeBatch out;
  internal::BrokerBatch in;
  std::shared_ptr<LinkStream> self_;

  // Guarded by the Impl's mutex.
  std::vector<internal::EdgeToBroker> queue;
  size_t queued_bytes = 0;
  bool write_in_flight = false;  // a write or the writes-done is outstanding
  bool flush_posted = false;
  bool up = false;
  int64_t up_since_ms = 0;
  bool dead = false;  // reads ended: no new writes
  bool done = false;  // OnDone ran
  bool hold_released = false;
  bool broken = false;  // a write failed or the stream was cancelled
  bool closing = false;
  bool writes_done_sent = false;
};

GrpcBrokerLink::Impl::Impl(GrpcBrokerLinkOptions options, bus::Bus* bus)
    : options_(std::move(options)), bus_(bus), subjects_(options_.cluster_prefix) {
  auto credentials = tls::channel_credentials(options_.tls, "edgelink.tls");
  if (credentials.ok()) {
    credentials_ = std::move(credentials).value();
  } else {
    // Never fall back to plaintext: no stream opens (EdgeProcess checks this before starting).
    HLOG_ERROR("edge.link", "edgelink.tls unusable: no broker stream will open",
               {{"error", credentials.status().message()}});
  }
}

void GrpcBrokerLink::Impl::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    for (const std::string& address : options_.brokers) entry_locked(address, true);
  }
  work_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          io_.get_executor());
  timer_ = std::make_unique<boost::asio::steady_timer>(io_);
  thread_ = std::thread([this] {
    process::set_thread_name("edgelink");
    io_.run();
  });
  if (bus_ != nullptr) {
    std::weak_ptr<Impl> weak = weak_from_this();
    if (options_.discover_from_bus) {
      heartbeat_sub_ = bus_->subscribe(subjects_.heartbeat("broker"),
                                       [weak](const std::string&, const bus::EnvelopePtr& env) {
                                         auto self = weak.lock();
                                         if (self && env && env->has_heartbeat()) {
                                           self->on_heartbeat(env->heartbeat());
                                         }
                                       });
    }
    presence_sub_ = bus_->subscribe(subjects_.presence(options_.edge_id),
                                    [weak](const std::string&, const bus::EnvelopePtr& env) {
                                      auto self = weak.lock();
                                      if (self && env && env->has_presence()) {
                                        std::lock_guard lock(self->mu_);
                                        self->apply_presence_locked(env->presence());
                                      }
                                    });
  }
  boost::asio::post(io_, [this] {
    tick();  // connects to the configured brokers and arms the timer
  });
  HLOG_INFO(kLog, "broker link started",
            {{"edge", options_.edge_id}, {"brokers", options_.brokers.size()}});
}

void GrpcBrokerLink::Impl::stop(uint32_t grace_ms) {
  std::vector<std::shared_ptr<LinkStream>> streams;
  std::vector<std::shared_ptr<LinkStream>> connecting;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    for (auto& [address, entry] : brokers_) {
      if (!entry.stream) continue;
      entry.stream->closing = true;
      (entry.stream->up ? streams : connecting).push_back(entry.stream);
    }
  }
  heartbeat_sub_.reset();
  presence_sub_.reset();
  for (auto& s : connecting) s->ctx.TryCancel();
  // Flush what is queued, then half-close; the broker ends the stream in return.
  for (auto& s : streams) {
    boost::asio::post(io_, [this, s] { flush(s); });
  }
  std::unique_lock lock(mu_);
  if (!streams_cv_.wait_for(lock, std::chrono::milliseconds(grace_ms),
                            [&] { return streams_alive_ == 0; })) {
    std::vector<std::shared_ptr<LinkStream>> left;
    for (auto& [address, entry] : brokers_) {
      if (entry.stream) left.push_back(entry.stream);
    }
    lock.unlock();
    for (auto& s : left) s->ctx.TryCancel();
    lock.lock();
    streams_cv_.wait(lock, [&] { return streams_alive_ == 0; });
  }
  stopped_ = true;
  lock.unlock();
  boost::asio::post(io_, [this] {
    if (timer_) timer_->cancel();
  });
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  HLOG_INFO(kLog, "broker link stopped", {{"edge", options_.edge_id}});
}

GrpcBrokerLink::Impl::BrokerEntry& GrpcBrokerLink::Impl::entry_locked(const std::string& address,
                                                                      bool configured) {
  auto [it, inserted] = brokers_.try_emplace(address);
  BrokerEntry& entry = it->second;
  if (inserted) {
    entry.address = address;
    entry.backoff_ms = options_.reconnect_min_ms;
    HLOG_INFO(kLog, "broker known",
              {{"broker", address}, {"source", configured ? "config" : "heartbeat"}});
  }
  entry.configured = entry.configured || configured;
  return entry;
}

LinkStream* GrpcBrokerLink::Impl::choose_locked(const std::string& socket_id) const {
  if (stopping_) return nullptr;
  // Rendezvous hashing: the live broker with the highest score for this socket. Removing a broker
  // moves only its own sockets; adding one takes only new sockets (existing pins are sticky).
  const uint64_t key = fnv1a(socket_id);
  LinkStream* best = nullptr;
  uint64_t best_score = 0;
  for (const auto& [address, entry] : brokers_) {
    LinkStream* s = entry.stream.get();
    if (s == nullptr || !s->up || s->dead || s->broken || s->closing) continue;
    const uint64_t score = mix64(key ^ fnv1a(address, 0x84222325cbf29ce4ULL));
    if (best == nullptr || score > best_score) {
      best = s;
      best_score = score;
    }
  }
  return best;
}

void GrpcBrokerLink::Impl::enqueue_locked(LinkStream& stream, internal::EdgeToBroker message) {
  if (stream.broken || stream.dead) return;
  const size_t bytes = message.ByteSizeLong();
  stream.queue.push_back(std::move(message));
  stream.queued_bytes += bytes;
  if (stream.queued_bytes > options_.stream_queue_bytes) {
    // The broker is not reading. Reset the stream; its sessions fail over in OnDone.
    stream.broken = true;
    HLOG_WARN(kLog, "broker is not reading: stream reset",
              {{"broker", stream.address}, {"queued_bytes", stream.queued_bytes}});
    boost::asio::post(io_, [s = stream.self_] {
      if (s) s->ctx.TryCancel();
    });
    return;
  }
  schedule_flush_locked(stream);
}

void GrpcBrokerLink::Impl::schedule_flush_locked(LinkStream& stream) {
  if (stream.flush_posted || stream.write_in_flight || stream.dead || !stream.up) return;
  if (stream.queue.empty() && !stream.closing) return;
  stream.flush_posted = true;
  // Everything queued until the link thread runs goes out in one batch.
  boost::asio::post(io_, [this, s = stream.self_] {
    if (s) flush(s);
  });
}

void GrpcBrokerLink::Impl::flush(const std::shared_ptr<LinkStream>& stream) {
  enum class Action { kNone, kWrite, kWritesDone } action = Action::kNone;
  {
    std::lock_guard lock(mu_);
    LinkStream& s = *stream;
    s.flush_posted = false;
    if (s.write_in_flight || s.dead || s.done || s.broken) return;
    if (!s.queue.empty() && s.up) {
      s.out.Clear();
      s.out.mutable_messages()->Reserve(static_cast<int>(s.queue.size()));
      for (auto& m : s.queue) s.out.add_messages()->Swap(&m);
      stats_.messages_sent += s.queue.size();
      stats_.batches_sent += 1;
      s.queue.clear();
      s.queued_bytes = 0;
      s.write_in_flight = true;
      action = Action::kWrite;
    } else if (s.closing && s.queue.empty() && !s.writes_done_sent) {
      s.writes_done_sent = true;
      s.write_in_flight = true;
      action = Action::kWritesDone;
    }
  }
  if (action == Action::kWrite) {
    stream->StartWrite(&stream->out);
  } else if (action == Action::kWritesDone) {
    stream->StartWritesDone();
  }
}

void GrpcBrokerLink::Impl::on_write_done(LinkStream* stream, bool ok) {
  bool release = false;
  bool cancel = false;
  {
    std::lock_guard lock(mu_);
    stream->write_in_flight = false;
    if (!ok && !stream->broken) {
      stream->broken = true;
      cancel = true;
    }
    if (stream->dead && !stream->hold_released) {
      stream->hold_released = true;
      release = true;
    } else if (!stream->broken) {
      schedule_flush_locked(*stream);
    }
  }
  if (cancel) stream->ctx.TryCancel();
  if (release) stream->RemoveHold();
}

void GrpcBrokerLink::Impl::on_read_failed(LinkStream* stream) {
  bool release = false;
  {
    std::lock_guard lock(mu_);
    stream->dead = true;
    if (!stream->write_in_flight && !stream->hold_released) {
      stream->hold_released = true;
      release = true;
    }
  }
  if (release) stream->RemoveHold();
}

void GrpcBrokerLink::Impl::on_up(LinkStream* stream) {
  std::lock_guard lock(mu_);
  auto it = brokers_.find(stream->address);
  if (it == brokers_.end() || it->second.stream.get() != stream || stream->dead) return;
  stream->up = true;
  stream->up_since_ms = now_ms();
  stats_.streams_opened += 1;
  HLOG_INFO(kLog, "broker stream up",
            {{"broker", stream->address},
             {"node", it->second.node_id},
             {"unpinned_sessions", unpinned_.size()}});
  // Sessions that waited for a broker get one now (this one or another live one).
  std::vector<std::string> ids(unpinned_.begin(), unpinned_.end());
  for (const std::string& id : ids) {
    auto sit = sessions_.find(id);
    if (sit == sessions_.end()) {
      unpinned_.erase(id);
      continue;
    }
    LinkStream* target = choose_locked(id);
    if (target == nullptr) break;
    Session& s = sit->second;
    std::vector<internal::EdgeToBroker> messages;
    for (Item& item : s.waiting) {
      waiting_bytes_ -= item.bytes;
      messages.push_back(std::move(item.message));
    }
    std::vector<Item>().swap(s.waiting);  // its memory too: most sessions never wait again
    pin_locked(id, s, *target, std::move(messages));
  }
  schedule_flush_locked(*stream);
}

void GrpcBrokerLink::Impl::pin_locked(const std::string& socket_id, Session& s, LinkStream& stream,
                                      std::vector<internal::EdgeToBroker> messages) {
  s.broker = stream.address;
  unpinned_.erase(socket_id);
  // The socket's context first: a plain SessionOpen when it was never answered (the edge still
  // waits for the verdict), a resume when it is connected.
  internal::EdgeToBroker context;
  context.mutable_open()->ParseFromString(s.open);  // written by send(): it parses
  if (s.accepted) {
    internal::SessionResume* resume = context.mutable_open()->mutable_resume();
    resume->set_user_id(s.user_id);
    for (const std::string& room : s.rooms) resume->add_rooms(room);
    resume->set_previous_broker(s.previous_broker);
    resume->set_attempt(s.repins);
    s.resuming = true;
  }
  enqueue_locked(stream, std::move(context));
  for (internal::EdgeToBroker& m : messages) {
    if (m.kind_case() == internal::EdgeToBroker::kOpen) continue;  // replaced by the context
    if (m.kind_case() == internal::EdgeToBroker::kEvent && m.event().wants_ack()) {
      s.pending_acks.insert(m.event().ack_id());
    }
    enqueue_locked(stream, std::move(m));
  }
}

void GrpcBrokerLink::Impl::unpin_locked(const std::string& socket_id, Session& s, int64_t now) {
  s.broker.clear();
  s.resuming = false;
  s.unpinned_since_ms = now;
  unpinned_.insert(socket_id);
}

void GrpcBrokerLink::Impl::erase_session_locked(const std::string& socket_id) {
  auto it = sessions_.find(socket_id);
  if (it == sessions_.end()) return;
  for (const Item& item : it->second.waiting) waiting_bytes_ -= item.bytes;
  for (uint64_t request : it->second.ack_requests) ack_routes_.erase(ack_key(socket_id, request));
  unpinned_.erase(socket_id);
  sessions_.erase(it);
}

void GrpcBrokerLink::Impl::send(internal::EdgeToBroker message) {
  std::vector<internal::BrokerToEdge> failed;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    const std::string id = socket_of(message);
    const int64_t now = now_ms();
    switch (message.kind_case()) {
      case internal::EdgeToBroker::kOpen: {
        erase_session_locked(id);
        Session& s = sessions_[id];
        if (message.open().has_resume()) {
          internal::SessionOpen plain = message.open();
          plain.clear_resume();
          plain.SerializeToString(&s.open);
        } else {
          message.open().SerializeToString(&s.open);
        }
        if (LinkStream* target = choose_locked(id)) {
          s.broker = target->address;
          enqueue_locked(*target, std::move(message));
        } else {
          unpin_locked(id, s, now);  // the open is re-created from `s.open` once pinned
        }
        break;
      }
      case internal::EdgeToBroker::kClose: {
        auto it = sessions_.find(id);
        LinkStream* target = nullptr;
        if (it != sessions_.end()) {
          if (!it->second.broker.empty()) {
            auto b = brokers_.find(it->second.broker);
            if (b != brokers_.end()) target = b->second.stream.get();
          }
          erase_session_locked(id);
        } else {
          target = choose_locked(id);
        }
        // No broker has an unpinned session: nothing to tell.
        if (target != nullptr) enqueue_locked(*target, std::move(message));
        break;
      }
      case internal::EdgeToBroker::kEvent: {
        auto it = sessions_.find(id);
        if (it == sessions_.end()) {
          if (LinkStream* target = choose_locked(id)) {
            enqueue_locked(*target, std::move(message));
          } else {
            stats_.unavailable += 1;
            failed.push_back(unavailable_verdict(message.event(), "no broker is available"));
          }
          break;
        }
        Session& s = it->second;
        std::string token = refresh_token_of(message.event());
        if (!token.empty() && message.event().wants_ack()) {
          s.refresh_token = std::move(token);
          s.refresh_ack_id = message.event().ack_id();
        }
        if (!s.broker.empty()) {
          auto b = brokers_.find(s.broker);
          if (message.event().wants_ack()) s.pending_acks.insert(message.event().ack_id());
          if (b != brokers_.end() && b->second.stream)
            enqueue_locked(*b->second.stream, std::move(message));
          break;
        }
        const size_t bytes = message.ByteSizeLong();
        if (waiting_bytes_ + bytes > options_.unpinned_queue_bytes) {
          stats_.unavailable += 1;
          failed.push_back(unavailable_verdict(message.event(), "no broker is available"));
          break;
        }
        waiting_bytes_ += bytes;
        s.waiting.push_back(Item{std::move(message), now, bytes});
        break;
      }
      case internal::EdgeToBroker::kAck: {
        // To the broker that asked, which may not be the socket's own.
        LinkStream* target = nullptr;
        auto route = ack_routes_.find(ack_key(id, message.ack().request_id()));
        if (route != ack_routes_.end()) {
          auto b = brokers_.find(route->second);
          if (b != brokers_.end()) target = b->second.stream.get();
          ack_routes_.erase(route);
          if (auto it = sessions_.find(id); it != sessions_.end()) {
            it->second.ack_requests.erase(message.ack().request_id());
          }
        }
        if (target != nullptr) enqueue_locked(*target, std::move(message));
        break;
      }
      default:
        break;  // the link sends EdgeHello itself
    }
  }
  if (!failed.empty()) deliver_later(std::move(failed));
}

bool GrpcBrokerLink::Impl::observe_locked(const std::string& address,
                                          internal::BrokerToEdge& message) {
  switch (message.kind_case()) {
    case internal::BrokerToEdge::kAccepted: {
      const auto& a = message.accepted();
      auto it = sessions_.find(a.socket_id());
      if (it == sessions_.end() || it->second.broker != address) return true;
      Session& s = it->second;
      if (s.resuming) {
        s.resuming = false;
        for (const std::string& room : a.rooms()) s.rooms.insert(room);
        s.user_id = a.user_id();
        stats_.resumes_accepted += 1;
        return false;  // the client has had its CONNECT
      }
      s.accepted = true;
      s.user_id = a.user_id();
      s.rooms = std::set<std::string>(a.rooms().begin(), a.rooms().end());
      return true;
    }
    case internal::BrokerToEdge::kRejected: {
      const std::string id = message.rejected().socket_id();
      auto it = sessions_.find(id);
      if (it == sessions_.end() || it->second.broker != address) return true;
      if (it->second.resuming) {
        // The new broker refused the socket's context (e.g. its token expired meanwhile).
        stats_.resumes_rejected += 1;
        HLOG_INFO(
            kLog, "resume refused: socket disconnected",
            {{"socket", id}, {"broker", address}, {"code", message.rejected().error().code()}});
        internal::BrokerToEdge out;
        out.mutable_disconnect()->set_socket_id(id);
        out.mutable_disconnect()->set_reason("resume refused: " +
                                             message.rejected().error().code());
        message = std::move(out);
      }
      erase_session_locked(id);
      return true;
    }
    case internal::BrokerToEdge::kVerdict: {
      const auto& v = message.verdict();
      auto it = sessions_.find(v.socket_id());
      if (it == sessions_.end() || !v.has_ack()) return true;
      Session& s = it->second;
      s.pending_acks.erase(v.ack_id());
      if (!s.refresh_token.empty() && v.ack_id() == s.refresh_ack_id) {
        if (!v.has_error() || v.error().code().empty()) {
          // Resumes must present the token the socket has now.
          internal::SessionOpen open;
          open.ParseFromString(s.open);
          nlohmann::json auth = nlohmann::json::parse(open.auth_json(), nullptr, false);
          if (!auth.is_object()) auth = nlohmann::json::object();
          auth["token"] = s.refresh_token;
          open.set_auth_json(auth.dump());
          open.SerializeToString(&s.open);
        }
        s.refresh_token.clear();
      }
      return true;
    }
    case internal::BrokerToEdge::kEmit: {
      const auto& e = message.emit();
      if (e.request_id() != 0) {
        ack_routes_[ack_key(e.socket_id(), e.request_id())] = address;
        if (auto it = sessions_.find(e.socket_id()); it != sessions_.end()) {
          it->second.ack_requests.insert(e.request_id());
        }
      }
      return true;
    }
    case internal::BrokerToEdge::kRooms: {
      const auto& change = message.rooms();
      for (const std::string& id : change.socket_ids()) {
        auto it = sessions_.find(id);
        if (it == sessions_.end()) continue;
        for (const std::string& room : change.join()) it->second.rooms.insert(room);
        for (const std::string& room : change.leave()) it->second.rooms.erase(room);
      }
      return true;
    }
    default:
      return true;
  }
}

void GrpcBrokerLink::Impl::apply_presence_locked(const internal::PresenceDelta& delta) {
  // The edge's own membership deltas: they also carry joins that reached it over the bus
  // (JoinRooms API), which the link never sees on a stream.
  if (delta.snapshot()) {
    std::unordered_map<std::string, std::set<std::string>> rooms;
    for (const auto& c : delta.changes()) {
      if (c.op() == internal::PresenceChange::OP_JOIN) rooms[c.socket_id()].insert(c.room());
    }
    for (auto& [id, set] : rooms) {
      auto it = sessions_.find(id);
      if (it != sessions_.end()) it->second.rooms = std::move(set);
    }
    return;
  }
  for (const auto& c : delta.changes()) {
    if (c.op() != internal::PresenceChange::OP_JOIN &&
        c.op() != internal::PresenceChange::OP_LEAVE) {
      continue;
    }
    auto it = sessions_.find(c.socket_id());
    if (it == sessions_.end()) continue;
    if (c.op() == internal::PresenceChange::OP_JOIN) {
      it->second.rooms.insert(c.room());
    } else {
      it->second.rooms.erase(c.room());
    }
  }
}

void GrpcBrokerLink::Impl::on_read(LinkStream* stream, internal::BrokerBatch& batch) {
  std::vector<internal::BrokerToEdge> forward;
  forward.reserve(batch.messages_size());
  {
    std::lock_guard lock(mu_);
    stats_.messages_received += batch.messages_size();
    for (internal::BrokerToEdge& m : *batch.mutable_messages()) {
      if (observe_locked(stream->address, m)) forward.push_back(std::move(m));
    }
  }
  deliver(forward);
}

void GrpcBrokerLink::Impl::failover_locked(LinkStream& stream,
                                           std::vector<internal::BrokerToEdge>* out) {
  const int64_t now = now_ms();
  // What was queued but never written goes to the new broker, after the context. What was in the
  // write in flight may or may not have arrived: its acked events are answered UNAVAILABLE.
  std::unordered_map<std::string, std::vector<internal::EdgeToBroker>> unsent;
  for (internal::EdgeToBroker& m : stream.queue) {
    const std::string& id = socket_of(m);
    if (!id.empty()) unsent[id].push_back(std::move(m));
  }
  stream.queue.clear();
  stream.queued_bytes = 0;
  std::erase_if(ack_routes_, [&](const auto& r) { return r.second == stream.address; });

  size_t moved = 0;
  size_t parked = 0;
  for (auto& [id, s] : sessions_) {
    if (s.broker != stream.address) continue;
    std::vector<internal::EdgeToBroker> messages;
    if (auto u = unsent.find(id); u != unsent.end()) messages = std::move(u->second);
    std::set<uint64_t> requeued;
    for (const auto& m : messages) {
      if (m.kind_case() == internal::EdgeToBroker::kEvent && m.event().wants_ack()) {
        requeued.insert(m.event().ack_id());
      }
    }
    std::optional<internal::SessionOpen> open;  // its namespace, read only when an ack fails
    for (uint64_t ack : s.pending_acks) {
      if (requeued.count(ack)) continue;
      if (!open) open.emplace().ParseFromString(s.open);
      stats_.unavailable += 1;
      out->push_back(
          unavailable_ack(id, open->ns(), ack, "the broker handling this event went away"));
    }
    s.pending_acks.clear();
    s.ack_requests.clear();
    s.previous_broker = stream.address;
    if (s.accepted || s.resuming) {
      s.accepted = true;
      s.repins += 1;
      stats_.sessions_repinned += 1;
    }
    s.resuming = false;
    s.broker.clear();
    if (LinkStream* target = choose_locked(id)) {
      pin_locked(id, s, *target, std::move(messages));
      ++moved;
    } else {
      unpin_locked(id, s, now);
      for (auto& m : messages) {
        if (m.kind_case() == internal::EdgeToBroker::kOpen) continue;
        const size_t bytes = m.ByteSizeLong();
        waiting_bytes_ += bytes;
        s.waiting.push_back(Item{std::move(m), now, bytes});
      }
      ++parked;
    }
  }
  if (moved + parked > 0) {
    HLOG_WARN(kLog, "sessions failed over",
              {{"from", stream.address}, {"moved", moved}, {"waiting_for_broker", parked}});
  }
}

void GrpcBrokerLink::Impl::on_done(LinkStream* stream, const grpc::Status& status) {
  std::vector<internal::BrokerToEdge> out;
  {
    std::lock_guard lock(mu_);
    stream->done = true;
    stream->dead = true;
    auto it = brokers_.find(stream->address);
    if (it != brokers_.end() && it->second.stream.get() == stream) {
      BrokerEntry& entry = it->second;
      const int64_t now = now_ms();
      const bool was_up = stream->up;
      // A stream that lived a while resets the backoff; failing attempts double it.
      if (was_up && now - stream->up_since_ms >= 1000) {
        entry.backoff_ms = options_.reconnect_min_ms;
      } else {
        entry.backoff_ms = std::min<uint32_t>(options_.reconnect_max_ms,
                                              std::max<uint32_t>(entry.backoff_ms, 1) * 2);
      }
      static thread_local std::minstd_rand rng(std::random_device{}());
      const int64_t jitter =
          static_cast<int64_t>(entry.backoff_ms) * (int64_t(rng() % 41) - 20) / 100;
      entry.next_attempt_ms = now + entry.backoff_ms + jitter;
      stream->up = false;
      entry.stream.reset();  // the reactor's self_ keeps it alive until OnDone returns
      if (was_up) {
        if (!stopping_) stats_.streams_lost += 1;
        if (!stopping_) {
          HLOG_WARN(kLog, "broker stream lost",
                    {{"broker", stream->address},
                     {"code", static_cast<int>(status.error_code())},
                     {"error", status.error_message()}});
        }
      } else {
        HLOG_DEBUG(kLog, "broker stream attempt failed",
                   {{"broker", stream->address},
                    {"error", status.error_message()},
                    {"retry_in_ms", entry.backoff_ms}});
      }
      failover_locked(*stream, &out);
    }
    --streams_alive_;
  }
  streams_cv_.notify_all();
  deliver(out);
}

void GrpcBrokerLink::Impl::connect(const std::string& address) {
  std::shared_ptr<LinkStream> stream;
  internal::EdgeLink::Stub* stub = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = brokers_.find(address);
    if (stopping_ || it == brokers_.end() || it->second.stream || !credentials_) return;
    BrokerEntry& entry = it->second;
    if (!entry.stub) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_ms));
      args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options_.keepalive_ms));
      args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
      args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                  static_cast<int>(options_.reconnect_min_ms));
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(options_.reconnect_min_ms));
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options_.reconnect_max_ms));
      args.SetMaxReceiveMessageSize(static_cast<int>(options_.max_message_bytes));
      args.SetMaxSendMessageSize(static_cast<int>(options_.max_message_bytes));
      // One connection per broker for this edge, not shared with other channels.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      if (!options_.tls.server_name.empty()) {
        args.SetSslTargetNameOverride(options_.tls.server_name);
      }
      entry.channel = grpc::CreateCustomChannel(address, credentials_, args);
      entry.stub = internal::EdgeLink::NewStub(entry.channel);
    }
    stream = std::make_shared<LinkStream>(shared_from_this(), address);
    stream->write_in_flight = true;  // the hello
    stream->self_ = stream;          // released at the end of OnDone
    entry.stream = stream;
    stub = entry.stub.get();
    ++streams_alive_;
  }
  internal::EdgeBatch hello;
  internal::EdgeHello* h = hello.add_messages()->mutable_hello();
  h->set_edge_id(options_.edge_id);
  h->set_version(options_.version);
  stream->begin(*stub, std::move(hello));
}

void GrpcBrokerLink::Impl::arm_timer() {
  if (!timer_) return;
  timer_->expires_after(std::chrono::milliseconds(options_.tick_ms));
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void GrpcBrokerLink::Impl::tick() {
  std::vector<std::string> to_connect;
  std::vector<internal::BrokerToEdge> failed;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    const int64_t now = now_ms();
    for (auto it = brokers_.begin(); it != brokers_.end();) {
      BrokerEntry& entry = it->second;
      if (!entry.stream && !entry.configured &&
          now - entry.last_heartbeat_ms > options_.heartbeat_timeout_ms) {
        HLOG_INFO(kLog, "broker forgotten: no stream and no heartbeat",
                  {{"broker", entry.address}});
        it = brokers_.erase(it);
        continue;
      }
      if (!entry.stream && now >= entry.next_attempt_ms) to_connect.push_back(entry.address);
      ++it;
    }
    // Messages that waited too long for a broker fail; so do connects nobody answered.
    std::vector<std::string> expired;
    for (const std::string& id : unpinned_) {
      auto it = sessions_.find(id);
      if (it == sessions_.end()) continue;
      Session& s = it->second;
      std::size_t expired_items = 0;  // oldest first
      for (; expired_items < s.waiting.size() &&
             now - s.waiting[expired_items].at_ms >= options_.unpinned_timeout_ms;
           ++expired_items) {
        Item& item = s.waiting[expired_items];
        waiting_bytes_ -= item.bytes;
        if (item.message.kind_case() == internal::EdgeToBroker::kEvent) {
          stats_.unavailable += 1;
          failed.push_back(unavailable_verdict(item.message.event(), "no broker is available"));
        }
      }
      s.waiting.erase(s.waiting.begin(),
                      s.waiting.begin() + static_cast<std::ptrdiff_t>(expired_items));
      if (!s.accepted && now - s.unpinned_since_ms >= options_.unpinned_timeout_ms) {
        expired.push_back(id);
      }
    }
    for (const std::string& id : expired) {
      internal::BrokerToEdge out;
      out.mutable_rejected()->set_socket_id(id);
      out.mutable_rejected()->mutable_error()->set_code("UNAVAILABLE");
      out.mutable_rejected()->mutable_error()->set_message("no broker is available");
      failed.push_back(std::move(out));
      stats_.unavailable += 1;
      erase_session_locked(id);
    }
  }
  for (const std::string& address : to_connect) connect(address);
  deliver(failed);
  arm_timer();
}

void GrpcBrokerLink::Impl::on_heartbeat(const internal::Heartbeat& hb) {
  if (hb.role() != "broker" || hb.address().empty()) return;
  // At most one attempt per this long is brought forward by heartbeats (a broker that announces
  // itself but refuses streams is not hammered).
  constexpr int64_t kHeartbeatRetryMs = 1000;
  bool connect_now = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    BrokerEntry& entry = entry_locked(hb.address(), false);
    const int64_t now = now_ms();
    entry.last_heartbeat_ms = now;
    entry.node_id = hb.node_id();
    if (!entry.stream && entry.next_attempt_ms > now &&
        (entry.heartbeat_retry_ms == INT64_MIN ||
         now - entry.heartbeat_retry_ms >= kHeartbeatRetryMs)) {
      // The broker is alive (it just announced itself), but the backoff grown while it was down
      // would wait up to reconnect_max_ms more: a restarted broker would stay unreachable over
      // EdgeLink for seconds (no bus_fallback to this edge during a NATS outage). Try now, on a
      // fresh channel: the old one is in gRPC's own connect backoff and would fail the attempt.
      entry.heartbeat_retry_ms = now;
      entry.next_attempt_ms = now;
      entry.stub.reset();
      entry.channel.reset();
    }
    connect_now = !entry.stream && now >= entry.next_attempt_ms;
  }
  if (connect_now) {
    boost::asio::post(io_, [this, address = hb.address()] { connect(address); });
  }
}

void GrpcBrokerLink::Impl::deliver(std::vector<internal::BrokerToEdge>& messages) {
  if (!receiver_) return;
  for (auto& m : messages) receiver_(std::move(m));
}

void GrpcBrokerLink::Impl::deliver_later(std::vector<internal::BrokerToEdge> messages) {
  boost::asio::post(io_, [this, messages = std::move(messages)]() mutable { deliver(messages); });
}

size_t GrpcBrokerLink::Impl::live_brokers() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [address, entry] : brokers_) {
    if (entry.stream && entry.stream->up && !entry.stream->dead) ++n;
  }
  return n;
}

std::vector<std::string> GrpcBrokerLink::Impl::live_broker_addresses() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [address, entry] : brokers_) {
    if (entry.stream && entry.stream->up && !entry.stream->dead) out.push_back(address);
  }
  return out;
}

GrpcBrokerLinkStats GrpcBrokerLink::Impl::stats() const {
  std::lock_guard lock(mu_);
  GrpcBrokerLinkStats out = stats_;
  out.brokers_known = brokers_.size();
  out.brokers_live = 0;
  for (const auto& [address, entry] : brokers_) {
    if (entry.stream && entry.stream->up && !entry.stream->dead) ++out.brokers_live;
  }
  out.sessions = sessions_.size();
  out.unpinned_sessions = unpinned_.size();
  out.waiting_bytes = waiting_bytes_;
  return out;
}

GrpcBrokerLink::GrpcBrokerLink(GrpcBrokerLinkOptions options, bus::Bus* bus)
    : impl_(std::make_shared<Impl>(std::move(options), bus)) {}

GrpcBrokerLink::~GrpcBrokerLink() {
  impl_->stop(2000);
}

void GrpcBrokerLink::start() {
  impl_->start();
}
void GrpcBrokerLink::stop(uint32_t grace_ms) {
  impl_->stop(grace_ms);
}
void GrpcBrokerLink::send(internal::EdgeToBroker message) {
  impl_->send(std::move(message));
}
void GrpcBrokerLink::set_receiver(std::function<void(internal::BrokerToEdge)> receiver) {
  impl_->set_receiver(std::move(receiver));
}
size_t GrpcBrokerLink::live_brokers() const {
  return impl_->live_brokers();
}
std::vector<std::string> GrpcBrokerLink::live_broker_addresses() const {
  return impl_->live_broker_addresses();
}
GrpcBrokerLinkStats GrpcBrokerLink::stats() const {
  return impl_->stats();
}

}  // namespace herald::edge
