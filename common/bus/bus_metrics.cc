// Bus families: the connection state and the NATS client's counters.
#include "common/bus/bus_metrics.h"

#include "common/bus/nats_bus.h"
#include "common/metrics/process_metrics.h"

namespace herald::bus {

void add_bus_state_metric(metrics::CallbackCollector& c, const Bus& bus) {
  const Bus* b = &bus;
  metrics::add_state_metric(c, "herald_bus_state", "Bus connection state (1 for the current one)",
                            {"connected", "reconnecting", "disconnected"},
                            [b] { return std::string(bus_state_name(b->state())); });
}

void add_nats_bus_metrics(metrics::CallbackCollector& c, const NatsBus& bus) {
  add_bus_state_metric(c, bus);
  const NatsBus* b = &bus;
  c.counter("herald_bus_published_total", "Envelopes published on NATS",
            [b] { return static_cast<double>(b->stats().published); });
  c.counter("herald_bus_publish_failures_total",
            "Publishes dropped (disconnected with a full reconnect buffer, or errors)",
            [b] { return static_cast<double>(b->stats().publish_failures); });
  c.counter("herald_bus_received_total", "Messages received from NATS",
            [b] { return static_cast<double>(b->stats().received); });
  c.counter("herald_bus_decode_failures_total", "Received payloads that were not a BusEnvelope",
            [b] { return static_cast<double>(b->stats().decode_failures); });
  c.counter("herald_bus_slow_consumer_events_total",
            "NATS slow-consumer errors (the client dropped messages for a subscription)",
            [b] { return static_cast<double>(b->stats().slow_consumer_events); });
}

}  // namespace herald::bus
