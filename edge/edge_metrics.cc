// herald_edge_* families: Engine.IO shard counters, Socket.IO counters and the bus adapter's.
// Names and meanings are listed in docs/metrics.md.
#include "edge/edge_metrics.h"

#include <algorithm>

#include "edge/edge.h"

namespace herald::edge {

void add_edge_metrics(metrics::CallbackCollector& c, const Edge& edge) {
  using metrics::read;
  using metrics::Sample;
  const Edge* e = &edge;

  c.gauge("herald_edge_accepting", "1 while the edge accepts new client connections",
          [e] { return e->accepting() ? 1.0 : 0.0; });
  c.gauge("herald_edge_connections", "Open client TCP connections",
          [e] { return static_cast<double>(e->eio_stats().connections); });
  c.gauges("herald_edge_sessions", "Open Engine.IO sessions by current transport", [e] {
    const EioServerStats s = e->eio_stats();
    const double ws = static_cast<double>(s.websocket_sessions);
    const double all = static_cast<double>(s.sessions);
    return std::vector<Sample>{{{{"transport", "polling"}}, std::max(0.0, all - ws)},
                               {{{"transport", "websocket"}}, ws}};
  });
  c.gauges("herald_edge_namespace_sockets", "Connected Socket.IO sockets by namespace", [e] {
    std::vector<Sample> out;
    for (auto& [ns, n] : e->namespace_gauges().snapshot()) {
      out.push_back({{{"namespace", ns}}, static_cast<double>(n)});
    }
    return out;
  });
  c.counter("herald_edge_sessions_opened_total", "Engine.IO sessions opened",
            [e] { return static_cast<double>(e->eio_stats().sessions_opened); });
  c.counter("herald_edge_connections_refused_total",
            "Connections refused over edge.max_connections or the TCP cap",
            [e] { return static_cast<double>(e->eio_stats().connections_refused); });
  c.counter("herald_edge_upgrades_total", "Polling to websocket upgrades completed",
            [e] { return static_cast<double>(e->eio_stats().upgrades); });
  c.counter("herald_edge_polling_forwarded_out_total",
            "Polling requests forwarded over the bus to the edge owning their session",
            [e] { return static_cast<double>(e->eio_stats().forwarded_out); });
  c.counter("herald_edge_polling_forwarded_in_total",
            "Polling requests served here for sessions reached through another edge",
            [e] { return static_cast<double>(e->eio_stats().forwarded_in); });
  c.counter("herald_edge_ping_timeouts_total", "Sessions closed because the client stopped ponging",
            [e] { return static_cast<double>(e->eio_stats().ping_timeouts); });
  c.counter("herald_edge_bad_requests_total", "HTTP 4xx answers of the Engine.IO endpoint",
            [e] { return static_cast<double>(e->eio_stats().bad_requests); });
  c.counter("herald_edge_payload_too_large_total",
            "Requests and websocket messages over edge.max_payload",
            [e] { return static_cast<double>(e->eio_stats().payload_too_large); });
  c.counter("herald_edge_slow_consumer_disconnects_total",
            "Sessions closed because their outbound queue passed edge.outbound_queue_bytes",
            [e] { return static_cast<double>(e->eio_stats().slow_consumers); });
  c.counter("herald_edge_volatile_dropped_total",
            "Volatile packets dropped because the session was not writable",
            [e] { return static_cast<double>(e->eio_stats().volatile_dropped); });
  c.counter("herald_edge_messages_in_total", "Engine.IO messages received from clients",
            [e] { return static_cast<double>(e->eio_stats().messages_in); });
  c.counter("herald_edge_packets_out_total",
            "Socket.IO packets queued to clients (events, acks, connects, errors, deliveries)",
            [e] { return static_cast<double>(e->eio_stats().messages_out); });
  c.gauge("herald_edge_outbound_queue_bytes",
          "Bytes queued for clients and not yet written, summed over sessions at scrape time",
          [e] { return static_cast<double>(e->outbound_queue_bytes()); });

  c.counters("herald_edge_packets_in_total", "Socket.IO packets received from clients, by type",
             [e] {
               const sio::SioCounters& s = e->sio_counters();
               return std::vector<Sample>{{{{"type", "connect"}}, read(s.namespace_connects)},
                                          {{{"type", "event"}}, read(s.events_in)},
                                          {{{"type", "ack"}}, read(s.client_acks_in)},
                                          {{{"type", "disconnect"}}, read(s.client_disconnects)}};
             });
  c.counters("herald_edge_socket_connects_total",
             "Namespace connects by outcome (accepted/rejected by the broker, over "
             "max_namespaces_per_connection, no namespace within connect_timeout_ms)",
             [e] {
               const sio::SioCounters& s = e->sio_counters();
               return std::vector<Sample>{{{{"result", "accepted"}}, read(s.connects_accepted)},
                                          {{{"result", "rejected"}}, read(s.connects_rejected)},
                                          {{{"result", "limit"}}, read(s.namespace_limit_refused)},
                                          {{{"result", "timeout"}}, read(s.connect_timeouts)}};
             });
  c.counter("herald_edge_server_disconnects_total",
            "Sockets disconnected by the server (API Disconnect, token expiry)",
            [e] { return read(e->sio_counters().server_disconnects); });
  c.counter("herald_edge_ack_timeouts_total", "Server emits whose client ack never came",
            [e] { return read(e->sio_counters().ack_timeouts); });
  c.counters("herald_edge_protocol_errors_total",
             "Client protocol violations that closed the connection, by kind", [e] {
               const sio::SioCounters& s = e->sio_counters();
               return std::vector<Sample>{
                   {{{"kind", "bad_packet"}}, read(s.bad_packets)},
                   {{{"kind", "binary_sequence"}}, read(s.binary_sequence_errors)},
                   {{{"kind", "reserved_event"}}, read(s.reserved_events)},
                   {{{"kind", "invalid_state"}}, read(s.invalid_state)}};
             });

  c.counter("herald_edge_deliveries_total", "Delivery messages taken from the bus",
            [e] { return read(e->adapter_counters().deliveries_received); });
  c.counter("herald_edge_delivery_packets_total",
            "Delivery packets accepted by local sockets (one per recipient)",
            [e] { return read(e->adapter_counters().packets_sent); });
  c.counter("herald_edge_delivery_dropped_total",
            "Delivery packets not written: volatile drops, overflows, closed sockets",
            [e] { return read(e->adapter_counters().packets_dropped); });
  c.gauge("herald_edge_bus_subscriptions", "Room and namespace subjects subscribed on the bus",
          [e] { return read(e->adapter_counters().subscriptions); });
  c.counter("herald_edge_presence_deltas_total", "Presence deltas published (not snapshots)",
            [e] { return read(e->adapter_counters().presence_deltas); });
}

}  // namespace herald::edge
