// Shard: event loop, listener, session table, flush batching and timer tick.
#include "edge/transport/shard.h"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include "common/log/log.h"
#include "edge/engineio/eio_session.h"
#include "edge/transport/http_connection.h"

namespace herald::edge {
namespace {

// Resolution of the shard's timer wheel: fine enough for the shortest configured timeout.
std::chrono::milliseconds tick_for(const EdgeConfig& c) {
  const uint32_t shortest = std::min({c.ping_interval_ms, c.ping_timeout_ms, c.upgrade_timeout_ms});
  return std::chrono::milliseconds(std::clamp<uint32_t>(shortest / 20, 5, 100));
}

}  // namespace

Shard::Shard(ServerContext& server, uint32_t index)
    : server_(server),
      index_(index),
      io_(std::make_unique<boost::asio::io_context>(1)),
      wheel_(tick_for(server.config)),
      read_buffer_(new char[kReadBufferSize]) {
  tick_timer_.emplace(io_->get_executor());
  accept_retry_.emplace(io_->get_executor());
  iov_.reserve(kMaxIov);
  headers_.reserve(kMaxIov);
}

Shard::~Shard() {
  // Pending handlers own connections whose destructors use the wheel and the counters:
  // destroy them (with the io_context) while everything else is still alive.
  flush_list_.clear();
  sessions_.clear();
  acceptor_.reset();
  tick_timer_.reset();
  accept_retry_.reset();
  io_.reset();
}

Status Shard::listen(const Tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.emplace(io_->get_executor());
  acceptor_->open(endpoint.protocol(), ec);
  if (ec) return unavailable("edge listen: open: " + ec.message());
  acceptor_->set_option(boost::asio::socket_base::reuse_address(true), ec);
  const int one = 1;
  if (::setsockopt(acceptor_->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return unavailable("edge listen: SO_REUSEPORT unavailable");
  }
  acceptor_->bind(endpoint, ec);
  if (ec)
    return unavailable("edge listen: bind " + endpoint.address().to_string() + ":" +
                       std::to_string(endpoint.port()) + ": " + ec.message());
  acceptor_->listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return unavailable("edge listen: listen: " + ec.message());
  acceptor_->non_blocking(true, ec);  // on_accept drains the backlog without blocking
  if (ec) return unavailable("edge listen: non-blocking: " + ec.message());
  return Status::ok_status();
}

uint16_t Shard::port() const {
  boost::system::error_code ec;
  return acceptor_ ? acceptor_->local_endpoint(ec).port() : 0;
}

void Shard::start_accepting() {
  arm_tick();
  do_accept();
}

void Shard::run() {
  auto guard = boost::asio::make_work_guard(*io_);
  io_->run();
}

void Shard::do_accept() {
  if (!acceptor_ || stopping_ || accepting_stopped_) return;
  acceptor_->async_accept([this](const boost::system::error_code& ec, TcpSocket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Shard::on_accept(const boost::system::error_code& ec, TcpSocket socket) {
  if (ec == boost::asio::error::operation_aborted || stopping_ || accepting_stopped_) return;
  if (ec) return accept_failed(ec);
  take_accepted(std::move(socket));
  // Drain what else is queued in the listen backlog now, as libuv does: one accept per loop turn
  // lets connections wait in the backlog behind every other handler of the turn, and under a
  // connect storm that queue (not the work) becomes the handshake's latency. Bounded, so a storm
  // cannot starve the sessions already open.
  for (int n = 1; n < kAcceptBurst; ++n) {
    boost::system::error_code e;
    TcpSocket next = acceptor_->accept(io_->get_executor(), e);
    if (e == boost::asio::error::would_block || e == boost::asio::error::try_again) break;
    if (e) return accept_failed(e);
    take_accepted(std::move(next));
  }
  do_accept();
}

void Shard::accept_failed(const boost::system::error_code& ec) {
  // EMFILE and friends: back off instead of spinning on the same error.
  log::write_limited("edge.accept", 1, log::Level::kWarn, "edge", "accept failed",
                     {{"error", ec.message()}, {"shard", index_}});
  accept_retry_->expires_after(std::chrono::milliseconds(50));
  accept_retry_->async_wait([this](const boost::system::error_code& e) {
    if (!e) do_accept();
  });
}

void Shard::take_accepted(TcpSocket socket) {
  if (server_.connections.fetch_add(1, std::memory_order_relaxed) >= server_.max_tcp_connections) {
    server_.connections.fetch_sub(1, std::memory_order_relaxed);
    ShardCounters::add(counters_.connections_refused);
    boost::system::error_code ignored;
    socket.close(ignored);
  } else if (server_.tls) {
    accept_tls(*this, std::move(socket), ConnectionSlot(&server_));
  } else {
    adopt(std::move(socket), ConnectionSlot(&server_));
  }
}

void Shard::adopt(TcpSocket socket, ConnectionSlot slot) {
  boost::system::error_code ec;
  socket.set_option(Tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);
  auto connection = std::make_shared<HttpConnection>(*this, std::move(socket), std::move(slot));
  connection->start();
}

void Shard::arm_tick() {
  tick_timer_->expires_after(wheel_.tick());
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    wheel_.advance(std::chrono::steady_clock::now());
    arm_tick();
  });
}

EioSession* Shard::find_session(std::string_view sid) {
  return sessions_.find(sid);
}

void Shard::add_session(const std::shared_ptr<EioSession>& session) {
  // server_.sessions already counts it (the handshake took the place); a session that is not
  // in the table gives its place back, as remove_session will not find it.
  if (!sessions_.insert(session)) {
    server_.sessions.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  ShardCounters::add(counters_.sessions);
  ShardCounters::add(counters_.sessions_opened);
}

void Shard::remove_session(const EioSession& session) {
  if (sessions_.find(session.id()) != &session) return;
  sessions_.erase(&session);
  server_.sessions.fetch_sub(1, std::memory_order_relaxed);
  ShardCounters::sub(counters_.sessions);
}

void Shard::schedule_flush(std::shared_ptr<EioSession> session) {
  if (session->flush_scheduled) return;
  session->flush_scheduled = true;
  flush_list_.push_back(std::move(session));
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(*io_, [this] { run_flushes(); });
  }
}

void Shard::run_flushes() {
  flush_posted_ = false;
  // A chunk at a time, then back to the event loop: a broadcast that arrives while a large room
  // is being written joins the writes of the sessions not reached yet (one write carries both
  // messages) instead of waiting for the whole round, and reads are not starved.
  const std::size_t end = std::min(flush_list_.size(), flush_head_ + kFlushChunk);
  while (flush_head_ < end) {
    std::shared_ptr<EioSession> session = std::move(flush_list_[flush_head_++]);
    session->flush_scheduled = false;
    session->flush();
  }
  if (flush_head_ < flush_list_.size()) {
    if (flush_head_ >= 1024 && flush_head_ * 2 >= flush_list_.size()) {
      flush_list_.erase(flush_list_.begin(), flush_list_.begin() + static_cast<long>(flush_head_));
      flush_head_ = 0;
    }
    flush_posted_ = true;
    boost::asio::post(*io_, [this] { run_flushes(); });
    return;
  }
  flush_list_.clear();
  flush_head_ = 0;
  if (flush_list_.capacity() > 4096) std::vector<std::shared_ptr<EioSession>>().swap(flush_list_);
}

std::vector<eio::OutItem> Shard::take_queue() {
  if (queue_pool_.empty()) {
    std::vector<eio::OutItem> queue;
    queue.reserve(kQueueCapacity);
    return queue;
  }
  std::vector<eio::OutItem> queue = std::move(queue_pool_.back());
  queue_pool_.pop_back();
  return queue;
}

void Shard::return_queue(std::vector<eio::OutItem>&& queue) {
  queue.clear();
  if (queue.capacity() == kQueueCapacity && queue_pool_.size() < kQueuePoolSize) {
    queue_pool_.push_back(std::move(queue));
  }
  std::vector<eio::OutItem>().swap(queue);
}

void Shard::stop_accepting() {
  if (accepting_stopped_ || stopping_) return;
  accepting_stopped_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  accept_retry_->cancel();
}

std::size_t Shard::drain(std::size_t max, bool force) {
  std::vector<std::shared_ptr<EioSession>> batch;
  sessions_.for_each([&](const std::shared_ptr<EioSession>& session) {
    if (batch.size() >= max) return;
    if (!session->is_open() || (!force && session->busy())) return;
    batch.push_back(session);
  });
  for (auto& session : batch) session->drain_close();
  std::size_t open = 0;
  sessions_.for_each([&](const auto& session) { open += session->is_open() ? 1 : 0; });
  return open;
}

uint64_t Shard::outbound_bytes() const {
  uint64_t total = 0;
  sessions_.for_each([&](const auto& session) { total += session->outbound_bytes(); });
  return total;
}

void Shard::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  tick_timer_->cancel();
  accept_retry_->cancel();
  // Copy: shutdown_now() removes each session from the table.
  std::vector<std::shared_ptr<EioSession>> all;
  all.reserve(sessions_.size());
  sessions_.for_each([&](const auto& session) { all.push_back(session); });
  for (auto& session : all) session->shutdown_now();
  io_->stop();
}

}  // namespace herald::edge
