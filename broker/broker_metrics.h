// The broker's /metrics families (herald_broker_*) and its readiness probe of the broker thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "common/metrics/callback_collector.h"

namespace herald::broker {

class Broker;

// `broker` must outlive scrapes of `collector` (stop the admin endpoint before the broker).
void add_broker_metrics(metrics::CallbackCollector& collector, const Broker& broker);

// True when a task posted to `io` (the broker thread) runs within `timeout`: the broker's loop is
// alive and not stuck. Any thread but the broker's.
bool loop_responds(boost::asio::io_context& io, std::chrono::milliseconds timeout);

}  // namespace herald::broker
