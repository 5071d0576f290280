// EdgeConnection: the broker's handle on one connected edge (an in-process link or a gRPC stream).
#pragma once

#include <string>

#include "herald/internal/edgelink.pb.h"

namespace herald::broker {

class EdgeConnection {
 public:
  virtual ~EdgeConnection() = default;
  // The edge's node id (EdgeHello.edge_id); stable for the connection's life.
  virtual const std::string& edge_id() const = 0;
  // Thread-safe, never blocks; messages arrive at the edge in the order sent. The broker calls it
  // only from its own thread. Messages sent after the connection closed are dropped.
  virtual void send(internal::BrokerToEdge message) = 0;
};

}  // namespace herald::broker
