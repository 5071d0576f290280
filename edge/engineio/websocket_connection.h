// The websocket transport after the 101 response: waits for readability without a buffer,
// reads into the shard's buffer, parses frames with ws::FrameParser, and writes its queue of
// shared messages with one gather write per flush (DESIGN.md §6: ~no bytes per idle connection
// beyond the socket and this object).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "edge/engineio/outbound.h"
#include "edge/engineio/timer_wheel.h"
#include "edge/transport/shard.h"
#include "edge/websocket/frame.h"

namespace herald::edge {

class EioSession;

class WebSocketConnection final : public std::enable_shared_from_this<WebSocketConnection>,
                                  private eio::WheelTimer {
 public:
  enum class Role : uint8_t { kActive, kProbe, kDetached };

  WebSocketConnection(Shard& shard, TcpSocket socket, ConnectionSlot slot);
  ~WebSocketConnection();

  // Starts reading; `initial` are bytes that arrived with the HTTP upgrade request.
  void start(std::string_view initial = {});

  void attach(EioSession* session, Role role);
  void detach() {
    session_ = nullptr;
    role_ = Role::kDetached;
  }
  Role role() const { return role_; }
  void set_deadline(std::chrono::milliseconds delay);
  void clear_deadline() { cancel_timer(); }

  // --- outbound ------------------------------------------------------------------------------
  void enqueue(eio::OutItem&& item);
  // Moves items queued elsewhere (the polling queue, at upgrade) behind what is queued here.
  void enqueue_all(std::vector<eio::OutItem>& items);
  std::size_t queued_bytes() const { return queued_bytes_; }
  bool idle() const { return head_ == queue_.size() && !closing_; }
  // Writes as much as the socket takes now; waits for writability for the rest.
  void flush();

  // Ends the connection: queues a close frame behind what is queued (`discard`: drops the
  // queue first), then shuts down and waits briefly for the peer's close. Detaches.
  void close(uint16_t code, std::string_view reason = {}, bool discard = false);
  // Closes the socket now (peer gone, slow consumer, shutdown).
  void abort();

  static constexpr std::size_t object_size() { return sizeof(WebSocketConnection); }
  std::size_t parser_buffer_capacity() const { return parser_.buffer_capacity(); }

 private:
  struct ReadableHandler;

  void wait_readable();
  void on_readable(const boost::system::error_code& ec);
  // Returns false once the connection stopped reading.
  bool on_frame(const ws::Message& message);
  void wait_writable();
  void on_writable(const boost::system::error_code& ec);
  void consume(std::size_t n);
  void on_close_frame_sent();
  void on_timer() override;
  // The peer is gone or broke the protocol: tell the session (once) and stop.
  void lost(std::string_view reason);

  Shard& shard_;
  TcpSocket socket_;
  ConnectionSlot slot_;
  ws::FrameParser parser_;
  EioSession* session_ = nullptr;
  std::vector<eio::OutItem> queue_;
  // 32 bits are enough (an item is one message, whose size the uint32 payload and gRPC message
  // limits bound) and keep the idle object within malloc's 240 B chunk.
  uint32_t head_ = 0;             // first item not completely written
  uint32_t offset_ = 0;           // wire bytes of queue_[head_] already written
  std::size_t queued_bytes_ = 0;  // payload bytes of queue_[head_..]
  Role role_ = Role::kDetached;
  bool reading_ = false;
  bool write_waiting_ = false;
  bool closing_ = false;      // a close frame is queued; nothing may follow it
  bool close_sent_ = false;   // the close frame is written: lingering for the peer's close
  bool peer_closed_ = false;  // the peer's close frame arrived
  bool closed_ = false;       // the socket is closed
};

}  // namespace herald::edge
