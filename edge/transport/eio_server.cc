// EioServer: binds the shards' listeners and runs their threads.
//
// Listener choice: every shard has its own SO_REUSEPORT acceptor on the same port (the first
// binds the configured port, possibly 0; the others bind the port it got). The kernel spreads
// new connections over the shards with no cross-thread handoff on accept, and one busy shard
// cannot hold up accepting on the others. A request that carries a sid of another shard (a
// polling POST on a new connection, an upgrade) moves its connection to that shard once (see
// HttpConnection::migrate), so a session is only ever touched by its own thread.
#include "edge/transport/eio_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>

#include "common/ids.h"
#include "common/log/log.h"
#include "common/process/thread_name.h"
#include "edge/transport/shard.h"
#include "edge/transport/tls_terminator.h"

namespace herald::edge {
namespace {

// Runs fn(shard) on every shard's thread and sums the results; shards that have not answered by
// `timeout` are left out (their task still runs later, on state it shares).
template <typename Fn>
uint64_t sum_on_shards(const std::vector<std::unique_ptr<Shard>>& shards, Fn fn,
                       std::chrono::milliseconds timeout) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t sum = 0;
    std::size_t pending = 0;
  };
  auto state = std::make_shared<State>();
  state->pending = shards.size();
  for (const auto& shard : shards) {
    Shard* s = shard.get();
    boost::asio::post(s->io(), [s, state, fn] {
      const uint64_t v = fn(*s);
      std::lock_guard lock(state->mu);
      state->sum += v;
      if (--state->pending == 0) state->cv.notify_all();
    });
  }
  std::unique_lock lock(state->mu);
  state->cv.wait_for(lock, timeout, [&] { return state->pending == 0; });
  return state->sum;
}

Result<Tcp::endpoint> parse_listen(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return invalid_argument("edge.listen: expected host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return invalid_argument("edge.listen: bad address '" + host + "'");
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (...) {
    return invalid_argument("edge.listen: bad port");
  }
  if (port > 65535) return invalid_argument("edge.listen: bad port");
  return Tcp::endpoint(address, static_cast<uint16_t>(port));
}

}  // namespace

Result<std::unique_ptr<EioServer>> EioServer::create(const EdgeConfig& config,
                                                     eio::SessionHandlerFactory& factory,
                                                     std::string edge_tag, ExtraRoutes extra) {
  auto endpoint = parse_listen(config.listen);
  if (!endpoint.ok()) return endpoint.status();
  if (edge_tag.size() != kEdgeTagLength) return invalid_argument("edge tag must be 4 characters");
  std::unique_ptr<EioServer> server(new EioServer());
  server->ctx_ =
      std::make_unique<ServerContext>(config, factory, std::move(edge_tag), std::move(extra));
  ServerContext& ctx = *server->ctx_;
  ctx.max_tcp_connections = 2ull * config.max_connections + 64;
  if (config.tls.mode != "off") {
    auto tls = TlsTerminator::create(config.tls);
    if (!tls.ok()) return tls.status();
    ctx.tls = std::move(tls).value();
  }
  uint32_t shards = config.shards;
  if (shards == 0) shards = std::max(1u, std::thread::hardware_concurrency());
  shards = std::min(shards, kMaxShards);
  Tcp::endpoint ep = *endpoint;
  for (uint32_t i = 0; i < shards; ++i) {
    auto shard = std::make_unique<Shard>(ctx, i);
    Status st = shard->listen(ep);
    if (!st.ok()) return st;
    if (i == 0) {
      ep.port(shard->port());
      server->port_ = shard->port();
    }
    ctx.shards.push_back(std::move(shard));
  }
  return server;
}

EioServer::~EioServer() {
  stop();
}

uint32_t EioServer::shard_count() const {
  return static_cast<uint32_t>(ctx_->shards.size());
}

boost::asio::io_context& EioServer::shard(uint32_t i) {
  return ctx_->shards.at(i)->io();
}

void EioServer::start() {
  if (started_ || stopped_) return;
  started_ = true;
  for (auto& shard : ctx_->shards) {
    Shard* s = shard.get();
    boost::asio::post(s->io(), [s] { s->start_accepting(); });
    threads_.emplace_back([s] {
      process::set_thread_name("edge-shard-" + std::to_string(s->index()));
      s->run();
    });
  }
  HLOG_INFO("edge", "engine.io server listening",
            {{"port", port_}, {"shards", ctx_->shards.size()}, {"path", ctx_->config.path}});
}

void EioServer::stop() {
  if (stopped_ || !ctx_) return;
  stopped_ = true;
  if (started_) {
    for (auto& shard : ctx_->shards) {
      Shard* s = shard.get();
      boost::asio::post(s->io(), [s] { s->shutdown(); });
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
  } else {
    for (auto& shard : ctx_->shards) shard->shutdown();
  }
  // Connections still owned by pending handlers are dropped with the io_contexts.
  ctx_->shards.clear();
}

void EioServer::set_poll_forwarder(PollForwarder* forwarder) {
  if (ctx_ && !started_) ctx_->forwarder = forwarder;
}

void EioServer::stop_accepting(std::chrono::milliseconds timeout) {
  if (!started_ || stopped_) return;
  sum_on_shards(
      ctx_->shards,
      [](Shard& s) {
        s.stop_accepting();
        return uint64_t{0};
      },
      timeout);
}

std::size_t EioServer::drain(std::size_t max_per_shard, bool force,
                             std::chrono::milliseconds timeout) {
  if (!started_ || stopped_) return 0;
  return sum_on_shards(
      ctx_->shards, [max_per_shard, force](Shard& s) { return s.drain(max_per_shard, force); },
      timeout);
}

uint64_t EioServer::outbound_queue_bytes(std::chrono::milliseconds timeout) const {
  if (!started_ || stopped_ || !ctx_) return 0;
  return sum_on_shards(
      ctx_->shards, [](Shard& s) { return s.outbound_bytes(); }, timeout);
}

EioServerStats EioServer::stats() const {
  EioServerStats s;
  if (!ctx_) return s;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  for (const auto& shard : ctx_->shards) {
    const ShardCounters& c = shard->counters();
    s.sessions += get(c.sessions);
    s.websocket_sessions += get(c.websocket_sessions);
    s.sessions_opened += get(c.sessions_opened);
    s.connections_refused += get(c.connections_refused);
    s.bad_requests += get(c.bad_requests);
    s.payload_too_large += get(c.payload_too_large);
    s.slow_consumers += get(c.slow_consumers);
    s.volatile_dropped += get(c.volatile_dropped);
    s.ping_timeouts += get(c.ping_timeouts);
    s.upgrades += get(c.upgrades);
    s.messages_in += get(c.messages_in);
    s.messages_out += get(c.messages_out);
    s.migrated_requests += get(c.migrated_requests);
    s.forwarded_out += get(c.forwarded_out);
    s.forwarded_in += get(c.forwarded_in);
  }
  s.connections = ctx_->connections.load(std::memory_order_relaxed);
  return s;
}

}  // namespace herald::edge
