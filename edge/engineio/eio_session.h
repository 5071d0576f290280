// An Engine.IO v4 session: heartbeat, outbound queue with a byte limit, the long-polling
// transport, the websocket transport and the upgrade between them (engine.io's lib/socket.ts).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "edge/engineio/outbound.h"
#include "edge/engineio/session_handler.h"
#include "edge/engineio/timer_wheel.h"

namespace herald::edge {

class HttpConnection;
class WebSocketConnection;
class Shard;

// What holds a polling GET for a session: a local HTTP connection, or a GET forwarded from another
// edge over the bus (edge/transport/forwarded_poll.h).
class PollResponder {
 public:
  virtual ~PollResponder() = default;
  // Answers the held GET (text/plain; charset=UTF-8).
  virtual void respond_poll(std::string body) = 0;
  // The session no longer holds this GET; `status` 0: just forget, else answer with it.
  virtual void release_poll(unsigned status) = 0;
};

class EioSession final : public eio::Session,
                         public std::enable_shared_from_this<EioSession>,
                         private eio::WheelTimer {
 public:
  enum class TransportKind : uint8_t { kPolling, kWebSocket };

  EioSession(Shard& shard, InlineId id, eio::HandshakeInfo handshake, TransportKind transport);
  ~EioSession() override;

  // Queues the open packet, starts the heartbeat and creates the handler (on_open). For a
  // websocket session, `ws` is its connection; for polling the open packet waits for on_poll.
  void open(std::shared_ptr<WebSocketConnection> ws);

  // eio::Session
  std::string_view id() const override { return id_.view(); }
  uint32_t shard() const override;
  boost::asio::io_context& executor() override;
  const eio::HandshakeInfo& handshake() const override { return handshake_; }
  std::string_view transport() const override {
    return transport_ == TransportKind::kPolling ? "polling" : "websocket";
  }
  eio::SendResult send(const eio::SharedMessage& message) override;
  void close(std::string_view reason) override;

  bool is_open() const { return state_ == State::kOpen; }
  bool is_closed() const { return state_ == State::kClosed; }
  TransportKind transport_kind() const { return transport_; }
  // Upgrade in progress or done: a new websocket for this session is refused.
  bool upgrade_refused() const { return (polling_ && polling_->probe) || upgraded_; }

  // --- from the transports -------------------------------------------------------------------
  // A text packet (type digit + data) or a binary message from the active transport.
  void on_text_packet(std::string_view packet);
  void on_binary_message(std::string_view data);
  // Closes now (no close packet to deliver first): "transport close", "transport error",
  // "ping timeout", "parse error", "slow consumer", "server shutting down". Idempotent.
  void fail(std::string_view reason);
  // Writes what is queued (scheduled by send()).
  void flush();

  // Polling: a GET. Held until packets are queued (or answered at once); a second concurrent
  // GET closes the session (the connection answers it 400).
  // Returns false when the request must be refused with 400.
  bool on_poll(const std::shared_ptr<PollResponder>& connection);
  // The held GET's connection went away before it was answered.
  void on_poll_aborted(PollResponder& connection);
  // Polling: a POST started / its body arrived (packets decoded here). begin_post returns false
  // when another POST is already in progress (the session is closed; answer 400).
  bool begin_post();
  void end_post(std::string_view body);
  void abort_post() { post_in_progress_ = false; }

  // Websocket upgrade: the probe connection (after 101), its packets, and its end.
  void begin_upgrade(const std::shared_ptr<WebSocketConnection>& probe);
  void on_probe_text(WebSocketConnection& probe, std::string_view packet);
  void on_probe_closed(WebSocketConnection& probe);

  // Shutdown of the shard: close packet / close frame where possible, on_close run now.
  void shutdown_now();
  // Graceful drain: like close("server shutting down") with a 1001 (going away) close frame.
  // The client sees "transport close" and reconnects (elsewhere); no Socket.IO DISCONNECT is
  // sent, which would stop it from reconnecting.
  void drain_close();
  // The handler has requests in flight (see SessionHandler::busy).
  bool busy() const { return handler_ && handler_->busy(); }
  // Bytes waiting in the outbound queue of the active transport.
  std::size_t outbound_bytes() const { return queued_bytes(); }

  // For memory reports.
  static constexpr std::size_t object_size() { return sizeof(EioSession); }

 private:
  enum class State : uint8_t { kOpen, kClosing, kClosed };
  enum class Heartbeat : uint8_t { kWaitInterval, kWaitPong, kClosing };

  void on_timer() override;
  void handle_packet(char type, std::string_view data);
  void enqueue(eio::OutItem&& item);
  std::size_t queued_bytes() const;
  bool writable() const;
  void respond_poll();
  // Answers the held GET with `body` (a noop or close packet) and lets it go.
  void answer_poll(std::string body);
  void finish_upgrade();
  void close_with(std::string_view reason, uint16_t ws_code);
  void cancel_upgrade();
  // Removes the session from its shard and runs on_close(reason) once (posted unless `now`).
  void finalize(std::string_view reason, bool now = false);

  // What only a polling session needs (a websocket session queues in its connection and is
  // never upgraded): behind a pointer, so that idle websocket sessions do not carry it.
  struct PollState {
    std::vector<eio::OutItem> queue;
    std::size_t queue_bytes = 0;
    std::shared_ptr<PollResponder> held;         // the held GET
    std::shared_ptr<WebSocketConnection> probe;  // a websocket being upgraded to
    std::string close_reason;  // set by close() while the close packet waits for a GET
  };
  PollState& polling();
  // Held GET / upgrade probe, null when there is none (or the session never polled).
  PollResponder* held_poll() const { return polling_ ? polling_->held.get() : nullptr; }
  WebSocketConnection* probe() const { return polling_ ? polling_->probe.get() : nullptr; }
  void clear_poll_queue();

  Shard& shard_;
  InlineId id_;
  eio::HandshakeInfo handshake_;
  std::unique_ptr<eio::SessionHandler> handler_;
  std::unique_ptr<PollState> polling_;       // polling sessions (kept after an upgrade)
  std::shared_ptr<WebSocketConnection> ws_;  // the websocket transport
  TransportKind transport_;
  State state_ = State::kOpen;
  Heartbeat heartbeat_ = Heartbeat::kWaitInterval;
  bool post_in_progress_ = false;
  bool upgrading_ = false;  // the probe was answered; waiting for the upgrade packet
  bool upgraded_ = false;
  bool finalized_ = false;

 public:
  bool flush_scheduled = false;  // owned by Shard::schedule_flush
};

}  // namespace herald::edge
