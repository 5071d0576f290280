// herald_bus_* families for /metrics.
#pragma once

#include "common/bus/bus.h"
#include "common/metrics/callback_collector.h"

namespace herald::bus {

class NatsBus;

// herald_bus_state{state}. `bus` must outlive scrapes.
void add_bus_state_metric(metrics::CallbackCollector& collector, const Bus& bus);
// herald_bus_state plus the NATS client's counters (published, received, failures).
void add_nats_bus_metrics(metrics::CallbackCollector& collector, const NatsBus& bus);

}  // namespace herald::bus
