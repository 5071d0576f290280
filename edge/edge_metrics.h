// The edge's /metrics families (herald_edge_*), read from the Edge's counters at scrape time.
#pragma once

#include "common/metrics/callback_collector.h"

namespace herald::edge {

class Edge;

// `edge` must outlive scrapes of `collector` (stop the admin endpoint before the edge).
void add_edge_metrics(metrics::CallbackCollector& collector, const Edge& edge);

}  // namespace herald::edge
