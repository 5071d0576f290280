// BrokerLink: how an edge talks to the broker tier — in-process calls in standalone mode, one gRPC
// EdgeLink stream per broker in cluster mode. Same messages either way (protos/herald/internal).
#pragma once

#include <functional>
#include <vector>

#include "herald/internal/edgelink.pb.h"

namespace herald::edge {

class BrokerLink {
 public:
  virtual ~BrokerLink() = default;

  // Thread-safe; called from shard threads. Messages about one socket are delivered to the broker
  // in the order they were sent. Never blocks.
  virtual void send(internal::EdgeToBroker message) = 0;
  // The same for several messages in order; a link may hand them over at once (one wake-up of
  // the broker's thread instead of one per message).
  virtual void send_batch(std::vector<internal::EdgeToBroker> messages) {
    for (auto& m : messages) send(std::move(m));
  }

  // Where the broker's messages go. Called on a link thread (never a shard thread); the receiver
  // routes each message to the shard that owns its socket id. Set once, before any send().
  virtual void set_receiver(std::function<void(internal::BrokerToEdge)> receiver) = 0;
};

}  // namespace herald::edge
