// NatsBus: RAII over natsOptions/natsConnection/natsSubscription; raw nats types stay in this file.
#include "common/bus/nats_bus.h"

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "common/log/log.h"

namespace herald::bus {

namespace {

struct OptionsDeleter {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};
using OptionsPtr = std::unique_ptr<natsOptions, OptionsDeleter>;

std::string nats_error(natsStatus s) {
  const char* text = natsStatus_GetText(s);
  std::string out = text ? text : "unknown NATS error";
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last) {
    out += " (";
    out += last;
    out += ")";
  }
  return out;
}

// Library-wide setup: message delivery from a small shared thread pool rather than one thread per
// subscription (edges hold one subscription per room that has a local member).
void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    nats_Open(-1);
    nats_SetMessageDeliveryPoolSize(2);
  });
}

// Counters shared with subscriptions, which may deliver a last message after the bus is gone.
struct Counters {
  std::atomic<uint64_t> published{0}, publish_failures{0}, received{0}, decode_failures{0},
      slow_consumers{0};
};

// Shared by the Subscription handle and by NATS's callbacks (through a heap shared_ptr that the
// on-complete callback deletes): whichever finishes last frees it. NATS may complete the
// subscription (and run on_complete) on its own thread while the handle is being destroyed, or
// before, when the connection closes first.
struct SubscriptionState {
  std::shared_ptr<Counters> counters;
  Handler handler;
  natsSubscription* sub = nullptr;
  std::atomic<bool> closed{false};
};

class NatsSubscription final : public Subscription {
 public:
  explicit NatsSubscription(std::shared_ptr<SubscriptionState> state) : state_(std::move(state)) {}
  ~NatsSubscription() override {
    state_->closed.store(true);
    natsSubscription_Unsubscribe(state_->sub);
    natsSubscription_Destroy(state_->sub);
  }

 private:
  std::shared_ptr<SubscriptionState> state_;
};

class NatsBusImpl final : public NatsBus {
 public:
  explicit NatsBusImpl(config::BusConfig config) : config_(std::move(config)) {}

  ~NatsBusImpl() override {
    {
      // Closing fires the disconnected callback: nobody outside may hear about it any more.
      std::lock_guard lock(listeners_mu_);
      closing_ = true;
      listeners_.clear();
    }
    if (conn_ != nullptr) {
      natsConnection_Close(conn_);
      // Connection callbacks run on a NATS thread and reach `this`; the closed callback is the
      // last of them, so wait for it before this object goes away (bounded, in case it never
      // comes).
      std::unique_lock lock(closed_mu_);
      closed_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return closed_; });
      lock.unlock();
      natsConnection_Destroy(conn_);
    }
  }

  Status connect(const std::string& client_name) {
    natsOptions* raw = nullptr;
    if (natsStatus s = natsOptions_Create(&raw); s != NATS_OK) return unavailable(nats_error(s));
    OptionsPtr opts(raw);
    std::vector<const char*> urls;
    for (const auto& u : config_.nats_urls) urls.push_back(u.c_str());
    natsOptions_SetServers(opts.get(), urls.data(), static_cast<int>(urls.size()));
    natsOptions_SetName(opts.get(), client_name.c_str());
    natsOptions_SetMaxReconnect(opts.get(), -1);
    natsOptions_SetReconnectWait(opts.get(), config_.reconnect_wait_ms);
    natsOptions_SetReconnectBufSize(opts.get(), 8 * 1024 * 1024);
    natsOptions_SetMaxPendingMsgs(opts.get(), 1 << 20);
    natsOptions_UseGlobalMessageDelivery(opts.get(), true);
    natsOptions_SetDisconnectedCB(opts.get(), &NatsBusImpl::on_disconnected, this);
    natsOptions_SetReconnectedCB(opts.get(), &NatsBusImpl::on_reconnected, this);
    natsOptions_SetErrorHandler(opts.get(), &NatsBusImpl::on_error, this);
    natsOptions_SetClosedCB(opts.get(), &NatsBusImpl::on_closed, this);
    natsOptions_SetRetryOnFailedConnect(opts.get(), true, &NatsBusImpl::on_connected, this);
    state_.store(BusState::kReconnecting);
    natsStatus s = natsConnection_Connect(&conn_, opts.get());
    if (s == NATS_OK) {
      set_state(BusState::kConnected);
    } else if (s != NATS_NOT_YET_CONNECTED) {
      return unavailable("NATS connect: " + nats_error(s));
    } else {
      HLOG_WARN("bus", "NATS not reachable yet; retrying in the background",
                {{"urls", config_.nats_urls}});
    }
    return Status::ok_status();
  }

  void publish(const std::string& subject, EnvelopePtr envelope) override {
    std::string payload;
    envelope->SerializeToString(&payload);
    natsStatus s = natsConnection_Publish(conn_, subject.c_str(), payload.data(),
                                          static_cast<int>(payload.size()));
    if (s == NATS_OK) {
      counters_->published.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_->publish_failures.fetch_add(1, std::memory_order_relaxed);
      log::write_limited("bus.publish", 1, log::Level::kWarn, "bus", "publish failed",
                         {{"subject", subject}, {"error", nats_error(s)}});
    }
  }

  std::unique_ptr<Subscription> subscribe(const std::string& subject, Handler handler,
                                          const std::string& queue_group) override {
    auto state = std::make_shared<SubscriptionState>();
    state->counters = counters_;
    state->handler = std::move(handler);
    auto* closure = new std::shared_ptr<SubscriptionState>(state);
    natsStatus s;
    if (queue_group.empty()) {
      s = natsConnection_Subscribe(&state->sub, conn_, subject.c_str(), &NatsBusImpl::on_message,
                                   closure);
    } else {
      s = natsConnection_QueueSubscribe(&state->sub, conn_, subject.c_str(), queue_group.c_str(),
                                        &NatsBusImpl::on_message, closure);
    }
    if (s != NATS_OK) {
      HLOG_ERROR("bus", "subscribe failed", {{"subject", subject}, {"error", nats_error(s)}});
      delete closure;
      return std::make_unique<Subscription>();
    }
    natsSubscription_SetPendingLimits(state->sub, -1, 256 * 1024 * 1024);
    if (natsSubscription_SetOnCompleteCB(state->sub, &NatsBusImpl::on_complete, closure) !=
        NATS_OK) {
      // Already closed (the connection went away): no callback will run any more.
      delete closure;
    }
    return std::make_unique<NatsSubscription>(std::move(state));
  }

  BusState state() const override { return state_.load(); }

  void on_state_change(std::function<void(BusState)> listener) override {
    std::lock_guard lock(listeners_mu_);
    listeners_.push_back(std::move(listener));
  }

  NatsBusStats stats() const override {
    NatsBusStats s;
    s.published = counters_->published.load();
    s.publish_failures = counters_->publish_failures.load();
    s.received = counters_->received.load();
    s.decode_failures = counters_->decode_failures.load();
    s.slow_consumer_events = counters_->slow_consumers.load();
    return s;
  }

  void drain(int timeout_ms) override {
    if (conn_ != nullptr) natsConnection_DrainTimeout(conn_, timeout_ms);
  }

 private:
  void set_state(BusState s) {
    BusState old = state_.exchange(s);
    if (old == s) return;
    std::vector<std::function<void(BusState)>> copy;
    {
      std::lock_guard lock(listeners_mu_);
      if (closing_) return;
      copy = listeners_;
    }
    HLOG_INFO("bus", "NATS state", {{"state", bus_state_name(s)}});
    for (auto& l : copy) l(s);
  }

  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    SubscriptionState* state = static_cast<std::shared_ptr<SubscriptionState>*>(closure)->get();
    if (!state->closed.load()) {
      auto envelope = std::make_shared<Envelope>();
      if (envelope->ParseFromArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg))) {
        state->counters->received.fetch_add(1, std::memory_order_relaxed);
        std::string subject = natsMsg_GetSubject(msg);
        state->handler(subject, envelope);
      } else {
        state->counters->decode_failures.fetch_add(1, std::memory_order_relaxed);
        log::write_limited("bus.decode", 1, log::Level::kWarn, "bus",
                           "dropped a bus message that is not a BusEnvelope",
                           {{"subject", natsMsg_GetSubject(msg)}});
      }
    }
    natsMsg_Destroy(msg);
  }

  static void on_complete(void* closure) {
    delete static_cast<std::shared_ptr<SubscriptionState>*>(closure);
  }

  static void on_connected(natsConnection*, void* closure) {
    static_cast<NatsBusImpl*>(closure)->set_state(BusState::kConnected);
  }
  static void on_disconnected(natsConnection*, void* closure) {
    static_cast<NatsBusImpl*>(closure)->set_state(BusState::kReconnecting);
  }
  static void on_reconnected(natsConnection*, void* closure) {
    static_cast<NatsBusImpl*>(closure)->set_state(BusState::kConnected);
  }
  static void on_closed(natsConnection*, void* closure) {
    auto* self = static_cast<NatsBusImpl*>(closure);
    std::lock_guard lock(self->closed_mu_);
    self->closed_ = true;
    self->closed_cv_.notify_all();
  }
  static void on_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    auto* self = static_cast<NatsBusImpl*>(closure);
    if (err == NATS_SLOW_CONSUMER) self->counters_->slow_consumers.fetch_add(1);
    log::write_limited("bus.error", 1, log::Level::kWarn, "bus", "NATS async error",
                       {{"error", nats_error(err)}});
  }

  config::BusConfig config_;
  natsConnection* conn_ = nullptr;
  std::atomic<BusState> state_{BusState::kDisconnected};
  std::mutex listeners_mu_;
  std::vector<std::function<void(BusState)>> listeners_;
  bool closing_ = false;
  std::mutex closed_mu_;
  std::condition_variable closed_cv_;
  bool closed_ = false;  // the NATS closed callback ran: no connection callback will follow
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
};

}  // namespace

Result<std::unique_ptr<NatsBus>> make_nats_bus(const config::BusConfig& config,
                                               const std::string& client_name) {
  init_library_once();
  auto bus = std::make_unique<NatsBusImpl>(config);
  if (Status s = bus->connect(client_name); !s.ok()) return s;
  return std::unique_ptr<NatsBus>(std::move(bus));
}

}  // namespace herald::bus
