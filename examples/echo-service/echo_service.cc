// EchoService: the echo rules and the HandleEvents stream loop with reconnect and backoff.
#include "examples/echo-service/echo_service.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <utility>

namespace herald::echo {

namespace {

constexpr const char* kConnectRoute = "$connect";  // lifecycle route: a socket joined a namespace
constexpr const char* kMessage = "message";
constexpr const char* kMessageWithAck = "message-with-ack";

// A JSON string literal for `s` (log lines carry gRPC error text).
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

v1::HandlerMessage emit_to(const v1::ServerMessage::ClientEvent& event, std::string name,
                           std::string args_json) {
  v1::HandlerMessage msg;
  v1::HandlerMessage::Emit* emit = msg.mutable_emit();
  emit->set_socket_id(event.socket_id());
  emit->set_ns(event.ns());
  emit->set_event(std::move(name));
  emit->set_args_json(std::move(args_json));
  return msg;
}

v1::HandlerMessage reply_to(const v1::ServerMessage::ClientEvent& event, std::string args_json) {
  v1::HandlerMessage msg;
  v1::HandlerMessage::Reply* reply = msg.mutable_reply();
  reply->set_call_id(event.call_id());
  reply->set_args_json(std::move(args_json));
  return msg;
}

}  // namespace

v1::HandlerMessage make_register(const EchoOptions& options) {
  v1::HandlerMessage msg;
  v1::HandlerMessage::Register* reg = msg.mutable_register_();
  reg->set_service_name(options.service_name);
  reg->set_batches(true);  // we read ServerMessage.batch too (see serve_one_stream)
  for (const std::string& ns : options.namespaces) {
    for (const char* event : {kMessage, kMessageWithAck, kConnectRoute}) {
      v1::HandlerMessage::Register::Route* route = reg->add_routes();
      route->set_ns(ns);
      route->set_event(event);
    }
  }
  return msg;
}

std::vector<v1::HandlerMessage> respond(const v1::ServerMessage::ClientEvent& event) {
  std::vector<v1::HandlerMessage> out;
  // The broker sets call_id exactly when the client asked for an ack; a Reply must carry it.
  const bool wants_reply = event.wants_ack() && event.call_id() != 0;
  const std::string& args = event.args_json().empty() ? "[]" : event.args_json();

  if (event.event() == kConnectRoute) {
    // auth_json is the handshake's auth object, "" when the client sent none.
    const std::string& auth = event.auth_json().empty() ? "{}" : event.auth_json();
    out.push_back(emit_to(event, "auth", "[" + auth + "]"));
  } else if (event.event() == kMessage) {
    v1::HandlerMessage back = emit_to(event, "message-back", args);
    // Binary arguments are {"_placeholder":true,"num":n} in args_json plus the attachments:
    // copying both unchanged keeps the binary byte for byte.
    *back.mutable_emit()->mutable_attachments() = event.attachments();
    out.push_back(std::move(back));
    // Not part of the echo contract, but an unanswered call would hold the client's ack until the
    // broker's handler timeout.
    if (wants_reply) out.push_back(reply_to(event, "[]"));
  } else if (event.event() == kMessageWithAck) {
    if (wants_reply) {
      v1::HandlerMessage reply = reply_to(event, args);
      *reply.mutable_reply()->mutable_attachments() = event.attachments();
      out.push_back(std::move(reply));
    }
  } else if (wants_reply) {
    // Only reachable if the broker routes an event this service did not register.
    v1::HandlerMessage reply = reply_to(event, "");
    reply.mutable_reply()->set_error_code("UNKNOWN_EVENT");
    reply.mutable_reply()->set_error_message("echo-service does not handle '" + event.event() +
                                             "'");
    out.push_back(std::move(reply));
  }
  return out;
}

EchoService::EchoService(EchoOptions options, LogSink log)
    : options_(std::move(options)),
      log_(log ? std::move(log) : [](const std::string& line) { std::cerr << line + "\n"; }) {
  // The channel reconnects on its own; keep its backoff as short as ours, or a broker that was
  // down for a while would be retried only every couple of minutes (gRPC's default ceiling).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(options_.initial_backoff.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(options_.initial_backoff.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options_.max_backoff.count()));
  auto channel =
      grpc::CreateCustomChannel(options_.server, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Realtime::NewStub(channel);
}

void EchoService::run() {
  std::ostringstream start;
  start << "{\"msg\":\"echo-service starting\",\"server\":" << json_string(options_.server)
        << ",\"namespaces\":[";
  for (size_t i = 0; i < options_.namespaces.size(); ++i) {
    start << (i ? "," : "") << json_string(options_.namespaces[i]);
  }
  start << "]}";
  log_(start.str());

  std::chrono::milliseconds backoff = options_.initial_backoff;
  for (;;) {
    grpc::Status status;
    const bool was_registered = serve_one_stream(&status);
    if (was_registered) backoff = options_.initial_backoff;

    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    // "disconnected": a registered stream ended; "unavailable": no stream got that far.
    log_(std::string("{\"msg\":\"echo-service ") +
         (was_registered ? "disconnected" : "unavailable") +
         "\",\"code\":" + std::to_string(static_cast<int>(status.error_code())) +
         ",\"error\":" + json_string(status.error_message()) +
         ",\"retry_in_ms\":" + std::to_string(backoff.count()) + "}");
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_cv_.wait_for(lock, backoff, [this] { return stopping_; })) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  log_("{\"msg\":\"echo-service stopped\"}");
}

void EchoService::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  // Unblocks the stream's Read (and a Write waiting on flow control); the sync API calls nothing
  // back, so doing it under the lock is safe.
  if (context_ != nullptr) context_->TryCancel();
  stop_cv_.notify_all();
}

// The sync API on one thread is enough here: every write answers a read, so reads and writes never
// overlap and there is exactly one write in flight. A service that also emits on its own (timers,
// other inputs) needs a writer queue — or grpc::ClientBidiReactor with one StartWrite at a time.
bool EchoService::serve_one_stream(grpc::Status* status) {
  grpc::ClientContext context;
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      *status = grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
      return false;
    }
    context_ = &context;
  }

  bool registered = false;
  bool broker_takes_batches = false;
  auto stream = stub_->HandleEvents(&context);
  if (stream->Write(make_register(options_))) {
    v1::ServerMessage incoming;
    while (stream->Read(&incoming)) {
      if (incoming.has_registered()) {
        registered = true;
        broker_takes_batches = incoming.registered().batches();
        log_("{\"msg\":\"echo-service registered\",\"routes\":" +
             std::to_string(incoming.registered().routes()) + "}");
        continue;
      }
      // One event, or a batch of the events that queued up in the broker: answer them all.
      std::vector<v1::HandlerMessage> out;
      if (incoming.has_event()) out = respond(incoming.event());
      for (const v1::ServerMessage::ClientEvent& event : incoming.batch().events()) {
        for (v1::HandlerMessage& m : respond(event)) out.push_back(std::move(m));
      }
      // Several answers go out as one Batch when the broker takes them: one gRPC message instead
      // of one per answer.
      if (broker_takes_batches && out.size() > 1) {
        v1::HandlerMessage batch;
        for (v1::HandlerMessage& m : out) {
          batch.mutable_batch()->mutable_messages()->Add(std::move(m));
        }
        out.clear();
        out.push_back(std::move(batch));
      }
      for (const v1::HandlerMessage& m : out) {
        if (!stream->Write(m)) break;  // the stream is gone; Read fails next and ends the loop
      }
    }
  }
  *status = stream->Finish();

  std::lock_guard<std::mutex> lock(mu_);
  context_ = nullptr;
  return registered;
}

}  // namespace herald::echo
