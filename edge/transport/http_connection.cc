// HTTP connection: request routing for the Engine.IO endpoint, extra routes and static files.
#include "edge/transport/http_connection.h"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <limits>
#include <map>

#include "common/ids.h"
#include "common/log/log.h"
#include "edge/engineio/eio_session.h"
#include "edge/engineio/websocket_connection.h"
#include "edge/transport/http_request.h"
#include "edge/websocket/handshake.h"

namespace herald::edge {
namespace {

namespace http = boost::beast::http;
using std::chrono::milliseconds;

constexpr milliseconds kLingerTimeout{1000};
// A forwarded polling request is answered by the owner within a ping interval (a held GET gets
// the ping); past this much more the owner is taken for gone and the sid for unknown.
constexpr milliseconds kForwardSlack{2000};

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

// An fd in flight between shards: closed if the target shard never runs the handover.
struct OwnedFd {
  int fd = -1;
  explicit OwnedFd(int f) : fd(f) {}
  OwnedFd(OwnedFd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  OwnedFd& operator=(OwnedFd&&) = delete;
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

}  // namespace

HttpConnection::HttpConnection(Shard& shard, TcpSocket socket, ConnectionSlot slot)
    : shard_(&shard), socket_(std::move(socket)), slot_(std::move(slot)) {}

HttpConnection::~HttpConnection() = default;

void HttpConnection::start() {
  read_header();
}

void HttpConnection::resume(boost::beast::flat_buffer buffer, std::unique_ptr<Parser> parser) {
  buffer_ = std::move(buffer);
  parser_ = std::move(parser);
  dispatch();
}

void HttpConnection::read_header() {
  if (reading_ || closed_) return;
  parser_ = std::make_unique<Parser>();
  parser_->header_limit(shard_->config().max_http_header_bytes);
  // The body limit is set where a body is read (polling POST): the parser would otherwise
  // refuse an over-long Content-Length with the header, before we can answer 413.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  reading_ = true;
  if (!busy_) {
    const EdgeConfig& cfg = shard_->config();
    shard_->wheel().schedule(*this, milliseconds(cfg.ping_interval_ms + cfg.ping_timeout_ms));
  }
  http::async_read_header(socket_, buffer_, *parser_,
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t) { self->on_header(ec); });
}

void HttpConnection::on_header(const boost::system::error_code& ec) {
  reading_ = false;
  if (closed_) return;
  if (ec && forward_ != 0) {
    // The client went away (or broke the protocol) while its forwarded request is pending.
    close_socket();
    return;
  }
  if (ec) {
    if (parked_for_ != nullptr) {
      const auto session = std::exchange(parked_for_, nullptr)->shared_from_this();
      session->on_poll_aborted(*this);
    }
    const bool normal = ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
                        ec == boost::asio::error::connection_reset ||
                        ec == boost::asio::error::operation_aborted ||
                        ec == http::error::partial_message;
    if (normal || busy_) {
      if (busy_) {
        keep_alive_ = false;  // finish the response being written, then close
      } else {
        close_socket();
      }
      return;
    }
    ShardCounters::add(shard_->counters().bad_requests);
    log::write_limited("http.parse", 5, log::Level::kDebug, "edge", "bad HTTP request",
                       {{"error", ec.message()}});
    cors_headers_.clear();
    if (ec == http::error::header_limit) {
      respond(431, "text/plain; charset=utf-8", "Request Header Fields Too Large", {}, false);
    } else {
      respond(400, "text/plain; charset=utf-8", "Bad Request", {}, false);
    }
    return;
  }
  if (busy_) {
    pending_ = true;  // pipelined behind a held GET: answered after it
    return;
  }
  dispatch();
}

void HttpConnection::dispatch() {
  cancel_timer();
  busy_ = true;
  pending_ = false;
  cors_headers_.clear();
  auto& req = parser_->get();
  keep_alive_ = req.keep_alive();
  // A body we do not read would be taken for the next request: close after answering.
  body_unread_ = !parser_->is_done();
  const std::string_view target = req.target();
  const RequestTarget parts = split_target(target);
  const std::string& engine_path = shard_->config().path;
  // engine.io matches the path as a prefix of the URL.
  if (target.substr(0, engine_path.size()) == engine_path) {
    handle_engine(parts.path, parts.query);
  } else {
    handle_other(req.method_string(), target);
  }
}

void HttpConnection::handle_engine(std::string_view /*path*/, std::string_view query_text) {
  auto& req = parser_->get();
  ServerContext& server = shard_->server();
  const EdgeConfig& cfg = server.config;
  EngineRoute route = route_engine_request(req, query_text, cfg, server.cors);
  cors_headers_ = std::move(route.cors_headers);
  const bool upgrade = route.upgrade;
  switch (route.kind) {
    case EngineRoute::Kind::kError:
      engine_error(route.error, upgrade);
      return;
    case EngineRoute::Kind::kPreflight:
      respond(204, {}, {});
      return;
    case EngineRoute::Kind::kSession:
    case EngineRoute::Kind::kHandshake:
      break;
  }
  auto& query = route.query;
  const std::string_view transport = route.transport;
  const std::string_view sid = route.sid;
  if (route.kind == EngineRoute::Kind::kSession) {
    const auto parts = parse_id(sid);
    if (parts && parts->edge_tag != server.edge_tag && server.forwarder != nullptr) {
      if (upgrade) {
        // The websocket would have to be served by the owner: refused, the client keeps polling
        // (docs/cluster.md: route upgrades to the owner in the load balancer).
        ShardCounters::add(shard_->counters().bad_requests);
        upgrade_error(eio::error_message(eio::ErrorCode::kUnknownSid));
        return;
      }
      forward_request(parts->edge_tag, std::string(sid), query_text);
      return;
    }
    if (parts && parts->edge_tag == server.edge_tag && parts->shard != shard_->index() &&
        parts->shard < server.shards.size()) {
      migrate(parts->shard);
      return;
    }
    EioSession* session = shard_->find_session(sid);
    if (session == nullptr) {
      engine_error(eio::ErrorCode::kUnknownSid, upgrade);
      return;
    }
    // Calls below may close the session and drop the table's reference.
    const std::shared_ptr<EioSession> keep = session->shared_from_this();
    if (upgrade) {
      if (transport != "websocket" || session->upgrade_refused() || !session->is_open() ||
          session->transport_kind() != EioSession::TransportKind::kPolling) {
        ShardCounters::add(shard_->counters().bad_requests);
        upgrade_error(eio::error_message(eio::ErrorCode::kBadRequest));
        return;
      }
      handle_upgrade(session, std::move(query));
      return;
    }
    if (session->transport() != transport) {  // "TRANSPORT_MISMATCH"
      engine_error(eio::ErrorCode::kBadRequest, false);
      return;
    }
    if (req.method() == http::verb::get) {
      parked_for_ = session;
      if (!session->on_poll(shared_from_this())) {
        parked_for_ = nullptr;
        ShardCounters::add(shard_->counters().bad_requests);
        respond(400, {}, {});
        return;
      }
      if (parked_for_ != nullptr) read_header();  // held: notice if the client goes away
    } else if (req.method() == http::verb::post) {
      handle_post(*session);
    } else {
      respond(500, {}, {});
    }
    return;
  }
  // Handshake. The session's place is taken here, before it exists (Shard::add_session counts
  // nothing): a check-then-add would let every shard pass at max_connections − 1 at once.
  if (server.sessions.fetch_add(1, std::memory_order_relaxed) >= cfg.max_connections) {
    server.sessions.fetch_sub(1, std::memory_order_relaxed);
    ShardCounters::add(shard_->counters().connections_refused);
    log::write_limited("eio.capacity", 1, log::Level::kWarn, "edge",
                       "max_connections reached, refusing handshake",
                       {{"max_connections", cfg.max_connections}});
    respond(503, "application/json", R"({"code":503,"message":"Too many connections"})",
            "Retry-After: 5\r\n", !upgrade);
    return;
  }
  if (transport == "websocket") {
    handle_upgrade(nullptr, std::move(query));
    return;
  }
  eio::HandshakeInfo info = handshake_info(query);
  auto session = std::make_shared<EioSession>(*shard_, make_id(server.edge_tag, shard_->index()),
                                              std::move(info), EioSession::TransportKind::kPolling);
  session->open(nullptr);
  parked_for_ = session.get();
  if (!session->on_poll(shared_from_this())) parked_for_ = nullptr;
  if (parked_for_ != nullptr) read_header();
}

void HttpConnection::handle_post(EioSession& session) {
  auto& req = parser_->get();
  const EdgeConfig& cfg = shard_->config();
  if (req[http::field::content_type] == "application/octet-stream") {  // "invalid content"
    session.fail("transport error");
    ShardCounters::add(shard_->counters().bad_requests);
    respond(400, {}, {}, {}, false);
    return;
  }
  if (!session.begin_post()) {
    ShardCounters::add(shard_->counters().bad_requests);
    respond(400, {}, {}, {}, false);
    return;
  }
  const auto length = parser_->content_length();
  if (length && *length > cfg.max_payload) {
    session.abort_post();
    session.fail("transport error");
    ShardCounters::add(shard_->counters().payload_too_large);
    respond(413, {}, {}, {}, false);
    return;
  }
  post_for_ = session.shared_from_this();
  parser_->body_limit(cfg.max_payload);
  shard_->wheel().schedule(*this, milliseconds(cfg.ping_interval_ms + cfg.ping_timeout_ms));
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                     self->on_body(ec);
                   });
}

void HttpConnection::on_body(const boost::system::error_code& ec) {
  cancel_timer();
  std::shared_ptr<EioSession> session = std::move(post_for_);
  if (closed_) {
    if (session) {
      session->abort_post();
      session->fail("transport error");
    }
    return;
  }
  if (ec) {
    if (session) session->abort_post();
    if (ec == http::error::body_limit) {
      if (session) session->fail("transport error");
      ShardCounters::add(shard_->counters().payload_too_large);
      respond(413, {}, {}, {}, false);
      return;
    }
    // "data request connection closed prematurely"
    if (session) session->fail("transport error");
    close_socket();
    return;
  }
  if (!session || session->is_closed()) {
    engine_error(eio::ErrorCode::kUnknownSid, false);
    return;
  }
  body_unread_ = false;
  std::string body = std::move(parser_->get().body());
  session->end_post(body);
  // text/html rather than text/plain avoids a download dialog on some user agents (engine.io).
  respond(200, "text/html", "ok", "Cache-Control: no-store\r\n");
}

eio::HandshakeInfo HttpConnection::handshake_info(const std::map<std::string, std::string>& query) {
  eio::StringPairs query_pairs;
  for (const auto& [name, value] : query) query_pairs.add(name, value);
  std::string remote_address;
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  if (!peer_address_.empty()) {
    remote_address = peer_address_;  // TLS: the client behind the terminator
  } else if (!ec) {
    remote_address = remote.address().is_v6()
                         ? "[" + remote.address().to_string() + "]:" + std::to_string(remote.port())
                         : remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  return eio::HandshakeInfo(selected_headers(parser_->get()).view(), query_pairs.view(),
                            remote_address, secure_);
}

void HttpConnection::handle_upgrade(EioSession* session, std::map<std::string, std::string> query) {
  auto& req = parser_->get();
  const ws::HandshakeRequest hr = websocket_handshake_request(req);
  auto accept = ws::check_handshake(hr);
  if (!accept.ok()) {
    // A new session's place was taken by the handshake: give it back.
    if (session == nullptr) shard_->server().sessions.fetch_sub(1, std::memory_order_relaxed);
    ShardCounters::add(shard_->counters().bad_requests);
    write_raw(ws::make_rejection_response(accept.status()), false);
    return;
  }
  eio::HandshakeInfo info;
  if (session == nullptr) info = handshake_info(query);
  const auto data = buffer_.data();
  std::string initial(static_cast<const char*>(data.data()), data.size());
  cancel_timer();
  closed_ = true;
  parser_.reset();
  auto connection =
      std::make_shared<WebSocketConnection>(*shard_, std::move(socket_), std::move(slot_));
  // The 101 leaves in the same write as the first frame (the open packet of a new session):
  // one syscall and one TCP segment fewer per connect.
  connection->enqueue(eio::OutItem::raw(ws::make_accept_response(*accept, cors_headers_)));
  if (session == nullptr) {
    auto created =
        std::make_shared<EioSession>(*shard_, make_id(shard_->server().edge_tag, shard_->index()),
                                     std::move(info), EioSession::TransportKind::kWebSocket);
    created->open(connection);
  } else {
    session->begin_upgrade(connection);
  }
  connection->flush();
  connection->start(initial);
}

void HttpConnection::engine_error(eio::ErrorCode code, bool upgrade) {
  ShardCounters::add(shard_->counters().bad_requests);
  if (upgrade) {
    upgrade_error(eio::error_message(code));
    return;
  }
  respond(static_cast<unsigned>(eio::error_http_status(code)), "application/json",
          eio::error_body(code));
}

void HttpConnection::upgrade_error(std::string_view message) {
  // engine.io's abortUpgrade: always 400, the message as text/html.
  std::string out = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\n";
  out += "Content-Length: " + std::to_string(message.size()) + "\r\n\r\n";
  out += message;
  write_raw(std::move(out), false);
}

void HttpConnection::handle_other(std::string_view method, std::string_view target) {
  ServerContext& server = shard_->server();
  const bool head = method == "HEAD";
  std::optional<HttpResponse> response;
  if (server.extra) response = server.extra(method, target);
  if (!response && server.statics.enabled() && (method == "GET" || head)) {
    response = server.statics.serve(target.substr(0, target.find('?')));
  }
  if (!response) {
    response = HttpResponse{404, "text/plain; charset=utf-8", "Not Found", {}};
  }
  std::string extra;
  for (const auto& [name, value] : response->headers) extra += name + ": " + value + "\r\n";
  if (head) {
    extra += "Content-Length: " + std::to_string(response->body.size()) + "\r\n";
    std::string out = "HTTP/1.1 " + std::to_string(response->status) + " " +
                      std::string(reason_phrase(response->status)) + "\r\n";
    out += "Content-Type: " + response->content_type + "\r\n" + extra;
    if (!keep_alive_) out += "Connection: close\r\n";
    out += "\r\n";
    write_raw(std::move(out), keep_alive_);
    return;
  }
  respond(response->status, response->content_type, std::move(response->body), extra);
}

void HttpConnection::respond_poll(std::string body) {
  parked_for_ = nullptr;
  if (closed_) return;
  respond(200, "text/plain; charset=UTF-8", std::move(body), "Cache-Control: no-store\r\n");
}

void HttpConnection::release_poll(unsigned status) {
  parked_for_ = nullptr;
  if (status != 0 && !closed_) respond(status, {}, {});
}

void HttpConnection::respond(unsigned status, std::string_view content_type, std::string body,
                             std::string_view extra_headers, bool keep_alive) {
  keep_alive = keep_alive && keep_alive_ && !body_unread_;
  std::string out;
  out.reserve(160 + cors_headers_.size() + extra_headers.size() + body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  if (status != 204) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += cors_headers_;
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  write_raw(std::move(out), keep_alive);
}

void HttpConnection::write_raw(std::string data, bool keep_alive) {
  if (closed_) return;
  busy_ = true;
  out_ = std::move(data);
  boost::asio::async_write(
      socket_, boost::asio::buffer(out_),
      [self = shared_from_this(), keep_alive](const boost::system::error_code& ec, std::size_t) {
        self->on_write(ec, keep_alive);
      });
}

void HttpConnection::on_write(const boost::system::error_code& ec, bool keep_alive) {
  std::string().swap(out_);
  busy_ = false;
  if (closed_) return;
  if (ec) {
    close_socket();
    return;
  }
  if (!keep_alive || !keep_alive_) {
    // Linger: closing with unread request bytes would reset the connection and could destroy
    // the response before the client reads it (a 413 sent before the body was read).
    boost::system::error_code ignored;
    socket_.shutdown(TcpSocket::shutdown_send, ignored);
    lingering_ = true;
    shard_->wheel().schedule(*this, kLingerTimeout);
    linger();
    return;
  }
  request_done();
}

void HttpConnection::linger() {
  socket_.async_wait(
      TcpSocket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->closed_) {
          self->close_socket();
          return;
        }
        const std::span<char> buf = self->shard_->read_buffer();
        const ssize_t n =
            ::recv(self->socket_.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) {
          self->linger();
        } else {
          self->close_socket();
        }
      });
}

void HttpConnection::request_done() {
  if (pending_) {
    dispatch();
  } else if (!reading_) {
    read_header();
  } else {
    const EdgeConfig& cfg = shard_->config();
    shard_->wheel().schedule(*this, milliseconds(cfg.ping_interval_ms + cfg.ping_timeout_ms));
  }
}

void HttpConnection::migrate(uint32_t target) {
  ShardCounters::add(shard_->counters().migrated_requests);
  cancel_timer();
  closed_ = true;
  busy_ = false;
  boost::system::error_code ec;
  const Tcp protocol = socket_.local_endpoint(ec).protocol();
  if (ec) {
    close_socket();
    return;
  }
  OwnedFd fd(socket_.release(ec));
  if (ec) {
    close_socket();
    return;
  }
  Shard& dst = *shard_->server().shards[target];
  boost::asio::post(dst.io(), [&dst, protocol, fd = std::move(fd), buffer = std::move(buffer_),
                               parser = std::move(parser_), slot = std::move(slot_),
                               peer = std::move(peer_address_), secure = secure_]() mutable {
    TcpSocket socket(dst.io());
    boost::system::error_code e;
    socket.assign(protocol, fd.fd, e);
    if (e) return;  // fd closed by OwnedFd
    fd.release();
    socket.non_blocking(true, e);
    auto connection = std::make_shared<HttpConnection>(dst, std::move(socket), std::move(slot));
    connection->set_peer(std::move(peer), secure);
    connection->resume(std::move(buffer), std::move(parser));
  });
}

void HttpConnection::forward_request(std::string_view edge_tag, std::string sid,
                                     std::string_view query) {
  auto& req = parser_->get();
  ForwardedRequest request;
  request.sid = std::move(sid);
  request.method = std::string(req.method_string());
  request.query = std::string(query);
  request.content_type = std::string(req[http::field::content_type]);
  std::string tag(edge_tag);
  if (req.method() != http::verb::post) {
    send_forward(tag, std::move(request));
    return;
  }
  const EdgeConfig& cfg = shard_->config();
  const auto length = parser_->content_length();
  if (length && *length > cfg.max_payload) {
    ShardCounters::add(shard_->counters().payload_too_large);
    respond(413, {}, {}, {}, false);
    return;
  }
  parser_->body_limit(cfg.max_payload);
  shard_->wheel().schedule(*this, milliseconds(cfg.ping_interval_ms + cfg.ping_timeout_ms));
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this(), tag = std::move(tag), request = std::move(request)](
                       const boost::system::error_code& ec, std::size_t) mutable {
                     self->cancel_timer();
                     if (self->closed_) return;
                     if (ec) {
                       if (ec == http::error::body_limit) {
                         ShardCounters::add(self->shard_->counters().payload_too_large);
                         self->respond(413, {}, {}, {}, false);
                       } else {
                         self->close_socket();
                       }
                       return;
                     }
                     self->body_unread_ = false;
                     request.body = std::move(self->parser_->get().body());
                     self->send_forward(tag, std::move(request));
                   });
}

void HttpConnection::send_forward(std::string_view edge_tag, ForwardedRequest request) {
  const uint64_t seq = ++forward_seq_;
  boost::asio::io_context& io = shard_->io();
  // The reply may come on any thread, even before forward() returns: it is posted here.
  const uint64_t handle = shard_->server().forwarder->forward(
      edge_tag, std::move(request),
      [self = shared_from_this(), &io, seq](ForwardedResponse response) {
        boost::asio::post(io, [self, seq, response = std::move(response)]() mutable {
          self->on_forward_reply(seq, std::move(response));
        });
      });
  if (handle == 0) {  // no live edge has that tag
    engine_error(eio::ErrorCode::kUnknownSid, false);
    return;
  }
  forward_ = handle;
  ShardCounters::add(shard_->counters().forwarded_out);
  const EdgeConfig& cfg = shard_->config();
  shard_->wheel().schedule(
      *this, milliseconds(cfg.ping_interval_ms + cfg.ping_timeout_ms) + kForwardSlack);
  read_header();  // notice if the client goes away meanwhile
}

void HttpConnection::on_forward_reply(uint64_t seq, ForwardedResponse response) {
  if (seq != forward_seq_ || forward_ == 0 || closed_) return;
  forward_ = 0;
  cancel_timer();
  std::string extra;
  for (const auto& [name, value] : response.headers) extra += name + ": " + value + "\r\n";
  respond(response.status, response.content_type, std::move(response.body), extra);
}

void HttpConnection::cancel_forward() {
  if (forward_ == 0) return;
  shard_->server().forwarder->cancel(std::exchange(forward_, 0));
}

void HttpConnection::close_socket() {
  cancel_forward();
  if (parked_for_ != nullptr) {
    const auto session = std::exchange(parked_for_, nullptr)->shared_from_this();
    session->on_poll_aborted(*this);
  }
  if (closed_ && !socket_.is_open()) return;
  closed_ = true;
  cancel_timer();
  boost::system::error_code ec;
  socket_.close(ec);
}

void HttpConnection::on_timer() {
  auto self = shared_from_this();
  if (forward_ != 0) {
    // The owner did not answer: it is gone, and so is the session.
    cancel_forward();
    engine_error(eio::ErrorCode::kUnknownSid, false);
    return;
  }
  // Idle keep-alive, a slow request, or the end of a lingering close.
  close_socket();
}

}  // namespace herald::edge
