// herald-loadgen's Socket.IO v5 / Engine.IO v4 client connections, built to hold many thousands
// of connections per thread: websocket (direct handshake, RFC 6455 client framing from
// edge/websocket/frame.h) and HTTP long-polling.
//
// Like the edge, an idle websocket connection keeps no read buffer: it waits for readability,
// reads into its worker's buffer and lets its FrameParser keep only what spans reads.
#pragma once

// clang-format off
#include <utility>  // before Boost 1.74's asio, whose awaitable.hpp uses std::exchange unincluded
#include <boost/asio.hpp>
// clang-format on

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edge/websocket/frame.h"

namespace herald::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

inline std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

// Where and how to connect.
struct Target {
  tcp::endpoint endpoint;
  std::string host;                  // Host header
  std::string path = "/socket.io/";  // Engine.IO path
};

// One thread: an io_context and the read buffer its connections share.
struct Worker {
  int id = 0;
  asio::io_context io{1};
  std::vector<char> read_buffer = std::vector<char>(256 * 1024);
};

class Connection;

// What a scenario hears from its connections; called on the connection's worker thread.
class Listener {
 public:
  virtual ~Listener() = default;
  // Socket.IO CONNECT acknowledged (the socket is usable).
  virtual void on_connected(Connection& c) = 0;
  // Connecting failed or an open connection ended; `why` says what happened.
  virtual void on_closed(Connection& c, std::string_view why) = 0;
  // EVENT: `packet` is the Socket.IO packet after its type digit, e.g. `["message",{...}]`.
  virtual void on_event(Connection&, std::string_view /*packet*/) {}
  // ACK with `id`; `args` is the JSON array.
  virtual void on_ack(Connection&, std::uint64_t /*id*/, std::string_view /*args*/) {}
};

enum class Transport : std::uint8_t { kWebsocket, kPolling };

struct ConnectionOptions {
  Transport transport = Transport::kWebsocket;
  std::string token;                    // sent as the CONNECT auth {"token": ...}
  asio::ip::address_v4 source_address;  // unspecified: let the kernel pick
};

// A Socket.IO client socket on namespace "/". Not thread-safe: use it on its worker's thread.
class Connection {
 public:
  Connection(Worker& worker, const Target& target, Listener& listener, std::uint32_t index);
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  static std::unique_ptr<Connection> create(Worker& worker, const Target& target,
                                            Listener& listener, std::uint32_t index,
                                            Transport transport);

  // Starts TCP connect → Engine.IO open → Socket.IO CONNECT.
  virtual void start(const ConnectionOptions& options) = 0;
  // Sends a Socket.IO EVENT `["name",args...]` (the JSON array text), with an ack id if ack != 0.
  void emit(std::string_view array_json, std::uint64_t ack = 0);
  // Closes the transport without a handshake; no callback follows.
  virtual void close() = 0;

  std::uint32_t index() const { return index_; }
  bool connected() const { return connected_; }
  Worker& worker() { return worker_; }
  // Timestamps (now_ns) of the phases of the last start(): TCP connect began, Engine.IO open
  // received, Socket.IO CONNECT acknowledged.
  std::uint64_t t_start = 0, t_open = 0, t_connected = 0;
  // Per-connection scratch the scenario may use (fan-out: the last sequence number seen).
  std::uint64_t user_value = 0;
  std::uint64_t user_value2 = 0;

 protected:
  // Sends one Engine.IO packet (type digit + data) on the transport.
  virtual void send_packet(std::string_view packet) = 0;
  // Handles one Engine.IO packet from the server; returns false after a fatal protocol error.
  bool on_engineio_packet(std::string_view packet);
  void fail(std::string_view why);

  Worker& worker_;
  const Target& target_;
  Listener& listener_;
  std::string token_;
  std::uint32_t index_;
  bool connected_ = false;
  bool done_ = false;  // closed or failed: no further callbacks
};

// Mints an HS256 JWT {"sub","iat","exp"} with header kid `kid`.
std::string make_token(std::string_view secret, std::string_view kid, std::string_view sub,
                       std::int64_t ttl_s);

// Parses "http://host:port[/path]" into a Target (numeric IPv4 host or "localhost").
bool parse_url(std::string_view url, Target* out);

}  // namespace herald::bench
