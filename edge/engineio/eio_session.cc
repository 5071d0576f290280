// Engine.IO session state machine (engine.io lib/socket.ts, transports/polling.ts semantics).
#include "edge/engineio/eio_session.h"

#include <boost/asio/post.hpp>

#include "common/log/log.h"
#include "edge/engineio/base64.h"
#include "edge/engineio/handshake.h"
#include "edge/engineio/packet.h"
#include "edge/engineio/websocket_connection.h"
#include "edge/transport/http_connection.h"
#include "edge/transport/shard.h"

namespace herald::edge {

using eio::OutItem;
using std::chrono::milliseconds;

EioSession::EioSession(Shard& shard, InlineId id, eio::HandshakeInfo handshake,
                       TransportKind transport)
    : shard_(shard), id_(id), handshake_(std::move(handshake)), transport_(transport) {
  if (transport == TransportKind::kPolling) polling_ = std::make_unique<PollState>();
}

EioSession::~EioSession() {
  if (PollResponder* held = held_poll()) held->release_poll(0);
  if (WebSocketConnection* probe = this->probe()) probe->detach();
  if (ws_) ws_->detach();
}

EioSession::PollState& EioSession::polling() {
  if (!polling_) polling_ = std::make_unique<PollState>();
  return *polling_;
}

void EioSession::clear_poll_queue() {
  if (!polling_) return;
  std::vector<OutItem>().swap(polling_->queue);
  polling_->queue_bytes = 0;
}

uint32_t EioSession::shard() const {
  return shard_.index();
}
boost::asio::io_context& EioSession::executor() {
  return shard_.io();
}

void EioSession::open(std::shared_ptr<WebSocketConnection> ws) {
  const EdgeConfig& cfg = shard_.config();
  eio::Handshake hs;
  hs.sid = id_.str();
  if (ws || !cfg.allow_websocket) hs.upgrades.clear();
  hs.ping_interval_ms = cfg.ping_interval_ms;
  hs.ping_timeout_ms = cfg.ping_timeout_ms;
  hs.max_payload = cfg.max_payload;
  if (ws) {
    ws_ = std::move(ws);
    ws_->attach(this, WebSocketConnection::Role::kActive);
    ShardCounters::add(shard_.counters().websocket_sessions);
  }
  std::string open_packet(1, eio::packet_type_char(eio::PacketType::kOpen));
  eio::append_handshake_json(hs, open_packet);
  enqueue(OutItem::packet(std::move(open_packet)));
  heartbeat_ = Heartbeat::kWaitInterval;
  shard_.wheel().schedule(*this, milliseconds(cfg.ping_interval_ms));
  shard_.add_session(shared_from_this());
  handler_ = shard_.server().factory.on_open(*this);
}

eio::SendResult EioSession::send(const eio::SharedMessage& message) {
  if (state_ != State::kOpen || !message) return eio::SendResult::kClosed;
  ShardCounters& c = shard_.counters();
  if (message->is_volatile && !writable()) {
    ShardCounters::add(c.volatile_dropped);
    return eio::SendResult::kDropped;
  }
  const std::size_t size = eio::payload_bytes(*message);
  const std::size_t queued = queued_bytes();
  if (queued > 0 && queued + size > shard_.config().outbound_queue_bytes) {
    ShardCounters::add(c.slow_consumers);
    log::write_limited("eio.slow_consumer", 5, log::Level::kWarn, "edge",
                       "outbound queue full, closing session",
                       {{"sid", id()}, {"queued_bytes", queued}, {"transport", transport()}});
    fail("slow consumer");
    return eio::SendResult::kOverflow;
  }
  ShardCounters::add(c.messages_out);
  enqueue(OutItem::of_message(message));
  return eio::SendResult::kQueued;
}

void EioSession::enqueue(OutItem&& item) {
  if (transport_ == TransportKind::kWebSocket) {
    if (ws_) ws_->enqueue(std::move(item));
  } else {
    PollState& p = polling();
    p.queue_bytes += item.payload_bytes();
    p.queue.push_back(std::move(item));
  }
  if (!flush_scheduled) shard_.schedule_flush(shared_from_this());
}

std::size_t EioSession::queued_bytes() const {
  if (transport_ == TransportKind::kWebSocket) return ws_ ? ws_->queued_bytes() : 0;
  return polling_ ? polling_->queue_bytes : 0;
}

bool EioSession::writable() const {
  if (transport_ == TransportKind::kWebSocket) return ws_ && ws_->idle();
  return held_poll() != nullptr && polling_->queue.empty();
}

void EioSession::flush() {
  if (state_ == State::kClosed) return;
  if (transport_ == TransportKind::kWebSocket) {
    if (ws_) ws_->flush();
  } else if (held_poll() != nullptr && !polling_->queue.empty()) {
    respond_poll();
  }
}

void EioSession::respond_poll() {
  // Like engine.io-client's batching, one response carries at most maxPayload bytes (at least
  // one packet); the rest waits for the next GET.
  const std::size_t limit = shard_.config().max_payload;
  PollState& p = polling();
  std::string body;
  std::size_t taken = 0;
  bool close_sent = false;
  for (; taken < p.queue.size(); ++taken) {
    const OutItem& item = p.queue[taken];
    // Like engine.io's close-after-drain, the close packet travels alone in the next response:
    // socket.io-client handles decoded packets on the next tick, so a DISCONNECT sharing a
    // payload with the close packet would be overtaken by "transport close".
    if (taken > 0 && item.is_close_packet()) break;
    const std::size_t before = body.size();
    if (taken > 0) body += eio::kRecordSeparator;
    if (item.kind == OutItem::Kind::kMessage) {
      body += '4';
      body += item.message->text;
      for (const std::string& bin : item.message->binaries) {
        body += eio::kRecordSeparator;
        body += 'b';
        eio::base64_append(bin, body);
      }
    } else {
      body += item.text;
    }
    if (taken > 0 && body.size() > limit) {
      body.resize(before);
      break;
    }
    p.queue_bytes -= item.payload_bytes();
    if (item.is_close_packet()) close_sent = true;
  }
  if (taken == p.queue.size()) {
    std::vector<OutItem>().swap(p.queue);
  } else {
    p.queue.erase(p.queue.begin(), p.queue.begin() + static_cast<long>(taken));
  }
  auto connection = std::move(p.held);
  connection->respond_poll(std::move(body));
  if (close_sent && state_ == State::kClosing) {
    state_ = State::kClosed;
    cancel_timer();
    finalize(p.close_reason);
  }
}

void EioSession::answer_poll(std::string body) {
  auto connection = std::move(polling().held);
  connection->respond_poll(std::move(body));
}

bool EioSession::on_poll(const std::shared_ptr<PollResponder>& connection) {
  PollState& p = polling();
  if (p.held) {
    // "overlap from client": engine.io closes the session; the first GET gets the close packet.
    fail("transport error");
    return false;
  }
  p.held = connection;
  if (!p.queue.empty()) {
    respond_poll();
  } else if (upgrading_) {
    // Force the polling cycle so the client can pause polling and send the upgrade packet.
    answer_poll("6");
  }
  return true;
}

void EioSession::on_poll_aborted(PollResponder& connection) {
  if (held_poll() != &connection) return;
  polling_->held.reset();
  // "poll connection closed prematurely"
  fail("transport error");
}

bool EioSession::begin_post() {
  if (post_in_progress_) {
    fail("transport error");  // "data request overlap from client"
    return false;
  }
  post_in_progress_ = true;
  return true;
}

void EioSession::end_post(std::string_view body) {
  post_in_progress_ = false;
  if (state_ != State::kOpen) return;
  eio::PayloadLimits limits;
  limits.max_bytes = shard_.config().max_payload;
  limits.max_packets = 100000;
  auto packets = eio::decode_payload(body, limits);
  if (!packets.ok()) {
    log::write_limited("eio.parse", 5, log::Level::kDebug, "edge", "bad polling payload",
                       {{"sid", id()}, {"error", packets.status().message()}});
    fail("parse error");
    return;
  }
  auto self = shared_from_this();
  for (const eio::Packet& p : *packets) {
    if (state_ != State::kOpen) break;
    if (p.binary) {
      on_binary_message(p.data);
    } else {
      handle_packet(eio::packet_type_char(p.type), p.data);
    }
  }
}

void EioSession::on_text_packet(std::string_view packet) {
  if (state_ != State::kOpen) return;
  if (packet.empty()) {
    fail("parse error");
    return;
  }
  if (packet.front() == 'b') {  // base64 binary in a text frame (engine.io-parser accepts it)
    auto decoded = eio::decode_text_packet(packet);
    if (!decoded.ok()) {
      fail("parse error");
      return;
    }
    on_binary_message(decoded->data);
    return;
  }
  if (packet.front() < '0' || packet.front() > '6') {
    fail("parse error");
    return;
  }
  handle_packet(packet.front(), packet.substr(1));
}

void EioSession::on_binary_message(std::string_view data) {
  if (state_ != State::kOpen) return;
  ShardCounters::add(shard_.counters().messages_in);
  if (handler_) handler_->on_binary(data);
}

void EioSession::handle_packet(char type, std::string_view data) {
  if (state_ != State::kOpen) return;
  switch (type) {
    case '3':  // pong: the client is alive; the next ping is pingInterval from now
      heartbeat_ = Heartbeat::kWaitInterval;
      shard_.wheel().schedule(*this, milliseconds(shard_.config().ping_interval_ms));
      break;
    case '2':  // in v4 only the server pings: "invalid heartbeat direction"
      fail("transport error");
      break;
    case '4':
      ShardCounters::add(shard_.counters().messages_in);
      if (handler_) handler_->on_message(data);
      break;
    case '1':
      fail("transport close");
      break;
    default:  // open, upgrade and noop mean nothing on an established transport
      break;
  }
}

void EioSession::on_timer() {
  auto self = shared_from_this();
  if (state_ == State::kClosing) {
    // The close packet was never fetched.
    state_ = State::kClosed;
    clear_poll_queue();
    finalize(polling().close_reason);
    return;
  }
  if (state_ != State::kOpen) return;
  if (heartbeat_ == Heartbeat::kWaitInterval) {
    heartbeat_ = Heartbeat::kWaitPong;
    shard_.wheel().schedule(*this, milliseconds(shard_.config().ping_timeout_ms));
    enqueue(OutItem::packet("2"));
  } else {
    ShardCounters::add(shard_.counters().ping_timeouts);
    fail("ping timeout");
  }
}

void EioSession::close(std::string_view reason) {
  close_with(reason, static_cast<uint16_t>(ws::CloseCode::kNoStatus));
}

void EioSession::drain_close() {
  close_with("server shutting down", static_cast<uint16_t>(ws::CloseCode::kGoingAway));
}

void EioSession::close_with(std::string_view reason, uint16_t ws_code) {
  if (state_ != State::kOpen) return;
  auto self = shared_from_this();
  cancel_upgrade();
  if (transport_ == TransportKind::kWebSocket) {
    state_ = State::kClosed;
    cancel_timer();
    if (ws_) {
      ws_->enqueue(OutItem::packet("1"));
      ws_->close(ws_code);
      ws_.reset();
      ShardCounters::sub(shard_.counters().websocket_sessions);
    }
    finalize(reason);
    return;
  }
  // Polling: the close packet goes out with the next GET (or the one held now); engine.io keeps
  // the session until then, bounded by a timeout.
  state_ = State::kClosing;
  heartbeat_ = Heartbeat::kClosing;
  PollState& p = polling();
  p.close_reason = std::string(reason);
  p.queue_bytes += 1;
  p.queue.push_back(OutItem::packet("1"));
  const EdgeConfig& cfg = shard_.config();
  shard_.wheel().schedule(*this, milliseconds(cfg.ping_interval_ms + cfg.ping_timeout_ms));
  if (p.held) respond_poll();
}

void EioSession::fail(std::string_view reason) {
  if (state_ == State::kClosed) return;
  auto self = shared_from_this();
  const std::string final_reason =
      state_ == State::kClosing ? polling().close_reason : std::string(reason);
  state_ = State::kClosed;
  cancel_timer();
  cancel_upgrade();
  if (ws_) {
    if (reason == "transport close" || reason == "slow consumer") {
      ws_->abort();  // the peer is gone, or not reading: nothing more can be written
    } else {
      ws_->close(static_cast<uint16_t>(ws::CloseCode::kNoStatus), {}, /*discard=*/true);
    }
    ws_.reset();
    ShardCounters::sub(shard_.counters().websocket_sessions);
  }
  if (held_poll() != nullptr) {
    // engine.io answers a held GET with a close packet, or a noop when the client closed.
    answer_poll(reason == "transport close" ? "6" : "1");
  }
  clear_poll_queue();
  finalize(final_reason);
}

void EioSession::shutdown_now() {
  if (finalized_) return;
  auto self = shared_from_this();
  state_ = State::kClosed;
  cancel_timer();
  cancel_upgrade();
  if (ws_) {
    ws_->enqueue(OutItem::packet("1"));
    ws_->close(static_cast<uint16_t>(ws::CloseCode::kGoingAway));
    ws_.reset();
    ShardCounters::sub(shard_.counters().websocket_sessions);
  }
  if (held_poll() != nullptr) answer_poll("1");
  clear_poll_queue();
  finalize("server shutting down", /*now=*/true);
}

void EioSession::finalize(std::string_view reason, bool now) {
  if (finalized_) return;
  finalized_ = true;
  state_ = State::kClosed;
  // The shard's table may hold the last reference: keep the session alive until on_close ran.
  auto self = shared_from_this();
  shard_.remove_session(*this);
  auto run = [self = std::move(self), reason = std::string(reason)] {
    if (auto handler = std::move(self->handler_)) handler->on_close(reason);
  };
  if (now) {
    run();
  } else {
    boost::asio::post(shard_.io(), std::move(run));
  }
}

void EioSession::begin_upgrade(const std::shared_ptr<WebSocketConnection>& probe) {
  polling().probe = probe;
  probe->attach(this, WebSocketConnection::Role::kProbe);
  probe->set_deadline(milliseconds(shard_.config().upgrade_timeout_ms));
}

void EioSession::on_probe_text(WebSocketConnection& probe, std::string_view packet) {
  if (&probe != this->probe()) return;
  auto self = shared_from_this();
  if (packet == "2probe") {
    probe.enqueue(OutItem::packet("3probe"));
    probe.flush();
    upgrading_ = true;
    if (held_poll() != nullptr) {
      if (polling_->queue.empty()) {
        answer_poll("6");
      } else {
        respond_poll();
      }
    }
  } else if (packet == "5" && state_ == State::kOpen) {
    finish_upgrade();
  } else {
    cancel_upgrade();
  }
}

void EioSession::finish_upgrade() {
  PollState& p = polling();
  auto ws = std::move(p.probe);
  ws->clear_deadline();
  upgrading_ = false;
  upgraded_ = true;
  transport_ = TransportKind::kWebSocket;
  ws_ = std::move(ws);
  ws_->attach(this, WebSocketConnection::Role::kActive);
  ShardCounters::add(shard_.counters().websocket_sessions);
  ShardCounters::add(shard_.counters().upgrades);
  // A GET still held (the client should have paused polling) ends with a noop, never on ws.
  if (p.held) answer_poll("6");
  ws_->enqueue_all(p.queue);
  clear_poll_queue();
  ws_->flush();
}

void EioSession::cancel_upgrade() {
  upgrading_ = false;
  if (probe() == nullptr) return;
  auto probe = std::move(polling_->probe);
  probe->close(static_cast<uint16_t>(ws::CloseCode::kNoStatus), {}, /*discard=*/true);
}

void EioSession::on_probe_closed(WebSocketConnection& probe) {
  if (&probe != this->probe()) return;
  polling_->probe.reset();
  upgrading_ = false;
}

}  // namespace herald::edge
