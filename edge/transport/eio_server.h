// The edge's Engine.IO v4 server: listener, shard threads, HTTP handling, long-polling and
// websocket transports. What runs above it plugs in through eio::SessionHandlerFactory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "edge/edge_config.h"
#include "edge/engineio/session_handler.h"

namespace boost::asio {
class io_context;
}

namespace herald::edge {

// A response to a non-Engine.IO request (health checks, metrics, ...).
struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Called for requests outside the Engine.IO path, before static files: (method, target) ->
// a response, or nullopt to fall through. Runs on any shard thread, concurrently: it must be
// thread-safe and must not block.
using ExtraRoutes =
    std::function<std::optional<HttpResponse>(std::string_view method, std::string_view target)>;

// Counters since start (and current gauges), summed over shards.
struct EioServerStats {
  uint64_t sessions = 0;            // open Engine.IO sessions (gauge)
  uint64_t websocket_sessions = 0;  // of which on the websocket transport (gauge)
  uint64_t connections = 0;         // open TCP connections (gauge)
  uint64_t sessions_opened = 0;
  uint64_t connections_refused = 0;  // over max_connections (HTTP 503) or the TCP cap
  uint64_t bad_requests = 0;         // HTTP 4xx answered by the Engine.IO endpoint or parser
  uint64_t payload_too_large = 0;    // HTTP 413 and websocket 1009
  uint64_t slow_consumers = 0;       // sessions closed because their outbound queue overflowed
  uint64_t volatile_dropped = 0;
  uint64_t ping_timeouts = 0;
  uint64_t upgrades = 0;  // polling -> websocket upgrades completed
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t migrated_requests = 0;  // HTTP connections handed to the shard owning their sid
};

struct ServerContext;

class EioServer {
 public:
  // Binds `config.listen` (port 0 picks a free port; see port()). Creates config.shards
  // io_contexts (0: one per core); threads start with start(). `edge_tag` is the 4-character
  // tag that session ids start with (herald::edge_tag_for).
  static Result<std::unique_ptr<EioServer>> create(const EdgeConfig& config,
                                                   eio::SessionHandlerFactory& factory,
                                                   std::string edge_tag, ExtraRoutes extra = {});
  ~EioServer();
  EioServer(const EioServer&) = delete;
  EioServer& operator=(const EioServer&) = delete;

  uint16_t port() const { return port_; }
  uint32_t shard_count() const;
  boost::asio::io_context& shard(uint32_t i);

  // Starts one thread per shard, each accepting and serving connections.
  void start();
  // Closes the listeners, closes every session ("server shutting down": websocket close frame,
  // close packet to a pending poll), drops the remaining connections and joins the threads.
  // Idempotent; also run by the destructor.
  void stop();

  EioServerStats stats() const;

 private:
  EioServer() = default;

  std::unique_ptr<ServerContext> ctx_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace herald::edge
