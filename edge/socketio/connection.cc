// Connection: Socket.IO v5 packet handling for one Engine.IO session, following the reference
// server (packages/socket.io/lib/client.ts and socket.ts) where it decides what to close or ignore.
#include "edge/socketio/connection.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/client_error.h"
#include "common/ids.h"
#include "common/log/log.h"
#include "edge/broker_link.h"
#include "edge/engineio/outbound.h"
#include "edge/socketio/socket_server.h"

namespace herald::sio {

namespace {

constexpr std::string_view kLog = "edge.sio";

// Socket.IO disconnect reasons (what the broker sees in SessionClose.reason).
constexpr std::string_view kClientNamespaceDisconnect = "client namespace disconnect";
constexpr std::string_view kServerNamespaceDisconnect = "server namespace disconnect";
constexpr std::string_view kForcedServerClose = "forced server close";
constexpr std::string_view kParseError = "parse error";

// The broker's code for a namespace it does not serve; the client sees Node's exact payload.
constexpr std::string_view kInvalidNamespaceCode = "INVALID_NAMESPACE";

nlohmann::json details_value(const std::string& details_json) {
  if (details_json.empty()) return nullptr;
  auto parsed = parse_json(details_json);
  // The broker is trusted, but a bad value still reaches the client as text rather than not at all.
  return parsed.ok() ? std::move(parsed.value()) : nlohmann::json(details_json);
}

// {"code","message","details"?}: what acks and "error" events carry.
nlohmann::json error_value(const internal::ErrorInfo& error) {
  nlohmann::json out = nlohmann::json::object();
  out["code"] = error.code();
  out["message"] = error.message();
  auto details = details_value(error.details_json());
  if (!details.is_null()) out["details"] = std::move(details);
  return out;
}

std::string dump(const nlohmann::json& value) {
  // Replace invalid UTF-8 from a peer rather than throw.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void bump(std::atomic<uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
}

internal::EdgeToBroker session_close(const Socket& socket, std::string_view reason) {
  internal::EdgeToBroker out;
  auto* close = out.mutable_close();
  close->set_socket_id(std::string(socket.id()));
  close->set_ns(socket.ns());
  close->set_reason(std::string(reason));
  return out;
}

internal::EdgeToBroker timed_out_ack(const Socket& socket, uint64_t request_id) {
  internal::EdgeToBroker out;
  auto* ack = out.mutable_ack();
  ack->set_socket_id(std::string(socket.id()));
  ack->set_request_id(request_id);
  ack->set_timed_out(true);
  return out;
}

}  // namespace

// --- Socket -------------------------------------------------------------------------------------

eio::SendResult Socket::send(const eio::SharedMessage& message) {
  if (!connected_) return eio::SendResult::kClosed;
  return connection_.session().send(message);
}

void Socket::disconnect(std::string_view reason, bool close_connection) {
  HLOG_DEBUG(kLog, "server disconnect", {{"socket", id_}, {"reason", std::string(reason)}});
  connection_.server_disconnect(*this, close_connection);
}

// --- Connection ---------------------------------------------------------------------------------

Connection::Connection(SioShard& shard, eio::Session& session) : shard_(shard), session_(session) {
  bump(shard_.server().counters().connections_opened);
  connect_watch_ = shard_.watch_connect(*this);
}

Connection::~Connection() {
  // The Engine.IO layer always calls on_close first; this only covers a handler dropped without it.
  if (!closed_) on_close("server shutting down");
}

Socket* Connection::find_ns(std::string_view ns) {
  for (auto& s : sockets_) {
    if (s.ns() == ns) return &s;
  }
  return nullptr;
}

void Connection::on_message(std::string_view text) {
  if (closing_) return;
  if (binary_ && binary_->in_progress()) {
    return violation(Violation::kBinarySequence, "got plaintext data when reconstructing a packet");
  }
  DecodeLimits limits;
  limits.max_attachments = shard_.server().options().max_attachments;
  auto packet = decode_packet(text, limits);
  if (!packet.ok()) return violation(Violation::kBadPacket, packet.status().message());
  if (!is_binary_type(packet->type)) return dispatch(std::move(packet.value()), {}, text.size());

  if (!binary_)
    binary_ = std::make_unique<BinaryReconstructor>(shard_.server().options().max_payload);
  if (Status s = binary_->start(std::move(packet.value())); !s.ok()) {
    return violation(Violation::kBinarySequence, s.message());
  }
  binary_wire_bytes_ = text.size();
  if (binary_->complete()) {
    BinaryPacket done = binary_->take();
    binary_.reset();
    dispatch(std::move(done.packet), std::move(done.attachments), binary_wire_bytes_);
  }
}

void Connection::on_binary(std::string_view data) {
  if (closing_) return;
  if (!binary_ || !binary_->in_progress()) {
    return violation(Violation::kBinarySequence,
                     "got binary data when not reconstructing a packet");
  }
  binary_wire_bytes_ += data.size();
  auto complete = binary_->add(std::string(data));
  if (!complete.ok()) return violation(Violation::kBinarySequence, complete.status().message());
  if (!complete.value()) return;
  BinaryPacket done = binary_->take();
  binary_.reset();
  dispatch(std::move(done.packet), std::move(done.attachments), binary_wire_bytes_);
}

void Connection::dispatch(Packet packet, std::vector<std::string> attachments, size_t wire_bytes) {
  Socket* socket = find_ns(packet.nsp);
  if (packet.type == PacketType::kConnect) {
    if (socket == nullptr) return on_connect_packet(packet);
    if (!socket->connected_) {
      // Still waiting for the broker: the first CONNECT answers this one too.
      bump(shard_.server().counters().duplicate_connects);
      return;
    }
    // client.ts ondecoded: CONNECT for a connected namespace is an invalid state.
    return violation(Violation::kInvalidState, "CONNECT for a connected namespace");
  }
  if (packet.type == PacketType::kConnectError) {
    return violation(Violation::kInvalidState, "CONNECT_ERROR from a client");
  }
  if (socket == nullptr || !socket->connected_) {
    return violation(Violation::kInvalidState, "packet for a namespace not connected");
  }
  switch (packet.type) {
    case PacketType::kEvent:
    case PacketType::kBinaryEvent:
      return on_event_packet(*socket, packet, std::move(attachments), wire_bytes);
    case PacketType::kAck:
    case PacketType::kBinaryAck:
      return on_ack_packet(*socket, packet, std::move(attachments));
    case PacketType::kDisconnect:
      return on_disconnect_packet(*socket);
    default:
      return;
  }
}

void Connection::on_connect_packet(Packet& packet) {
  SocketServer& server = shard_.server();
  if (namespace_count() >= server.options().max_namespaces_per_connection) {
    // Node has no such limit; refusing the one CONNECT (and keeping the connection) is what a
    // client can handle: its socket gets connect_error, the others stay up.
    bump(server.counters().namespace_limit_refused);
    nlohmann::json data = {{"message", "Too many namespaces on this connection"},
                           {"data", {{"code", "FORBIDDEN"}}}};
    return send_connect_error(packet.nsp, dump(data));
  }
  Socket& socket = sockets_.emplace_front(*this, make_id(server.edge_tag(), shard_.index()),
                                          std::move(packet.nsp));
  if (!shard_.rooms().add_socket(socket)) {
    // A 90-bit random id collided with a live one: refuse rather than alias two sockets.
    HLOG_ERROR(kLog, "socket id collision", {{"socket", socket.id()}});
    nlohmann::json data = {{"message", "Internal error"}, {"data", {{"code", "INTERNAL"}}}};
    const std::string ns = socket.ns();
    sockets_.pop_front();
    return send_connect_error(ns, dump(data));
  }

  internal::EdgeToBroker out;
  auto* open = out.mutable_open();
  open->set_socket_id(std::string(socket.id()));
  open->set_engine_sid(std::string(session_.id()));
  open->set_ns(socket.ns());
  open->set_auth_json(std::move(packet.data_json));
  const eio::HandshakeInfo& hs = session_.handshake();
  auto* handshake = open->mutable_handshake();
  for (const auto& [k, v] : hs.headers()) (*handshake->mutable_headers())[std::string(k)] = v;
  for (const auto& [k, v] : hs.query()) (*handshake->mutable_query())[std::string(k)] = v;
  handshake->set_remote_address(std::string(hs.remote_address()));
  handshake->set_transport(std::string(session_.transport()));
  handshake->set_secure(hs.secure());
  bump(server.counters().namespace_connects);
  shard_.send_to_broker(std::move(out));
}

void Connection::on_event_packet(Socket& socket, Packet& packet,
                                 std::vector<std::string> attachments, size_t wire_bytes) {
  auto parts = split_event(packet.data_json);
  if (!parts.ok()) return violation(Violation::kBadPacket, parts.status().message());
  // socket.io-parser refuses these names while decoding, which closes the connection.
  if (is_reserved_event_name(parts->name)) {
    return violation(Violation::kReservedEvent, parts->name);
  }
  internal::EdgeToBroker out;
  auto* event = out.mutable_event();
  event->set_socket_id(std::string(socket.id()));
  event->set_ns(socket.ns());
  event->set_event(std::move(parts->name));
  event->set_args_json(parts->args_json());
  for (auto& a : attachments) event->add_attachments(std::move(a));
  if (packet.id) {
    event->set_wants_ack(true);
    event->set_ack_id(*packet.id);
    ++socket.verdicts_pending_;
  }
  event->set_payload_bytes(static_cast<uint32_t>(std::min<size_t>(wire_bytes, UINT32_MAX)));
  bump(shard_.server().counters().events_in);
  shard_.send_to_broker(std::move(out));
}

void Connection::on_ack_packet(Socket& socket, Packet& packet,
                               std::vector<std::string> attachments) {
  // socket.ts onack: an ack nobody waits for (unknown, late or duplicate) is ignored.
  auto it = socket.acks_.end();
  if (packet.id) {
    it = std::find_if(socket.acks_.begin(), socket.acks_.end(),
                      [&](const Socket::PendingAck& a) { return a.ack_id == *packet.id; });
  }
  if (it == socket.acks_.end()) {
    bump(shard_.server().counters().unknown_acks);
    return;
  }
  const uint64_t request_id = it->request_id;
  socket.acks_.erase(it);
  internal::EdgeToBroker out;
  auto* ack = out.mutable_ack();
  ack->set_socket_id(std::string(socket.id()));
  ack->set_request_id(request_id);
  ack->set_args_json(std::move(packet.data_json));
  for (auto& a : attachments) ack->add_attachments(std::move(a));
  bump(shard_.server().counters().client_acks_in);
  shard_.send_to_broker(std::move(out));
}

void Connection::on_disconnect_packet(Socket& socket) {
  // socket.ts ondisconnect; the Engine.IO connection stays open (the client's Manager closes it
  // when its last socket goes).
  bump(shard_.server().counters().client_disconnects);
  remove_socket(socket, kClientNamespaceDisconnect);
}

void Connection::on_accepted(Socket& socket, const internal::SessionAccepted& accepted) {
  if (socket.connected_ || closing_) return;
  SocketServer& server = shard_.server();
  socket.user_id_ = accepted.user_id();
  socket.connected_ = true;
  if (connect_watch_ != 0) {
    shard_.unwatch_connect(connect_watch_);
    connect_watch_ = 0;
  }
  socket.ns_gauge_ = server.namespace_gauges().gauge(socket.ns());
  socket.ns_gauge_->fetch_add(1, std::memory_order_relaxed);
  edge::ShardAdapter& rooms = shard_.rooms();
  rooms.connect(socket);  // and its own room, implicitly (socket.ts _onconnect: join(this.id))
  for (const auto& room : accepted.rooms()) rooms.join(socket, room);
  bump(server.counters().connects_accepted);
  Packet reply;
  reply.type = PacketType::kConnect;
  reply.nsp = socket.ns();
  reply.data_json = "{\"sid\":\"" + socket.id_.str() + "\"}";  // ids are base64url: no escaping
  send_packet(reply);
}

void Connection::on_rejected(Socket& socket, const internal::SessionRejected& rejected) {
  if (socket.connected_ || closing_) return;
  bump(shard_.server().counters().connects_rejected);
  const auto& error = rejected.error();
  std::string data;
  if (error.code() == kInvalidNamespaceCode) {
    data = R"({"message":"Invalid namespace"})";  // client.ts connect(): Node's exact payload
  } else {
    nlohmann::json payload = {{"message", error.message()}};
    nlohmann::json inner = {{"code", error.code()}};
    auto details = details_value(error.details_json());
    if (!details.is_null()) inner["details"] = std::move(details);
    payload["data"] = std::move(inner);
    data = dump(payload);
  }
  std::string ns = socket.ns();
  remove_socket(socket, {});  // the broker refused it: nothing to close there
  send_connect_error(ns, std::move(data));
}

void Connection::on_verdict(Socket& socket, const internal::EventVerdict& verdict) {
  if (!socket.connected_ || closing_) return;
  const bool failed = verdict.has_error() && !verdict.error().code().empty();
  if (verdict.has_ack()) {
    if (socket.verdicts_pending_ > 0) --socket.verdicts_pending_;
    Packet ack;
    ack.nsp = socket.ns();
    ack.id = verdict.ack_id();
    std::vector<std::string> binaries;
    if (failed) {
      ack.type = PacketType::kAck;
      ack.data_json = dump(nlohmann::json::array({{{"error", error_value(verdict.error())}}}));
    } else if (!verdict.args_json().empty() && !is_array_text(verdict.args_json())) {
      // Spliced unchecked, these arguments would give the client a packet it cannot parse (and
      // it would drop the connection): the ack reports an error instead, as for a refusal.
      bump(shard_.server().counters().encode_failures);
      log::write_limited("bad_ack", 10, log::Level::kWarn, kLog,
                         "ack dropped: arguments are not a JSON array", {{"socket", socket.id()}});
      ack.type = PacketType::kAck;
      ack.data_json = dump(nlohmann::json::array(
          {{{"error",
             ClientError{ClientErrorCode::kInternal, "invalid acknowledgement from the server", {}}
                 .to_json()}}}));
    } else {
      ack.data_json = verdict.args_json().empty() ? "[]" : verdict.args_json();
      ack.type = verdict.attachments_size() > 0 ? PacketType::kBinaryAck : PacketType::kAck;
      ack.attachments = static_cast<uint32_t>(verdict.attachments_size());
      binaries.assign(verdict.attachments().begin(), verdict.attachments().end());
    }
    bump(shard_.server().counters().acks_out);
    return send_packet(ack, std::move(binaries));
  }
  if (!failed) return;
  nlohmann::json error = error_value(verdict.error());
  error["timestamp"] = unix_ms();
  const std::string args = dump(nlohmann::json::array({std::move(error)}));
  std::string text;
  text.reserve(event_encoded_size(socket.ns(), "error", args, 0, std::nullopt));
  if (Status s = append_event(socket.ns(), "error", args, 0, std::nullopt, text); !s.ok()) return;
  bump(shard_.server().counters().error_events_out);
  send_text(std::move(text));
}

void Connection::on_emit(Socket& socket, const internal::EmitToSocket& emit) {
  if (!socket.connected_ || closing_) return;
  SocketServer& server = shard_.server();
  const std::string_view args =
      emit.args_json().empty() ? std::string_view("[]") : std::string_view(emit.args_json());
  const auto attachments = static_cast<uint32_t>(emit.attachments_size());
  std::optional<uint64_t> ack_id;
  if (emit.request_id() != 0) ack_id = socket.next_ack_id_;
  std::string text;
  text.reserve(event_encoded_size(socket.ns(), emit.event(), args, attachments, ack_id));
  if (Status s = append_event(socket.ns(), emit.event(), args, attachments, ack_id, text);
      !s.ok()) {
    bump(server.counters().encode_failures);
    log::write_limited("bad_emit", 10, log::Level::kWarn, kLog, "emit dropped",
                       {{"error", s.to_string()}, {"event", emit.event()}});
    // The broker still waits for an answer.
    if (emit.request_id() != 0) shard_.send_to_broker(timed_out_ack(socket, emit.request_id()));
    return;
  }
  if (emit.request_id() != 0) {
    socket.acks_.push_back({socket.next_ack_id_++, emit.request_id()});
    shard_.watch_ack(socket.id(), socket.acks_.back().ack_id);
  }
  bump(server.counters().emits_out);
  send_text(std::move(text), {emit.attachments().begin(), emit.attachments().end()});
}

void Connection::on_room_change(Socket& socket, const internal::RoomChange& change) {
  if (!socket.connected_ || closing_) return;
  edge::ShardAdapter& rooms = shard_.rooms();
  for (const auto& room : change.join()) rooms.join(socket, room);
  for (const auto& room : change.leave()) rooms.leave(socket, room);
}

void Connection::server_disconnect(Socket& socket, bool close_connection) {
  if (closing_) return;
  bump(shard_.server().counters().server_disconnects);
  if (!close_connection) {
    // socket.ts disconnect(false): DISCONNECT packet, the connection stays.
    if (socket.connected_) {
      Packet packet;
      packet.type = PacketType::kDisconnect;
      packet.nsp = socket.ns();
      send_packet(packet);
    }
    return remove_socket(socket, kServerNamespaceDisconnect);
  }
  // client.ts _disconnect(): every namespace gets its DISCONNECT, then the transport closes.
  while (!sockets_.empty()) {
    Socket& s = sockets_.front();
    if (s.connected_) {
      Packet packet;
      packet.type = PacketType::kDisconnect;
      packet.nsp = s.ns();
      send_packet(packet);
      remove_socket(s, kServerNamespaceDisconnect);
    } else {
      remove_socket(s, kForcedServerClose);
    }
  }
  close_session(kForcedServerClose);
}

void Connection::on_connect_timeout() {
  connect_watch_ = 0;  // the shard dropped the watch
  if (closing_) return;
  // client.ts: no namespace joined within connectTimeout → close.
  bump(shard_.server().counters().connect_timeouts);
  close_session(kForcedServerClose);
}

void Connection::on_ack_timeout(Socket& socket, uint64_t ack_id) {
  auto it = std::find_if(socket.acks_.begin(), socket.acks_.end(),
                         [&](const Socket::PendingAck& a) { return a.ack_id == ack_id; });
  if (it == socket.acks_.end()) return;  // answered meanwhile
  const uint64_t request_id = it->request_id;
  socket.acks_.erase(it);
  bump(shard_.server().counters().ack_timeouts);
  shard_.send_to_broker(timed_out_ack(socket, request_id));
}

void Connection::on_close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  if (connect_watch_ != 0) {
    shard_.unwatch_connect(connect_watch_);
    connect_watch_ = 0;
  }
  binary_.reset();
  remove_all(reason);
  bump(shard_.server().counters().connections_closed);
}

bool Connection::busy() const {
  for (const auto& s : sockets_) {
    if (s.verdicts_pending_ > 0 || !s.acks_.empty()) return true;
  }
  return false;
}

void Connection::violation(Violation kind, std::string_view detail) {
  SioCounters& c = shard_.server().counters();
  std::string_view reason = kParseError;
  switch (kind) {
    case Violation::kBadPacket:
      bump(c.bad_packets);
      break;
    case Violation::kBinarySequence:
      bump(c.binary_sequence_errors);
      break;
    case Violation::kReservedEvent:
      bump(c.reserved_events);
      break;
    case Violation::kInvalidState:
      bump(c.invalid_state);
      reason = kForcedServerClose;  // client.ts ondecoded: "invalid state" → close()
      break;
  }
  log::write_limited("sio_violation", 10, log::Level::kDebug, kLog, "closing connection",
                     {{"session", session_.id()},
                      {"reason", std::string(reason)},
                      {"detail", std::string(detail)}});
  close_session(reason);
}

void Connection::close_session(std::string_view reason) {
  if (closing_) return;
  closing_ = true;
  // The Engine.IO layer calls on_close(reason), which says goodbye to the broker.
  session_.close(reason);
}

void Connection::remove_socket(Socket& socket, std::string_view reason) {
  if (socket.connected_) {
    // Nobody will answer these: tell the broker now rather than at the timeout.
    for (const auto& a : socket.acks_) shard_.send_to_broker(timed_out_ack(socket, a.request_id));
    socket.acks_.clear();
  }
  if (!reason.empty()) shard_.send_to_broker(session_close(socket, reason));
  if (socket.ns_gauge_ != nullptr) {
    socket.ns_gauge_->fetch_sub(1, std::memory_order_relaxed);
    socket.ns_gauge_ = nullptr;
  }
  shard_.rooms().remove_socket(socket);
  sockets_.remove_if([&](const Socket& s) { return &s == &socket; });
}

void Connection::remove_all(std::string_view reason) {
  while (!sockets_.empty()) remove_socket(sockets_.front(), reason);
}

eio::SendResult Connection::send_text(std::string text, std::vector<std::string> binaries) {
  auto message = std::make_shared<eio::OutboundMessage>();
  message->text = std::move(text);
  message->binaries = std::move(binaries);
  eio::seal_message(*message);
  return session_.send(message);
}

void Connection::send_packet(const Packet& packet, std::vector<std::string> binaries) {
  send_text(encode_packet(packet), std::move(binaries));
}

void Connection::send_connect_error(std::string_view ns, std::string data_json) {
  Packet packet;
  packet.type = PacketType::kConnectError;
  packet.nsp = std::string(ns);
  packet.data_json = std::move(data_json);
  send_packet(packet);
}

}  // namespace herald::sio
