// The edge's Engine.IO v4 server: listener, shard threads, HTTP handling, long-polling and
// websocket transports. What runs above it plugs in through eio::SessionHandlerFactory.
#pragma once

#include <chrono>
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
  uint64_t forwarded_out = 0;      // polling requests forwarded to the edge owning their sid
  uint64_t forwarded_in = 0;       // polling requests served for another edge
};

struct ServerContext;

// --- Cluster mode: long-polling without sticky sessions (DESIGN.md §6, docs/cluster.md) ---------
// A polling request whose sid names another edge (herald::parse_id's edge tag) is forwarded to
// that edge over the bus and answered with what the owner replies.
struct ForwardedRequest {
  std::string sid;
  std::string method;  // "GET" or "POST"
  std::string query;   // raw query string
  std::string body;
  std::string content_type;
};

struct ForwardedResponse {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Called at most once, on any thread.
using ForwardedReplyFn = std::function<void(ForwardedResponse)>;

// Origin side, implemented above the transport (it needs the bus). Thread-safe.
class PollForwarder {
 public:
  virtual ~PollForwarder() = default;
  // Sends `request` to the live edge whose tag is `edge_tag`. Returns 0 when no live edge has that
  // tag (the caller answers "Session ID unknown"), else a handle for cancel(). `reply` may run
  // before forward() returns.
  virtual uint64_t forward(std::string_view edge_tag, ForwardedRequest request,
                           ForwardedReplyFn reply) = 0;
  // The client went away, or the origin gave up: `reply` is dropped; the owner is told.
  virtual void cancel(uint64_t handle) = 0;
};

// Owner side: a forwarded request being served; cancel() aborts a held GET (as a poll connection
// closed prematurely would). Thread-safe.
class ForwardedCall {
 public:
  virtual ~ForwardedCall() = default;
  virtual void cancel() = 0;
};

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

  // Graceful drain, from any thread while the shards run (each call waits for the shards, at most
  // `timeout`). stop_accepting closes every listener; drain closes up to `max_per_shard` open
  // sessions per shard that have nothing in flight (every one when `force`) — the client sees
  // "transport close" and reconnects elsewhere — and returns the open sessions left.
  void stop_accepting(std::chrono::milliseconds timeout = std::chrono::seconds(2));
  std::size_t drain(std::size_t max_per_shard, bool force,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2));
  // Bytes queued for every session, summed on the shards' threads (for /metrics; a shard that
  // does not answer within `timeout` counts 0).
  uint64_t outbound_queue_bytes(std::chrono::milliseconds timeout) const;

  // Cluster mode: where polling requests for other edges' sessions go. Set before start();
  // `forwarder` must outlive the server's threads. Without one they get "Session ID unknown".
  void set_poll_forwarder(PollForwarder* forwarder);
  // Runs a request forwarded by another edge against the local session it names, on the session's
  // shard, exactly as a local request would run (a GET is held until packets are queued).
  // `reply` is called once, on that shard's thread (or at once when the sid cannot be ours).
  std::shared_ptr<ForwardedCall> serve_forwarded(ForwardedRequest request, ForwardedReplyFn reply);

 private:
  EioServer() = default;

  std::unique_ptr<ServerContext> ctx_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace herald::edge
