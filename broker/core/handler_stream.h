// HandlerStream: the broker's handle on one HandleEvents stream (a gRPC reactor; a fake in tests).
#pragma once

#include "common/status.h"
#include "herald/v1/realtime.pb.h"

namespace herald::broker {

class HandlerStream {
 public:
  virtual ~HandlerStream() = default;
  // Thread-safe, never blocks; messages arrive in the order sent. Dropped once the stream ended.
  virtual void send(v1::ServerMessage message) = 0;
  // Ends the stream with `status` (broker shutdown). Thread-safe; later sends are dropped.
  virtual void close(Status status) = 0;
};

}  // namespace herald::broker
