// EdgeConnection: the broker's handle on one connected edge (an in-process link or a gRPC stream).
#pragma once

#include <string>

#include "herald/internal/edgelink.pb.h"

namespace herald::broker {

class EdgeConnection {
 public:
  virtual ~EdgeConnection() = default;
  virtual const std::string& edge_id() const = 0;
  // Thread-safe, never blocks; messages arrive at the edge in the order sent.
  virtual void send(internal::BrokerToEdge message) = 0;
};

}  // namespace herald::broker
