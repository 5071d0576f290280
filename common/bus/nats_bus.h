// The cluster bus on NATS (libnats): same Bus interface, envelopes serialized once per publish.
#pragma once

#include <memory>
#include <string>

#include "common/bus/bus.h"
#include "common/config/common_config.h"
#include "common/status.h"

namespace herald::bus {

struct NatsBusStats {
  uint64_t published = 0;
  uint64_t publish_failures = 0;  // dropped: disconnected with a full reconnect buffer, or errors
  uint64_t received = 0;
  uint64_t decode_failures = 0;  // payloads that were not a BusEnvelope
  uint64_t slow_consumer_events = 0;
};

class NatsBus : public Bus {
 public:
  virtual NatsBusStats stats() const = 0;
  // Flushes pending publishes and unsubscribes gracefully (NATS drain), waiting at most timeout.
  virtual void drain(int timeout_ms) = 0;
};

// Connects to config.nats_urls, retrying in the background if no server is up yet (state() is
// kReconnecting until one answers); reconnects forever with config.reconnect_wait_ms between tries
// and resubscribes automatically. `client_name` shows in the NATS server's monitoring.
Result<std::unique_ptr<NatsBus>> make_nats_bus(const config::BusConfig& config,
                                               const std::string& client_name);

}  // namespace herald::bus
