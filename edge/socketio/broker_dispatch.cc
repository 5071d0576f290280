// Routing of broker messages to the Socket.IO server or the bus adapter.
#include "edge/socketio/broker_dispatch.h"

#include <memory>
#include <utility>

namespace herald::sio {

void dispatch_broker_message(internal::BrokerToEdge message, SocketServer* sockets,
                             edge::BusAdapter* adapter) {
  if (message.kind_case() == internal::BrokerToEdge::kBusFallback) {
    if (adapter == nullptr) return;
    auto envelope = std::make_shared<bus::Envelope>();
    if (!envelope->ParseFromString(message.bus_fallback().envelope())) return;
    adapter->on_fallback(message.bus_fallback().subject(), envelope);
    return;
  }
  if (sockets != nullptr) sockets->on_broker_message(std::move(message));
}

}  // namespace herald::sio
