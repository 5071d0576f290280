// herald-loadgen scenarios (see scenarios.h). The main thread is the controller: it starts
// phases, sleeps, samples /proc and collects results; worker threads only do I/O. Every wait is
// bounded by a deadline.
#include "tests/bench/loadgen/scenarios.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "herald/v1/realtime.grpc.pb.h"
#include "tests/bench/loadgen/stats.h"

namespace herald::bench {

namespace {

using nlohmann::json;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Waits until pred() or the deadline; returns pred().
template <typename Pred>
bool wait_until(Pred pred, double timeout_s, int step_ms = 2) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (!pred()) {
    if (Clock::now() >= deadline) return pred();
    sleep_ms(step_ms);
  }
  return true;
}

std::optional<std::uint64_t> json_uint(std::string_view text, std::string_view key) {
  auto p = text.find(key);
  if (p == std::string_view::npos) return std::nullopt;
  p += key.size();
  std::uint64_t v = 0;
  auto r = std::from_chars(text.data() + p, text.data() + text.size(), v);
  if (r.ec != std::errc()) return std::nullopt;
  return v;
}

// Workers, connections, and the connect ramp every scenario starts with.
class Scenario : public Listener {
 public:
  explicit Scenario(const Options& o) : o_(o) {
    for (int i = 0; i < std::max(1, o.threads); ++i) {
      workers_.push_back(std::make_unique<Worker>());
      workers_.back()->id = i;
      guards_.emplace_back(workers_.back()->io.get_executor());
    }
    connect_hist_.resize(workers_.size());
    handshake_hist_.resize(workers_.size());
    for (auto& w : workers_) threads_.emplace_back([io = &w->io] { io->run(); });
  }
  ~Scenario() override { shutdown(); }

  void shutdown() {
    if (threads_.empty()) return;
    for (auto& w : workers_) {
      asio::post(w->io, [this, wp = w.get()] {
        for (auto& c : conns_) {
          if (&c->worker() == wp) c->close();
        }
      });
    }
    for (auto& g : guards_) g.reset();
    for (auto& w : workers_) w->io.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    conns_.clear();
  }

  // Adds `count` connections (subjects prefix<i>) to targets round-robin; returns the first index.
  // Their tokens are signed here, before anything is measured: a real client has its token before
  // it connects, and signing inside the ramp made the load generator's core the limit.
  std::size_t add(std::uint32_t count, const std::string& prefix, bool first_target_only) {
    std::size_t first = conns_.size();
    for (std::uint32_t i = 0; i < count; ++i) {
      auto idx = static_cast<std::uint32_t>(conns_.size());
      Worker& w = *workers_[idx % workers_.size()];
      const Target& t = first_target_only ? o_.targets[0] : o_.targets[i % o_.targets.size()];
      conns_.push_back(Connection::create(w, t, *this, idx, o_.transport));
      tokens_.push_back(make_token(o_.secret, o_.kid, prefix + std::to_string(i), 6 * 3600));
    }
    return first;
  }

  // Connects conns_[first, first+count) with at most `concurrency` handshakes in flight. While
  // it runs, on_sample(connected) is called from this thread about every 50 ms.
  template <typename OnSample>
  bool connect_range(std::size_t first, std::size_t count, std::uint32_t concurrency,
                     OnSample on_sample) {
    range_end_ = first + count;
    next_.store(first);
    const std::size_t ok0 = ok_.load(), failed0 = failed_.load();
    std::size_t initial = std::min<std::size_t>(count, std::max<std::uint32_t>(1, concurrency));
    for (std::size_t i = 0; i < initial; ++i) launch_next();
    auto deadline = Clock::now() + std::chrono::duration<double>(o_.timeout_s);
    auto settled = [&] { return (ok_.load() - ok0) + (failed_.load() - failed0) >= count; };
    while (!settled() && Clock::now() < deadline) {
      sleep_ms(50);
      on_sample(ok_.load());
    }
    std::size_t target_ok = ok0 + count;
    return ok_.load() >= target_ok;
  }

  void on_connected(Connection& c) override {
    auto wid = static_cast<std::size_t>(c.worker().id);
    connect_hist_[wid].record(c.t_connected - c.t_start);
    if (c.t_open) handshake_hist_[wid].record(c.t_connected - c.t_open);
    ok_.fetch_add(1);
    after_connected(c);
    launch_next();
  }

  void on_closed(Connection& c, std::string_view why) override {
    if (c.t_connected == 0) {
      failed_.fetch_add(1);
      launch_next();
    } else {
      disconnects_.fetch_add(1);
    }
    std::lock_guard lock(errors_mu_);
    if (errors_.size() < 5) errors_.emplace_back(why);
  }

  virtual void after_connected(Connection&) {}

  json connect_json(double ramp_s) const {
    Histogram total, hs;
    for (auto& h : connect_hist_) total.merge(h);
    for (auto& h : handshake_hist_) hs.merge(h);
    json errors;
    {
      std::lock_guard lock(errors_mu_);
      errors = errors_;
    }
    return {{"connected", ok_.load()},
            {"failed", failed_.load()},
            {"ramp_s", ramp_s},
            {"connect_rate_per_s", ramp_s > 0 ? static_cast<double>(ok_.load()) / ramp_s : 0.0},
            {"connect_latency", total.summary_us()},
            {"handshake_latency", hs.summary_us()},
            {"errors", errors}};
  }

 protected:
  void launch_next() {
    std::size_t i = next_.fetch_add(1);
    if (i >= range_end_) return;
    Connection* c = conns_[i].get();
    ConnectionOptions co;
    co.transport = o_.transport;
    if (o_.source_ips > 1) {
      co.source_address = asio::ip::address_v4(0x7F000001u + (i % o_.source_ips));
    }
    co.token = std::move(tokens_[i]);  // each connection is launched once
    asio::post(c->worker().io, [c, co = std::move(co)]() mutable { c->start(co); });
  }

  const Options& o_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::string> tokens_;  // per connection, until it is launched
  std::vector<Histogram> connect_hist_, handshake_hist_;
  std::atomic<std::size_t> next_{0};
  std::size_t range_end_ = 0;
  std::atomic<std::size_t> ok_{0}, failed_{0}, disconnects_{0};
  mutable std::mutex errors_mu_;
  std::vector<std::string> errors_;
};

json loadgen_cpu(double start) {
  return process_cpu_seconds(getpid()).value_or(start) - start;
}

// --- connect ---------------------------------------------------------------------------------

class ConnectScenario : public Scenario {
 public:
  using Scenario::Scenario;

  json run() {
    add(o_.connections, "c", false);
    std::optional<std::uint64_t> rss_before;
    if (o_.mem_pid) rss_before = process_rss_bytes(o_.mem_pid);
    std::vector<std::pair<double, double>> ramp_points;
    if (rss_before) ramp_points.emplace_back(0.0, static_cast<double>(*rss_before));
    CpuMeter cpu(o_.cpu_pids);
    cpu.start();
    double own0 = process_cpu_seconds(getpid()).value_or(0);
    auto t0 = Clock::now();
    bool all = connect_range(0, o_.connections, o_.concurrency, [&](std::size_t n) {
      if (!o_.mem_pid) return;
      if (auto r = process_rss_bytes(o_.mem_pid)) {
        ramp_points.emplace_back(static_cast<double>(n), static_cast<double>(*r));
      }
    });
    double ramp_s = seconds_since(t0);
    json out = connect_json(ramp_s);
    json cpu_json = cpu.stop_json(ramp_s);
    double server_cpu = cpu_json["server_cpu_s"].get<double>();
    out["all_connected"] = all;
    out["ramp_cpu"] = cpu_json;
    out["connections_per_server_cpu_s"] =
        server_cpu > 0 ? static_cast<double>(ok_.load()) / server_cpu : 0.0;
    out["loadgen_cpu_s"] = loadgen_cpu(own0);

    // Idle hold: pings are answered by the connections; sample RSS twice a second.
    std::size_t connected = ok_.load();
    std::vector<double> hold_rss;
    CpuMeter hold_cpu(o_.cpu_pids);
    hold_cpu.start();
    auto h0 = Clock::now();
    while (seconds_since(h0) < o_.hold_s) {
      sleep_ms(500);
      if (o_.mem_pid) {
        if (auto r = process_rss_bytes(o_.mem_pid)) hold_rss.push_back(static_cast<double>(*r));
      }
    }
    out["hold_s"] = seconds_since(h0);
    out["hold_cpu"] = hold_cpu.stop_json(seconds_since(h0));
    out["disconnects_during_hold"] = disconnects_.load();
    out["still_connected"] = ok_.load() - disconnects_.load();
    if (rss_before && !hold_rss.empty() && connected > 0) {
      double after = hold_rss.back();
      double slope_bytes = slope(ramp_points);
      out["memory"] = {
          {"rss_before_bytes", *rss_before},
          {"rss_after_bytes", after},
          {"rss_after_mib", after / 1048576.0},
          {"per_connection_delta_bytes",
           (after - static_cast<double>(*rss_before)) / static_cast<double>(connected)},
          {"per_connection_slope_bytes", slope_bytes},
          {"ramp_samples", ramp_points.size()},
      };
    }
    return out;
  }
};

// --- fanout / push ---------------------------------------------------------------------------

// Sends one message for the fan-out engine: over a websocket (a client event relayed to the room)
// or through gRPC.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual void send(std::uint64_t seq, const std::string& args_json, std::uint32_t user) = 0;
  virtual json stats() const { return json::object(); }
};

class GrpcSender : public Sender {
 public:
  GrpcSender(const std::string& address, std::string kind, std::uint32_t rpc_window)
      : kind_(std::move(kind)), window_(std::max<std::uint32_t>(1, rpc_window)) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    stub_ = v1::Realtime::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    thread_ = std::thread([this] { loop(); });
  }
  ~GrpcSender() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void send(std::uint64_t, const std::string& args_json, std::uint32_t user) override {
    {
      std::lock_guard lock(mu_);
      queue_.emplace_back(args_json, user);
    }
    cv_.notify_one();
  }

  json stats() const override {
    return {{"rpc_ok", ok_.load()}, {"rpc_errors", errors_.load()}, {"rpc_first_error", [&] {
                                                                       std::lock_guard lock(mu_);
                                                                       return first_error_;
                                                                     }()}};
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    grpc::Status status;
    v1::BroadcastResponse broadcast;
    v1::PushToUserResponse push;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::BroadcastResponse>> b;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::PushToUserResponse>> p;
  };

  void start_call(const std::string& args_json, std::uint32_t user) {
    auto* call = new Call;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (kind_ == "user") {
      v1::PushToUserRequest req;
      req.set_user_id("r" + std::to_string(user));
      req.set_ns("/");
      req.set_event("push");
      req.set_args_json(args_json);
      call->p = stub_->AsyncPushToUser(&call->ctx, req, &cq_);
      call->p->Finish(&call->push, &call->status, call);
    } else {
      v1::BroadcastRequest req;
      req.set_ns("/");
      req.add_rooms("bench:fanout");
      req.set_event("push");
      req.set_args_json(args_json);
      call->b = stub_->AsyncBroadcast(&call->ctx, req, &cq_);
      call->b->Finish(&call->broadcast, &call->status, call);
    }
    ++in_flight_;
  }

  void loop() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (in_flight_ == 0) {
          cv_.wait_for(lock, std::chrono::milliseconds(50),
                       [&] { return stop_ || !queue_.empty(); });
        }
        if (stop_ && in_flight_ == 0) break;
        while (!queue_.empty() && in_flight_ < window_ && !stop_) {
          auto [args, user] = std::move(queue_.front());
          queue_.pop_front();
          lock.unlock();
          start_call(args, user);
          lock.lock();
        }
      }
      if (in_flight_ == 0) continue;
      void* tag = nullptr;
      bool okay = false;
      auto deadline =
          std::chrono::system_clock::now() + std::chrono::milliseconds(queue_empty() ? 20 : 0);
      auto st = cq_.AsyncNext(&tag, &okay, deadline);
      while (st == grpc::CompletionQueue::GOT_EVENT) {
        auto* call = static_cast<Call*>(tag);
        --in_flight_;
        if (call->status.ok()) {
          ok_.fetch_add(1);
        } else {
          errors_.fetch_add(1);
          std::lock_guard lock(mu_);
          if (first_error_.empty()) first_error_ = call->status.error_message();
        }
        delete call;
        st = cq_.AsyncNext(&tag, &okay, std::chrono::system_clock::now());
      }
    }
    cq_.Shutdown();
    void* tag;
    bool okay;
    while (cq_.Next(&tag, &okay)) delete static_cast<Call*>(tag);
  }

  bool queue_empty() {
    std::lock_guard lock(mu_);
    return queue_.empty();
  }

  std::string kind_;
  std::uint32_t window_;
  std::unique_ptr<v1::Realtime::Stub> stub_;
  grpc::CompletionQueue cq_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::uint32_t>> queue_;
  bool stop_ = false;
  std::uint32_t in_flight_ = 0;  // loop thread only
  std::atomic<std::uint64_t> ok_{0}, errors_{0};
  std::string first_error_;
  std::thread thread_;
};

class WsSender : public Sender {
 public:
  explicit WsSender(Connection* c) : c_(c) {}
  void send(std::uint64_t, const std::string& args_json, std::uint32_t) override {
    std::string packet = "[\"message\",";
    packet += args_json.substr(1);  // args_json is "[{...}]"
    c_->emit(packet);
  }

 private:
  Connection* c_;
};

class FanoutScenario : public Scenario {
 public:
  FanoutScenario(const Options& o, bool push) : Scenario(o), push_(push) {
    for (std::size_t i = 0; i < kRingSize; ++i) ring_[i].seq.store(~0ull);
    per_worker_.resize(workers_.size());
  }

  json run() {
    json out;
    const std::uint32_t n = o_.receivers;
    add(n, "r", false);
    if (!push_) add(1, "s", true);
    auto t0 = Clock::now();
    bool all = connect_range(0, conns_.size(), o_.concurrency, [](std::size_t) {});
    out["setup"] = connect_json(seconds_since(t0));
    if (!all) {
      out["error"] = "not every connection connected";
      return out;
    }
    // Receivers join the room (acked).
    joined_.store(0);
    for (std::uint32_t i = 0; i < n; ++i) {
      Connection* c = conns_[i].get();
      asio::post(c->worker().io, [c] { c->emit("[\"join\",{\"room\":\"bench:fanout\"}]", 1); });
    }
    if (!wait_until([&] { return joined_.load() >= n; }, o_.timeout_s)) {
      out["error"] =
          "joins not acknowledged: " + std::to_string(joined_.load()) + "/" + std::to_string(n);
      return out;
    }
    if (join_errors_.load() > 0) {
      out["error"] = "join refused: " + first_join_error_;
      return out;
    }
    sleep_ms(200);
    if (push_) {
      sender_ = std::make_unique<GrpcSender>(o_.grpc, o_.push_kind, o_.rpc_window);
      target_per_message_ = o_.push_kind == "user" ? 1 : n;
    } else {
      sender_ = std::make_unique<WsSender>(conns_[n].get());
      target_per_message_ = n;
    }
    sender_worker_ = push_ ? workers_[0].get() : &conns_[n]->worker();
    pad_.assign(o_.payload, 'x');

    // A short warm-up (JIT, allocator, TCP windows), not measured.
    run_phase(9, false, std::min(1.0, o_.duration_s / 4));
    json phases = json::object();
    if (o_.mode == "saturated" || o_.mode == "both")
      phases["saturated"] = run_phase(0, false, o_.duration_s);
    if (o_.mode == "rate" || o_.mode == "both") phases["rate"] = run_phase(1, true, o_.duration_s);
    out["phases"] = phases;
    out["receivers"] = n;
    out["disconnects"] = disconnects_.load();
    if (push_) out["grpc"] = sender_->stats();
    sender_.reset();
    return out;
  }

  void on_event(Connection& c, std::string_view packet) override {
    auto seq = json_uint(packet, "\"seq\":");
    auto t = json_uint(packet, "\"t\":");
    auto ph = json_uint(packet, "\"ph\":");
    if (!seq || !t || !ph || *ph >= kPhases) return;
    std::uint64_t now = now_ns();
    auto& w = per_worker_[static_cast<std::size_t>(c.worker().id)].phase[*ph];
    ++w.delivered;
    w.latency.record(now > *t ? now - *t : 0);
    // Order per receiver (sequence numbers only grow across phases).
    if (c.user_value != 0 && *seq <= c.user_value) ++w.out_of_order;
    if (c.user_value != 0 && *seq > c.user_value + 1 && target_per_message_ > 1) {
      w.gaps += *seq - c.user_value - 1;
    }
    c.user_value = std::max(c.user_value, *seq);
    Slot& s = ring_[*seq & kRingMask];
    if (s.seq.load(std::memory_order_acquire) == *seq) {
      if (s.count.fetch_add(1, std::memory_order_acq_rel) + 1 == s.target) {
        asio::post(sender_worker_->io, [this, q = *seq] { on_complete(q); });
      }
    }
  }

  void on_ack(Connection&, std::uint64_t, std::string_view args) override {
    if (args.find("\"error\"") != std::string_view::npos) {
      if (join_errors_.fetch_add(1) == 0) first_join_error_ = std::string(args.substr(0, 200));
    }
    joined_.fetch_add(1);
  }

 private:
  static constexpr std::size_t kPhases = 10;
  static constexpr std::size_t kRingSize = 1 << 16;
  static constexpr std::uint64_t kRingMask = kRingSize - 1;
  static constexpr double kExpireS = 5.0;

  struct Slot {
    std::atomic<std::uint64_t> seq;
    std::atomic<std::uint32_t> count{0};
    std::uint32_t target = 0;
    std::uint64_t sent_ns = 0;
    bool done = false;  // sender worker only
  };
  struct PhaseStats {
    std::uint64_t delivered = 0, out_of_order = 0, gaps = 0;
    Histogram latency;
  };
  struct alignas(64) WorkerStats {
    std::array<PhaseStats, kPhases> phase;
  };

  // --- sender side (on sender_worker_) ---
  void send_one() {
    if (in_flight_.load() >= kRingSize / 2) {
      ++skipped_;
      return;
    }
    std::uint64_t seq = next_seq_++;
    Slot& s = ring_[seq & kRingMask];
    s.count.store(0, std::memory_order_relaxed);
    s.target = target_per_message_;
    s.done = false;
    s.sent_ns = now_ns();
    s.seq.store(seq, std::memory_order_release);
    outstanding_.push_back(seq);
    in_flight_.fetch_add(1);
    ++sent_;
    // Keys in alphabetical order and no spaces, so a server that re-serializes the arguments
    // (sorted-key JSON) produces the same text.
    std::string args = "[{\"pad\":\"" + pad_ + "\",\"ph\":" + std::to_string(phase_) +
                       ",\"room\":\"bench:fanout\",\"seq\":" + std::to_string(seq) +
                       ",\"t\":" + std::to_string(s.sent_ns) + "}]";
    sender_->send(seq, args, static_cast<std::uint32_t>(seq % o_.receivers));
  }

  void on_complete(std::uint64_t seq) {
    Slot& s = ring_[seq & kRingMask];
    if (s.seq.load() != seq || s.done) return;
    s.done = true;
    in_flight_.fetch_sub(1);
    ++completed_;
    pump();
  }

  void pump() {
    if (!sending_ || rate_mode_) return;
    while (sending_ && in_flight_.load() < o_.window) send_one();
  }

  void sweep() {
    std::uint64_t now = now_ns();
    while (!outstanding_.empty()) {
      Slot& s = ring_[outstanding_.front() & kRingMask];
      if (s.seq.load() != outstanding_.front() || s.done) {
        outstanding_.pop_front();
        continue;
      }
      if (now - s.sent_ns < static_cast<std::uint64_t>(kExpireS * 1e9)) break;
      s.done = true;  // never completed: lost somewhere
      s.seq.store(~0ull);
      in_flight_.fetch_sub(1);
      ++expired_;
      outstanding_.pop_front();
    }
  }

  void tick(std::shared_ptr<asio::steady_timer> timer, Clock::time_point next) {
    if (!ticking_) return;
    sweep();
    if (rate_mode_ && sending_) {
      // Fixed schedule; after a stall send at most a few messages to catch up.
      auto now = Clock::now();
      int burst = 0;
      while (next <= now && burst++ < 4) {
        send_one();
        next += period_;
      }
      if (next <= now) next = now + period_;
    } else {
      next = Clock::now() + std::chrono::milliseconds(20);
    }
    timer->expires_at(std::min(next, Clock::now() + std::chrono::milliseconds(20)));
    timer->async_wait([this, timer, next](boost::system::error_code e) {
      if (!e) tick(timer, next);
    });
  }

  json run_phase(int phase, bool rate_mode, double duration) {
    auto& io = sender_worker_->io;
    std::uint64_t delivered_before = 0;
    for (auto& w : per_worker_) delivered_before += w.phase[phase].delivered;
    CpuMeter cpu(o_.cpu_pids);
    double own0 = process_cpu_seconds(getpid()).value_or(0);
    std::atomic<bool> started{false};
    std::uint64_t sent0 = 0, expired0 = 0;
    cpu.start();
    auto t0 = Clock::now();
    asio::post(io, [&, this] {
      phase_ = phase;
      rate_mode_ = rate_mode;
      period_ = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / std::max(0.1, o_.rate)));
      sent0 = sent_;
      expired0 = expired_;
      sending_ = true;
      ticking_ = true;
      auto timer = std::make_shared<asio::steady_timer>(io);
      tick(timer, Clock::now());
      pump();
      started = true;
    });
    wait_until([&] { return started.load(); }, 5);
    sleep_ms(static_cast<int>(duration * 1000));
    std::atomic<bool> stopped{false};
    asio::post(io, [&, this] {
      sending_ = false;
      stopped = true;
    });
    wait_until([&] { return stopped.load(); }, 5);
    double send_s = seconds_since(t0);
    bool drained = wait_until([&] { return in_flight_.load() == 0; }, kExpireS + 2, 1);
    double wall = seconds_since(t0);
    json cpu_json = cpu.stop_json(wall);
    double own = process_cpu_seconds(getpid()).value_or(own0) - own0;
    std::atomic<bool> halted{false};
    std::uint64_t sent = 0, expired = 0;
    asio::post(io, [&, this] {
      ticking_ = false;
      sent = sent_ - sent0;
      expired = expired_ - expired0;
      halted = true;
    });
    wait_until([&] { return halted.load(); }, 5);
    sleep_ms(50);  // let late deliveries of expired messages land in this phase's counters

    PhaseStats total;
    for (auto& w : per_worker_) {
      auto& p = w.phase[phase];
      total.delivered += p.delivered;
      total.out_of_order += p.out_of_order;
      total.gaps += p.gaps;
      total.latency.merge(p.latency);
    }
    std::uint64_t delivered = total.delivered - delivered_before;
    std::uint64_t expected = sent * target_per_message_;
    double server_cpu = cpu_json["server_cpu_s"].get<double>();
    return {{"mode", rate_mode ? "rate" : "saturated"},
            {"target_rate", rate_mode ? o_.rate : 0.0},
            {"window", o_.window},
            {"sent", sent},
            {"send_s", send_s},
            {"wall_s", wall},
            {"messages_per_s", static_cast<double>(sent) / wall},
            {"delivered", delivered},
            {"expected", expected},
            {"lost", expected > delivered ? expected - delivered : 0},
            {"incomplete_messages", expired},
            {"out_of_order", total.out_of_order},
            {"gaps", total.gaps},
            {"drained", drained},
            {"deliveries_per_s", static_cast<double>(delivered) / wall},
            {"deliveries_per_server_cpu_s",
             server_cpu > 0 ? static_cast<double>(delivered) / server_cpu : 0.0},
            {"latency", total.latency.summary_us()},
            {"cpu", cpu_json},
            {"loadgen_cpu_s", own},
            {"skipped_ring_full", skipped_}};
  }

  bool push_;
  std::unique_ptr<Sender> sender_;
  Worker* sender_worker_ = nullptr;
  std::uint32_t target_per_message_ = 0;
  std::string pad_;
  std::unique_ptr<Slot[]> ring_ = std::make_unique<Slot[]>(kRingSize);
  std::vector<WorkerStats> per_worker_;
  std::atomic<std::uint32_t> joined_{0}, join_errors_{0};
  std::string first_join_error_;
  // Sender worker state.
  std::deque<std::uint64_t> outstanding_;
  std::atomic<std::uint64_t> in_flight_{0};
  std::uint64_t next_seq_ = 1, sent_ = 0, completed_ = 0, expired_ = 0, skipped_ = 0;
  int phase_ = 0;
  bool sending_ = false, ticking_ = false, rate_mode_ = false;
  Clock::duration period_{};
};

// --- echo ------------------------------------------------------------------------------------

class EchoScenario : public Scenario {
 public:
  using Scenario::Scenario;

  json run() {
    json out;
    add(o_.clients, "e", true);
    per_worker_.resize(workers_.size());
    sent_args_.resize(o_.clients);
    auto t0 = Clock::now();
    bool all = connect_range(0, conns_.size(), o_.concurrency, [](std::size_t) {});
    out["setup"] = connect_json(seconds_since(t0));
    if (!all) {
      out["error"] = "not every connection connected";
      return out;
    }
    pad_.assign(o_.payload, 'x');
    // Warm-up, then the measured phase.
    phase(0.5, false);
    out["measured"] = phase(o_.duration_s, true);
    out["disconnects"] = disconnects_.load();
    return out;
  }

  void on_ack(Connection& c, std::uint64_t id, std::string_view args) override {
    auto& w = per_worker_[static_cast<std::size_t>(c.worker().id)];
    std::uint64_t now = now_ns();
    if (id != c.user_value) {
      ++w.unexpected;
      return;
    }
    if (args != sent_args_[c.index()]) {
      if (w.mismatches++ == 0) {
        std::lock_guard lock(errors_mu_);
        first_mismatch_ = "sent " + sent_args_[c.index()].substr(0, 120) + " got " +
                          std::string(args.substr(0, 120));
      }
    }
    if (measuring_.load(std::memory_order_relaxed)) {
      ++w.acks;
      w.rtt.record(now - c.user_value2);
    }
    c.user_value2 = 0;
    outstanding_.fetch_sub(1);
    if (running_.load(std::memory_order_relaxed)) send(c);
  }

 private:
  struct alignas(64) WorkerStats {
    std::uint64_t acks = 0, mismatches = 0, unexpected = 0;
    Histogram rtt;
  };

  void send(Connection& c) {
    std::uint64_t id = ++c.user_value;
    c.user_value2 = now_ns();
    outstanding_.fetch_add(1);
    std::string obj = "{\"pad\":\"" + pad_ + "\",\"seq\":" + std::to_string(id) +
                      ",\"t\":" + std::to_string(c.user_value2) + "}";
    sent_args_[c.index()] = "[" + obj + "]";
    c.emit("[\"message-with-ack\"," + obj + "]", id);
  }

  json phase(double duration, bool measured) {
    for (auto& w : per_worker_) w = WorkerStats{};
    CpuMeter cpu(o_.cpu_pids);
    double own0 = process_cpu_seconds(getpid()).value_or(0);
    cpu.start();
    measuring_ = measured;
    running_ = true;
    auto t0 = Clock::now();
    for (auto& c : conns_) {
      Connection* cp = c.get();
      asio::post(cp->worker().io, [this, cp] {
        if (cp->user_value2 == 0) send(*cp);
      });
    }
    sleep_ms(static_cast<int>(duration * 1000));
    double wall = seconds_since(t0);
    json cpu_json = cpu.stop_json(wall);
    double own = process_cpu_seconds(getpid()).value_or(own0) - own0;
    measuring_ = false;
    running_ = false;
    // Let the acks in flight come back (bounded) so the next phase starts clean.
    wait_until([&] { return outstanding_.load() == 0; }, 5, 5);
    WorkerStats total;
    for (auto& w : per_worker_) {
      total.acks += w.acks;
      total.mismatches += w.mismatches;
      total.unexpected += w.unexpected;
      total.rtt.merge(w.rtt);
    }
    double server_cpu = cpu_json["server_cpu_s"].get<double>();
    json out = {{"clients", o_.clients},
                {"wall_s", wall},
                {"acks", total.acks},
                {"rtts_per_s", static_cast<double>(total.acks) / wall},
                {"rtts_per_server_cpu_s",
                 server_cpu > 0 ? static_cast<double>(total.acks) / server_cpu : 0.0},
                {"rtt", total.rtt.summary_us()},
                {"ack_mismatches", total.mismatches},
                {"unexpected_acks", total.unexpected},
                {"unanswered_at_end", outstanding_.load()},
                {"cpu", cpu_json},
                {"loadgen_cpu_s", own}};
    std::lock_guard lock(errors_mu_);
    if (!first_mismatch_.empty()) out["first_mismatch"] = first_mismatch_;
    return out;
  }

  std::vector<WorkerStats> per_worker_;
  std::vector<std::string> sent_args_;
  std::string pad_;
  std::string first_mismatch_;
  std::atomic<bool> measuring_{false}, running_{false};
  std::atomic<std::int64_t> outstanding_{0};  // acks awaited
};

}  // namespace

json run_connect(const Options& o) {
  return ConnectScenario(o).run();
}
json run_fanout(const Options& o, bool push) {
  return FanoutScenario(o, push).run();
}
json run_echo(const Options& o) {
  return EchoScenario(o).run();
}

}  // namespace herald::bench
