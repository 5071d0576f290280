// The seam between the Engine.IO server and what runs on top of it (the Socket.IO layer): the
// Engine.IO layer knows nothing about Socket.IO, and the Socket.IO layer nothing about transports.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edge/engineio/handshake_info.h"

namespace boost::asio {
class io_context;
}

namespace herald::eio {

// One message to send, already encoded once for every recipient: `text` is the Engine.IO message
// payload without the leading '4' packet type (i.e. the Socket.IO packet text), `binaries` are
// the binary messages that follow it (Socket.IO attachments). Immutable and shared by all
// recipients of a broadcast; transports frame it without copying it when they can.
struct OutboundMessage {
  std::string text;
  std::vector<std::string> binaries;
  bool is_volatile = false;  // may be dropped when the session cannot take it right now

  // Filled by eio::seal_message() (outbound.h) once the fields above are final and before the
  // message is shared, so that a broadcast computes them once rather than once per recipient:
  // the payload bytes ('4' + text + binaries) and the websocket text frame's header followed by
  // the '4'. ws_prefix_size 0: not sealed, transports compute both per write.
  std::size_t payload_size = 0;
  std::array<char, 11> ws_prefix{};
  std::uint8_t ws_prefix_size = 0;
};
using SharedMessage = std::shared_ptr<const OutboundMessage>;

enum class SendResult {
  kQueued,    // accepted (written or queued)
  kDropped,   // volatile and the session was not writable: dropped (counted)
  kOverflow,  // the outbound queue passed its byte limit: the session is being closed
  kClosed,    // the session is already closed
};

// An Engine.IO session as its upper layer sees it. Lives on one shard; every method must be
// called on that shard's thread.
class Session {
 public:
  virtual ~Session() = default;

  virtual std::string_view id() const = 0;
  virtual uint32_t shard() const = 0;
  virtual boost::asio::io_context& executor() = 0;
  virtual const HandshakeInfo& handshake() const = 0;
  virtual std::string_view transport() const = 0;  // current transport: "polling" | "websocket"

  virtual SendResult send(const SharedMessage& message) = 0;

  // Closes the session (sends an Engine.IO close packet when the transport is still open).
  // The handler's on_close runs afterwards with `reason`.
  virtual void close(std::string_view reason) = 0;
};

// Implemented by the layer above, one per Engine.IO session. Called on the session's shard.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // A complete text message (without the leading '4').
  virtual void on_message(std::string_view text) = 0;
  // A complete binary message.
  virtual void on_binary(std::string_view data) = 0;
  // The session ended: "transport close", "transport error", "ping timeout", "parse error",
  // "forced close", "server shutting down", ... The Session must not be used afterwards.
  virtual void on_close(std::string_view reason) = 0;
  // Requests are in flight that the client waits for (acks either way): a graceful drain closes
  // this session only once they are answered, or at its deadline.
  virtual bool busy() const { return false; }
};

// Creates a handler for each new session (the Socket.IO layer). Called on the session's shard.
class SessionHandlerFactory {
 public:
  virtual ~SessionHandlerFactory() = default;
  virtual std::unique_ptr<SessionHandler> on_open(Session& session) = 0;
};

}  // namespace herald::eio
