// One shard of the edge: an io_context run by one thread, its listener, its sessions, its timer
// wheel and the scratch buffers every connection on it shares (DESIGN.md §6).
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/id_table.h"
#include "common/status.h"
#include "edge/edge_config.h"
#include "edge/engineio/outbound.h"
#include "edge/engineio/session_handler.h"
#include "edge/engineio/timer_wheel.h"
#include "edge/transport/cors.h"
#include "edge/transport/eio_server.h"
#include "edge/transport/static_files.h"
#include "edge/transport/tls_terminator.h"
#include "edge/websocket/frame.h"

namespace herald::edge {

using Tcp = boost::asio::ip::tcp;
// Sockets bound to an io_context executor (8 bytes) rather than any_io_executor (~40 bytes):
// every connection carries one. TLS (a later issue) wraps this type.
using TcpSocket = boost::asio::basic_stream_socket<Tcp, boost::asio::io_context::executor_type>;
using TcpAcceptor = boost::asio::basic_socket_acceptor<Tcp, boost::asio::io_context::executor_type>;
using SteadyTimer =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                      boost::asio::wait_traits<std::chrono::steady_clock>,
                                      boost::asio::io_context::executor_type>;

class EioSession;
class Shard;

// Written only by the owning shard's thread, read by stats() from anywhere.
struct alignas(64) ShardCounters {
  std::atomic<uint64_t> sessions{0};
  std::atomic<uint64_t> websocket_sessions{0};
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> sessions_opened{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> payload_too_large{0};
  std::atomic<uint64_t> slow_consumers{0};
  std::atomic<uint64_t> volatile_dropped{0};
  std::atomic<uint64_t> ping_timeouts{0};
  std::atomic<uint64_t> upgrades{0};
  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> messages_out{0};
  std::atomic<uint64_t> migrated_requests{0};
  std::atomic<uint64_t> forwarded_out{0};  // polling requests sent to the owning edge
  std::atomic<uint64_t> forwarded_in{0};   // polling requests served for another edge

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void sub(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
};

// What every shard shares: immutable configuration and the edge-wide limits.
struct ServerContext {
  ServerContext(const EdgeConfig& c, eio::SessionHandlerFactory& f, std::string tag,
                ExtraRoutes routes)
      : config(c),
        factory(f),
        edge_tag(std::move(tag)),
        extra(std::move(routes)),
        cors(c.cors),
        statics(c.static_path, c.static_dir) {}

  const EdgeConfig config;
  eio::SessionHandlerFactory& factory;
  const std::string edge_tag;
  const ExtraRoutes extra;
  const CorsPolicy cors;
  const StaticFiles statics;
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<uint64_t> sessions{0};     // edge-wide, for max_connections
  std::atomic<uint64_t> connections{0};  // edge-wide TCP connections
  uint64_t max_tcp_connections = 0;      // TCP cap: room for polling's extra connections
  PollForwarder* forwarder = nullptr;    // cluster mode; set before the shards run
  std::unique_ptr<TlsTerminator> tls;    // edge.tls.mode on | detect
};

// Counts one TCP connection for as long as it lives; moves with the socket (HTTP -> websocket,
// shard -> shard).
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(ServerContext* ctx) : ctx_(ctx) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&& o) noexcept {
    if (this != &o) {
      release();
      ctx_ = std::exchange(o.ctx_, nullptr);
    }
    return *this;
  }
  ~ConnectionSlot() { release(); }

 private:
  void release() {
    if (ctx_ != nullptr) ctx_->connections.fetch_sub(1, std::memory_order_relaxed);
    ctx_ = nullptr;
  }
  ServerContext* ctx_ = nullptr;
};

class Shard {
 public:
  static constexpr std::size_t kReadBufferSize = 64 * 1024;
  static constexpr std::size_t kMaxIov = 1024;    // IOV_MAX on Linux
  static constexpr std::size_t kFlushChunk = 32;  // session flushes per event-loop turn
  static constexpr int kAcceptBurst = 64;         // accepts per listener wakeup
  static constexpr std::size_t kQueuePoolSize = 256;
  static constexpr std::size_t kQueueCapacity = 8;  // of a new queue; larger ones are not kept

  Shard(ServerContext& server, uint32_t index);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  boost::asio::io_context& io() { return *io_; }
  uint32_t index() const { return index_; }
  ServerContext& server() { return server_; }
  const EdgeConfig& config() const { return server_.config; }
  ShardCounters& counters() { return counters_; }
  const ShardCounters& counters() const { return counters_; }
  eio::TimerWheel& wheel() { return wheel_; }
  bool stopping() const { return stopping_; }

  // One read buffer for every connection of the shard: a connection reads into it and parses
  // before it returns to the event loop.
  std::span<char> read_buffer() { return {read_buffer_.get(), kReadBufferSize}; }
  // Scratch for building gather writes (cleared by each user).
  std::vector<iovec>& iov_scratch() { return iov_; }
  std::vector<ws::FrameHeader>& header_scratch() { return headers_; }

  // Storage for websocket outbound queues. A drained queue comes back here rather than to the
  // allocator (an idle connection keeps none), so a broadcast stream does not allocate and free
  // a queue per session per write. Bounded: kQueuePoolSize small queues at most.
  std::vector<eio::OutItem> take_queue();
  void return_queue(std::vector<eio::OutItem>&& queue);

  // Binds and listens (SO_REUSEPORT, so every shard listens on the same port).
  Status listen(const Tcp::endpoint& endpoint);
  uint16_t port() const;
  void start_accepting();
  // Runs the shard's event loop on the calling thread until shutdown().
  void run();
  // On the shard's thread: stops accepting, closes every session ("server shutting down") and
  // stops the event loop.
  void shutdown();
  // On the shard's thread, for a graceful drain: closes the listener (the loop keeps running).
  void stop_accepting();
  // On the shard's thread: drain_close()s up to `max` open sessions, skipping busy ones unless
  // `force`. Returns the open sessions left.
  std::size_t drain(std::size_t max, bool force);
  // On the shard's thread: bytes queued for its sessions.
  uint64_t outbound_bytes() const;

  EioSession* find_session(std::string_view sid);
  // The edge-wide count (ServerContext::sessions) is taken by the handshake before the session
  // exists, so max_connections holds across shards; add_session only files it.
  void add_session(const std::shared_ptr<EioSession>& session);
  void remove_session(const EioSession& session);

  // Sessions with new outbound data are flushed together after the handlers that are ready now
  // have run, so several sends in one loop iteration cost one write; kFlushChunk sessions per
  // loop turn, so what arrives meanwhile joins the writes still to come.
  void schedule_flush(std::shared_ptr<EioSession> session);

  // Takes a new connection (accepted here, or handed over by another shard).
  void adopt(TcpSocket socket, ConnectionSlot slot);

 private:
  void do_accept();
  void on_accept(const boost::system::error_code& ec, TcpSocket socket);
  void accept_failed(const boost::system::error_code& ec);
  void take_accepted(TcpSocket socket);  // max_connections, then TLS or plain
  void arm_tick();
  void run_flushes();

  ServerContext& server_;
  const uint32_t index_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::optional<TcpAcceptor> acceptor_;
  // Optional so that they can be destroyed before the io_context they belong to.
  std::optional<SteadyTimer> tick_timer_;
  std::optional<SteadyTimer> accept_retry_;
  eio::TimerWheel wheel_;
  IdTable<EioSession, std::shared_ptr<EioSession>> sessions_;  // owns the sessions
  std::vector<std::shared_ptr<EioSession>> flush_list_;  // [flush_head_, end) wait for a flush
  std::size_t flush_head_ = 0;
  bool flush_posted_ = false;
  std::unique_ptr<char[]> read_buffer_;
  std::vector<iovec> iov_;
  std::vector<ws::FrameHeader> headers_;
  std::vector<std::vector<eio::OutItem>> queue_pool_;
  ShardCounters counters_;
  bool stopping_ = false;
  bool accepting_stopped_ = false;
};

// edge.tls: takes an accepted connection into a TLS pump (mode on) or peeks its first byte first
// (mode detect). On the shard's thread (tls_terminator.cc).
void accept_tls(Shard& shard, TcpSocket socket, ConnectionSlot slot);

}  // namespace herald::edge
