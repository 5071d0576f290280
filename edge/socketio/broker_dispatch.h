// The BrokerLink receiver's routing: every message a broker sends the edge, decoded, goes here.
#pragma once

#include "edge/adapter/bus_adapter.h"
#include "edge/socketio/socket_server.h"
#include "herald/internal/edgelink.pb.h"

namespace herald::sio {

// A bus message that came on the broker's stream because its bus is down (BusFallback) goes to
// the bus adapter as if it had arrived on its subject; everything else to the Socket.IO server,
// which posts it to the shard owning its socket. Either may be null (the edge is stopping): the
// message is dropped. Any thread.
void dispatch_broker_message(internal::BrokerToEdge message, SocketServer* sockets,
                             edge::BusAdapter* adapter);

}  // namespace herald::sio
