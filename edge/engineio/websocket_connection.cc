// Websocket transport: readiness-based reads into the shard buffer, gather writes.
#include "edge/engineio/websocket_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <string>
#include <utility>

#include "common/log/log.h"
#include "edge/engineio/eio_session.h"

namespace herald::edge {
namespace {

using eio::OutItem;

constexpr char kMessageType = '4';
constexpr int kReadRounds = 4;  // reads per readiness event before yielding to other sockets

std::size_t wire_size(const OutItem& item) {
  switch (item.kind) {
    case OutItem::Kind::kMessage: {
      const eio::OutboundMessage& m = *item.message;
      std::size_t n =
          m.ws_prefix_size != 0
              ? m.ws_prefix_size + m.text.size()
              : ws::make_header(ws::Opcode::kText, 1 + m.text.size()).size + 1 + m.text.size();
      for (const auto& b : item.message->binaries) {
        n += ws::make_header(ws::Opcode::kBinary, b.size()).size + b.size();
      }
      return n;
    }
    case OutItem::Kind::kPacket:
      return ws::make_header(ws::Opcode::kText, item.text.size()).size + item.text.size();
    case OutItem::Kind::kWsControl:
      return ws::make_header(item.opcode, item.text.size()).size + item.text.size();
    case OutItem::Kind::kRaw:
      return item.text.size();
  }
  return 0;
}

bool is_peer_gone(int err) {
  return err == ECONNRESET || err == EPIPE || err == ENOTCONN;
}

// Appends the iovecs of `item`, skipping its first `skip` bytes; false when out of room.
class IovBuilder {
 public:
  IovBuilder(std::vector<iovec>& iov, std::vector<ws::FrameHeader>& headers, std::size_t skip)
      : iov_(iov), headers_(headers), skip_(skip) {}

  bool add_item(const OutItem& item) {
    if (iov_.size() + 4 > Shard::kMaxIov) return false;
    switch (item.kind) {
      case OutItem::Kind::kMessage: {
        const eio::OutboundMessage& m = *item.message;
        if (m.ws_prefix_size != 0) {
          add(m.ws_prefix.data(), m.ws_prefix_size);  // sealed: header + '4' built once
        } else {
          add_header(ws::Opcode::kText, 1 + m.text.size());
          add(&kMessageType, 1);
        }
        add(m.text.data(), m.text.size());
        for (const auto& b : m.binaries) {
          if (iov_.size() + 2 > Shard::kMaxIov) return false;  // the rest next round
          add_header(ws::Opcode::kBinary, b.size());
          add(b.data(), b.size());
        }
        break;
      }
      case OutItem::Kind::kPacket:
        add_header(ws::Opcode::kText, item.text.size());
        add(item.text.data(), item.text.size());
        break;
      case OutItem::Kind::kWsControl:
        add_header(item.opcode, item.text.size());
        add(item.text.data(), item.text.size());
        break;
      case OutItem::Kind::kRaw:
        add(item.text.data(), item.text.size());
        break;
    }
    return true;
  }
  std::size_t total() const { return total_; }

 private:
  void add_header(ws::Opcode op, std::size_t size) {
    headers_.push_back(ws::make_header(op, size));  // reserved: no reallocation
    const ws::FrameHeader& h = headers_.back();
    add(h.bytes.data(), h.size);
  }
  void add(const char* data, std::size_t size) {
    if (skip_ >= size) {
      skip_ -= size;
      return;
    }
    data += skip_;
    size -= skip_;
    skip_ = 0;
    iov_.push_back(iovec{const_cast<char*>(data), size});
    total_ += size;
  }

  std::vector<iovec>& iov_;
  std::vector<ws::FrameHeader>& headers_;
  std::size_t skip_;
  std::size_t total_ = 0;
};

}  // namespace

WebSocketConnection::WebSocketConnection(Shard& shard, TcpSocket socket, ConnectionSlot slot)
    : shard_(shard),
      socket_(std::move(socket)),
      slot_(std::move(slot)),
      parser_(shard.config().max_payload) {}

WebSocketConnection::~WebSocketConnection() = default;

void WebSocketConnection::start(std::string_view initial) {
  if (!initial.empty()) {
    // Frames sent right behind the upgrade request (allowed once the client saw the 101).
    std::string copy(initial);
    std::span<char> input(copy.data(), copy.size());
    for (;;) {
      auto r = parser_.next(input);
      if (!r.ok()) {
        auto s = session_;
        const Role role = role_;
        close(static_cast<uint16_t>(parser_.error_code()), {}, true);
        if (s) role == Role::kActive ? s->fail("transport error") : s->on_probe_closed(*this);
        return;
      }
      if (!r->has_value()) break;
      if (!on_frame(**r)) return;
    }
  }
  wait_readable();
}

void WebSocketConnection::attach(EioSession* session, Role role) {
  session_ = session;
  role_ = role;
}

void WebSocketConnection::set_deadline(std::chrono::milliseconds delay) {
  shard_.wheel().schedule(*this, delay);
}

namespace {

// Allocates exactly what asio asks for, from the general heap.
template <typename T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <typename U>
  ExactAllocator(const ExactAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) { ::operator delete(p); }
  template <typename U>
  bool operator==(const ExactAllocator<U>&) const {
    return true;
  }
};

}  // namespace

// An idle connection keeps one readability wait pending for its whole life. Asio's default
// handler allocator would hand it whatever block the thread cached last — often an HTTP read's,
// twice its size — so it gets an exact one instead (~80 bytes per idle connection).
struct WebSocketConnection::ReadableHandler {
  using allocator_type = ExactAllocator<void>;
  allocator_type get_allocator() const { return {}; }
  void operator()(const boost::system::error_code& ec) const { self->on_readable(ec); }
  std::shared_ptr<WebSocketConnection> self;
};

void WebSocketConnection::wait_readable() {
  if (reading_ || closed_) return;
  reading_ = true;
  socket_.async_wait(TcpSocket::wait_read, ReadableHandler{shared_from_this()});
}

void WebSocketConnection::on_readable(const boost::system::error_code& ec) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec != boost::asio::error::operation_aborted) lost("transport error");
    return;
  }
  auto self = shared_from_this();
  const std::span<char> buf = shard_.read_buffer();
  for (int round = 0; round < kReadRounds; ++round) {
    const ssize_t n = ::recv(socket_.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      lost(is_peer_gone(errno) ? "transport close" : "transport error");
      return;
    }
    if (n == 0) {
      if (close_sent_) {
        abort();
      } else {
        lost("transport close");
      }
      return;
    }
    std::span<char> input(buf.data(), static_cast<std::size_t>(n));
    for (;;) {
      auto r = parser_.next(input);
      if (!r.ok()) {
        const ws::CloseCode code = parser_.error_code();
        if (code == ws::CloseCode::kMessageTooBig) {
          ShardCounters::add(shard_.counters().payload_too_large);
        }
        log::write_limited("ws.protocol", 5, log::Level::kDebug, "edge", "websocket protocol error",
                           {{"error", r.status().message()}});
        auto s = session_;
        const Role role = role_;
        close(static_cast<uint16_t>(code), {}, /*discard=*/true);
        if (s) role == Role::kActive ? s->fail("transport error") : s->on_probe_closed(*this);
        return;
      }
      if (!r->has_value()) break;
      if (!on_frame(**r)) return;
    }
    if (static_cast<std::size_t>(n) < buf.size()) break;
  }
  wait_readable();
}

bool WebSocketConnection::on_frame(const ws::Message& message) {
  switch (message.opcode) {
    case ws::Opcode::kText:
      if (role_ == Role::kActive) {
        session_->on_text_packet(message.payload);
      } else if (role_ == Role::kProbe) {
        session_->on_probe_text(*this, message.payload);
      }
      break;
    case ws::Opcode::kBinary:
      if (role_ == Role::kActive) {
        session_->on_binary_message(message.payload);
      } else if (role_ == Role::kProbe) {
        // Only "2probe" and "5" are expected during an upgrade.
        auto s = session_;
        close(static_cast<uint16_t>(ws::CloseCode::kNoStatus), {}, true);
        s->on_probe_closed(*this);
      }
      break;
    case ws::Opcode::kPing:
      if (!closing_) {
        enqueue(OutItem::control(ws::Opcode::kPong, std::string(message.payload)));
        flush();
      }
      break;
    case ws::Opcode::kPong:
      break;
    case ws::Opcode::kClose: {
      peer_closed_ = true;
      if (closing_) {
        // The reply to our close frame: the handshake is complete once ours is out.
        if (close_sent_) abort();
        return false;
      }
      auto info = ws::parse_close_payload(message.payload);
      const uint16_t code =
          info.ok() ? info->code : static_cast<uint16_t>(ws::CloseCode::kNoStatus);
      auto s = session_;
      const Role role = role_;
      close(code, {}, /*discard=*/true);
      if (s) role == Role::kActive ? s->fail("transport close") : s->on_probe_closed(*this);
      return false;
    }
    default:
      break;
  }
  return !closed_;
}

void WebSocketConnection::enqueue(OutItem&& item) {
  if (closing_ || closed_) return;
  queued_bytes_ += item.payload_bytes();
  // The queue's storage goes back to the shard whenever it drains.
  if (queue_.capacity() == 0) queue_ = shard_.take_queue();
  queue_.push_back(std::move(item));
}

void WebSocketConnection::enqueue_all(std::vector<OutItem>& items) {
  for (auto& item : items) enqueue(std::move(item));
  items.clear();
}

void WebSocketConnection::flush() {
  if (closed_ || write_waiting_) return;
  auto self = shared_from_this();
  while (head_ < queue_.size() && !closed_) {
    std::vector<iovec>& iov = shard_.iov_scratch();
    std::vector<ws::FrameHeader>& headers = shard_.header_scratch();
    iov.clear();
    headers.clear();
    IovBuilder builder(iov, headers, offset_);
    for (std::size_t i = head_; i < queue_.size(); ++i) {
      if (!builder.add_item(queue_[i])) break;
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    const ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_writable();
        return;
      }
      lost(is_peer_gone(errno) ? "transport close" : "transport error");
      return;
    }
    const bool partial = static_cast<std::size_t>(n) < builder.total();
    consume(static_cast<std::size_t>(n));
    if (partial) {
      wait_writable();
      return;
    }
  }
}

void WebSocketConnection::consume(std::size_t n) {
  bool close_written = false;
  while (n > 0 && head_ < queue_.size()) {
    OutItem& item = queue_[head_];
    const std::size_t rest = wire_size(item) - offset_;
    if (n < rest) {
      offset_ += static_cast<uint32_t>(n);
      break;
    }
    n -= rest;
    offset_ = 0;
    queued_bytes_ -= item.payload_bytes();
    if (item.kind == OutItem::Kind::kWsControl && item.opcode == ws::Opcode::kClose) {
      close_written = true;
    }
    item.message.reset();  // drop the message reference now; the rest goes with the queue
    ++head_;
  }
  if (head_ == queue_.size()) {
    shard_.return_queue(std::exchange(queue_, {}));  // an idle connection keeps no storage
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(head_));
    head_ = 0;
  }
  if (close_written) on_close_frame_sent();
}

void WebSocketConnection::wait_writable() {
  if (write_waiting_ || closed_) return;
  write_waiting_ = true;
  socket_.async_wait(
      TcpSocket::wait_write,
      [self = shared_from_this()](const boost::system::error_code& ec) { self->on_writable(ec); });
}

void WebSocketConnection::on_writable(const boost::system::error_code& ec) {
  write_waiting_ = false;
  if (closed_) return;
  if (ec) {
    if (ec != boost::asio::error::operation_aborted) lost("transport error");
    return;
  }
  flush();
}

void WebSocketConnection::close(uint16_t code, std::string_view reason, bool discard) {
  if (closing_ || closed_) return;
  auto self = shared_from_this();
  if (discard && head_ < queue_.size()) {
    // Keep a frame that is partly written, and the 101 if it is still queued, so the stream
    // stays well formed.
    std::size_t keep = head_ + (offset_ > 0 ? 1 : 0);
    while (keep < queue_.size() && queue_[keep].kind == OutItem::Kind::kRaw) ++keep;
    for (std::size_t i = keep; i < queue_.size(); ++i) queued_bytes_ -= queue_[i].payload_bytes();
    queue_.erase(queue_.begin() + static_cast<long>(keep), queue_.end());
  }
  enqueue(OutItem::control(ws::Opcode::kClose, ws::make_close_payload(code, reason)));
  closing_ = true;
  detach();
  // Bounded: a peer that neither reads nor answers the close is cut off.
  set_deadline(
      std::chrono::milliseconds(std::clamp<uint32_t>(shard_.config().ping_timeout_ms, 500, 5000)));
  flush();
}

void WebSocketConnection::on_close_frame_sent() {
  close_sent_ = true;
  if (peer_closed_) {
    abort();
    return;
  }
  // RFC 6455 §7.1.1: the server closes TCP first, after the peer's close (or a timeout).
  boost::system::error_code ec;
  socket_.shutdown(TcpSocket::shutdown_send, ec);
  wait_readable();
}

void WebSocketConnection::abort() {
  if (closed_) return;
  closed_ = true;
  detach();
  cancel_timer();
  boost::system::error_code ec;
  socket_.close(ec);
  std::vector<OutItem>().swap(queue_);
  head_ = offset_ = 0;
  queued_bytes_ = 0;
}

void WebSocketConnection::lost(std::string_view reason) {
  auto self = shared_from_this();
  auto s = session_;
  const Role role = role_;
  abort();
  if (s) role == Role::kActive ? s->fail(reason) : s->on_probe_closed(*this);
}

void WebSocketConnection::on_timer() {
  auto self = shared_from_this();
  if (role_ == Role::kProbe) {  // upgrade timeout
    auto s = session_;
    close(static_cast<uint16_t>(ws::CloseCode::kNoStatus), {}, true);
    if (s) s->on_probe_closed(*this);
    return;
  }
  abort();  // linger after our close frame is over
}

}  // namespace herald::edge
