// One HTTP/1.1 connection: Beast parses requests; this routes them to the Engine.IO endpoint
// (handshake, polling GET/POST, websocket upgrade), extra routes or static files, and writes
// responses in order. A request for a session of another shard moves the connection there.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "edge/engineio/eio_session.h"
#include "edge/engineio/handshake.h"
#include "edge/engineio/timer_wheel.h"
#include "edge/transport/shard.h"

namespace herald::edge {

class HttpConnection final : public std::enable_shared_from_this<HttpConnection>,
                             public PollResponder,
                             private eio::WheelTimer {
 public:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  HttpConnection(Shard& shard, TcpSocket socket, ConnectionSlot slot);
  ~HttpConnection();

  void start();
  // A connection whose socket is not the client's (TLS pump): the client's address and that it
  // came over TLS, for the Engine.IO handshake info.
  void set_peer(std::string remote_address, bool secure) {
    peer_address_ = std::move(remote_address);
    secure_ = secure;
  }
  // Continues a connection handed over by another shard with its parsed request header.
  void resume(boost::beast::flat_buffer buffer, std::unique_ptr<Parser> parser);

  // Answers the held polling GET (text/plain; charset=UTF-8).
  void respond_poll(std::string body) override;
  // The session no longer holds this GET; `status` 0: just forget, else answer with it.
  void release_poll(unsigned status) override;

 private:
  struct Query;

  void read_header();
  void on_header(const boost::system::error_code& ec);
  void dispatch();
  void handle_engine(std::string_view path, std::string_view query);
  void handle_other(std::string_view method, std::string_view target);
  void handle_post(EioSession& session);
  void on_body(const boost::system::error_code& ec);
  void handle_upgrade(EioSession* session, std::map<std::string, std::string> query);
  // What the layers above learn of the current request: selected headers, query, peer, TLS.
  eio::HandshakeInfo handshake_info(const std::map<std::string, std::string>& query);
  void engine_error(eio::ErrorCode code, bool upgrade);
  void upgrade_error(std::string_view message);
  void migrate(uint32_t shard);
  // Cluster mode: a polling request for a session of another edge (ServerContext::forwarder).
  void forward_request(std::string_view edge_tag, std::string sid, std::string_view query);
  void send_forward(std::string_view edge_tag, ForwardedRequest request);
  void on_forward_reply(uint64_t seq, ForwardedResponse response);
  void cancel_forward();

  // Writes a response; Content-Length and Connection are added here. The CORS headers of the
  // current request are added for the Engine.IO endpoint.
  void respond(unsigned status, std::string_view content_type, std::string body,
               std::string_view extra_headers = {}, bool keep_alive = true);
  void write_raw(std::string data, bool keep_alive);
  void on_write(const boost::system::error_code& ec, bool keep_alive);
  void request_done();
  void close_socket();
  void linger();
  void on_timer() override;

  Shard* shard_;
  TcpSocket socket_;
  std::string peer_address_;  // set_peer: overrides the socket's remote endpoint
  bool secure_ = false;
  ConnectionSlot slot_;
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<Parser> parser_;
  std::string out_;
  std::string cors_headers_;              // for the request being answered
  EioSession* parked_for_ = nullptr;      // the session holding this GET
  std::shared_ptr<EioSession> post_for_;  // the session whose POST body is being read
  bool reading_ = false;                  // a header read is in flight
  bool busy_ = false;     // a request is being answered (held GET, body read, write)
  bool pending_ = false;  // a complete header waits for the current request to finish
  bool keep_alive_ = true;
  bool closed_ = false;
  bool lingering_ = false;
  bool body_unread_ = false;  // the current request's body was not read
  uint64_t forward_ = 0;      // PollForwarder handle of the forwarded request awaiting its reply
  uint64_t forward_seq_ = 0;  // tells a late reply of an earlier forwarded request apart
};

}  // namespace herald::edge
