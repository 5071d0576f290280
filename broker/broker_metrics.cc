// herald_broker_* families from BrokerCounters; names and meanings in docs/metrics.md.
#include "broker/broker_metrics.h"

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "broker/core/broker.h"

namespace herald::broker {

namespace {

std::vector<metrics::Sample> by_code(
    const std::array<std::atomic<uint64_t>, BrokerCounters::kCodeSlots>& counts) {
  std::vector<metrics::Sample> out;
  for (size_t i = 0; i < counts.size(); ++i) {
    const uint64_t n = counts[i].load(std::memory_order_relaxed);
    if (n == 0) continue;  // only codes that happened: a small, stable label set
    out.push_back({{{"code", std::string(BrokerCounters::slot_name(i))}}, static_cast<double>(n)});
  }
  return out;
}

}  // namespace

void add_broker_metrics(metrics::CallbackCollector& c, const Broker& broker) {
  using metrics::read;
  const BrokerCounters* k = &broker.counters();
  c.gauge("herald_broker_sessions", "Sockets whose session this broker holds",
          [k] { return read(k->sessions); });
  c.counter("herald_broker_sessions_accepted_total", "Namespace connects accepted",
            [k] { return read(k->sessions_accepted); });
  c.counter("herald_broker_sessions_closed_total", "Sessions ended (disconnects, closes)",
            [k] { return read(k->sessions_closed); });
  c.counters("herald_broker_auth_failures_total",
             "Namespace connects refused (CONNECT_ERROR), by code: token checks and connect policy",
             [k] { return by_code(k->connects_refused_by_code); });
  c.counters("herald_broker_policy_refusals_total",
             "Client events refused (error ack or error event), by code",
             [k] { return by_code(k->events_refused_by_code); });
  c.counter("herald_broker_events_total", "Client events received",
            [k] { return read(k->events); });
  c.counter("herald_broker_relays_total", "Client events relayed to rooms",
            [k] { return read(k->relays); });
  c.counter("herald_broker_joins_total", "Room joins requested by clients",
            [k] { return read(k->joins); });
  c.counter("herald_broker_leaves_total", "Room leaves requested by clients",
            [k] { return read(k->leaves); });
  c.counter("herald_broker_forwards_total", "Client events forwarded to HandleEvents services",
            [k] { return read(k->forwards); });
  c.counter("herald_broker_forwards_unavailable_total",
            "Forwards that failed UNAVAILABLE (no handler, handler gone or too slow)",
            [k] { return read(k->forwards_unavailable); });
  c.counter("herald_broker_forwards_to_peers_total",
            "Client events handed to a peer broker's HandleEvents service over the bus",
            [k] { return read(k->forwards_to_peers); });
  c.counter("herald_broker_forwards_from_peers_total",
            "Peer brokers' client events given to a local HandleEvents service",
            [k] { return read(k->forwards_from_peers); });
  c.counter("herald_broker_bus_fallbacks_total",
            "Fan-out messages sent on EdgeLink streams because the bus was down",
            [k] { return read(k->bus_fallbacks); });
  c.counter("herald_broker_token_refreshes_total", "Token refreshes accepted",
            [k] { return read(k->token_refreshes); });
  c.counter("herald_broker_token_expiries_total", "Sockets disconnected for an expired token",
            [k] { return read(k->token_expiries); });
  c.counter("herald_broker_api_emits_total", "PushToUser, Broadcast and EmitWithAck calls accepted",
            [k] { return read(k->api_emits); });
  c.counter("herald_broker_api_refused_total", "API calls refused by validation",
            [k] { return read(k->api_refused); });
  c.counter("herald_broker_emit_ack_timeouts_total", "EmitWithAck targets that did not ack in time",
            [k] { return read(k->emit_ack_timeouts); });
  c.gauge("herald_broker_handlers", "HandleEvents streams registered",
          [k] { return read(k->handlers); });
}

bool loop_responds(boost::asio::io_context& io, std::chrono::milliseconds timeout) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool ran = false;
  };
  auto state = std::make_shared<State>();
  boost::asio::post(io, [state] {
    std::lock_guard lock(state->mu);
    state->ran = true;
    state->cv.notify_all();
  });
  std::unique_lock lock(state->mu);
  return state->cv.wait_for(lock, timeout, [&] { return state->ran; });
}

}  // namespace herald::broker
