// EchoService: a HandleEvents client that echoes client events back — the compat suite's server
// side.
//
// What it does on each stream (herald.v1.Realtime/HandleEvents):
//   1. sends Register{routes: (ns, "message"), (ns, "message-with-ack"), (ns, "$connect")};
//   2. "$connect"         → Emit "auth" to the socket with the handshake auth object ({} if none);
//      "message"          → Emit "message-back" to the sender with the same arguments and binary
//                           attachments (and an empty ack if the client asked for one);
//      "message-with-ack" → Reply with the same arguments and attachments (the client's ack).
// It registers with `batches`: a ServerMessage.batch of events is answered event by event, and the
// answers go out as one HandlerMessage.batch when the broker's Registered says it takes them.
// When the stream fails, or the broker is not up yet, it reconnects with exponential backoff and
// registers again.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "herald/v1/realtime.grpc.pb.h"

namespace herald::echo {

struct EchoOptions {
  std::string server = "127.0.0.1:50051";
  std::string token;  // sent as "authorization: Bearer <token>" when set
  // The compat contract's namespaces: "/" (auth required), "/custom" (optional), "/anon" (none).
  std::vector<std::string> namespaces = {"/", "/custom", "/anon"};
  std::string service_name = "herald-echo-service";
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

// The Register message for `options`: three routes per namespace.
v1::HandlerMessage make_register(const EchoOptions& options);

// What the service answers to one client event: zero or more Emit/Reply messages. Pure, so the
// echo rules can be read (and tested) apart from the streaming code.
std::vector<v1::HandlerMessage> respond(const v1::ServerMessage::ClientEvent& event);

class EchoService {
 public:
  // Receives one log line (a JSON object, no newline) per state change; called on run()'s thread.
  using LogSink = std::function<void(const std::string& line)>;

  // `log` defaults to writing each line to stderr.
  explicit EchoService(EchoOptions options, LogSink log = nullptr);
  EchoService(const EchoService&) = delete;
  EchoService& operator=(const EchoService&) = delete;

  // Connects, registers and serves until stop(); reconnects with backoff whenever the stream ends.
  void run();
  // Makes run() return soon: cancels the current stream or wakes the backoff wait. Thread-safe but
  // not async-signal-safe: call it from a thread that waits for signals, not from a handler.
  void stop();

 private:
  // One HandleEvents stream from Register to its end; returns true if the broker confirmed the
  // registration (so the next reconnect starts from the initial backoff again).
  bool serve_one_stream(grpc::Status* status);

  const EchoOptions options_;
  const LogSink log_;
  std::unique_ptr<v1::Realtime::Stub> stub_;

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  grpc::ClientContext* context_ = nullptr;  // the live stream's, so stop() can cancel it
};

}  // namespace herald::echo
