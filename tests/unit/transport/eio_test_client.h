// Blocking raw-socket HTTP and websocket clients for driving the Engine.IO server in tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "edge/websocket/frame.h"

namespace herald::edge::testing {

class RawConn {
 public:
  explicit RawConn(uint16_t port, int timeout_ms = 3000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool ok() const { return ok_; }
  int fd() const { return fd_; }
  void set_rcvbuf(int bytes) { ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)); }

  bool write(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Appends what arrives to `buf`; 0 on EOF, <0 on error/timeout.
  ssize_t read_some(std::string& buf) {
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n > 0) buf.append(tmp, static_cast<std::size_t>(n));
    return n;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads one response (Content-Length framed) from `conn`; `buf` keeps bytes beyond it.
inline std::optional<HttpReply> read_reply(RawConn& conn, std::string& buf) {
  std::size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (conn.read_some(buf) <= 0) return std::nullopt;
  }
  HttpReply r;
  std::string head = buf.substr(0, end);
  buf.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  r.status = std::atoi(status_line.substr(9, 3).c_str());
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    const std::string line = head.substr(pos, e - pos);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[lower(line.substr(0, colon))] = value;
    }
    pos = e + 2;
  }
  if (r.status == 101) return r;
  const std::size_t length =
      static_cast<std::size_t>(std::atoll(r.header("content-length").c_str()));
  while (buf.size() < length) {
    if (conn.read_some(buf) <= 0) return std::nullopt;
  }
  r.body = buf.substr(0, length);
  buf.erase(0, length);
  return r;
}

inline std::string make_request(std::string_view method, std::string_view target,
                                std::string_view headers = {}, std::string_view body = {}) {
  std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n";
  req += headers;
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  return req;
}

// One request on a new connection.
inline std::optional<HttpReply> http(uint16_t port, std::string_view method,
                                     std::string_view target, std::string_view headers = {},
                                     std::string_view body = {}) {
  RawConn conn(port);
  if (!conn.ok() || !conn.write(make_request(method, target, headers, body))) return std::nullopt;
  std::string buf;
  return read_reply(conn, buf);
}

struct WsFrame {
  ws::Opcode opcode;
  std::string payload;
};

class WsClient {
 public:
  explicit WsClient(uint16_t port) : conn_(port) {}

  // Sends the upgrade request (and `trailing` bytes in the same write, as if the client sent
  // frames right behind it); returns the response (101 on success).
  std::optional<HttpReply> connect(std::string_view target, std::string_view headers = {},
                                   std::string_view trailing = {}) {
    std::string req =
        "GET " + std::string(target) +
        " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    req += headers;
    req += "\r\n";
    req += trailing;
    if (!conn_.write(req)) return std::nullopt;
    auto reply = read_reply(conn_, buf_);
    if (reply && reply->status == 101) feed();
    return reply;
  }

  bool send(ws::Opcode op, std::string_view payload) {
    std::string frame;
    ws::encode_masked_frame(frame, op, payload, {0x12, 0x34, 0x56, 0x78});
    return conn_.write(frame);
  }
  bool send_text(std::string_view s) { return send(ws::Opcode::kText, s); }

  // Next frame, or nullopt on timeout / EOF.
  std::optional<WsFrame> read() {
    while (frames_.empty()) {
      if (conn_.read_some(buf_) <= 0) return std::nullopt;
      feed();
    }
    WsFrame f = std::move(frames_.front());
    frames_.pop_front();
    return f;
  }
  // Next text frame that is not a ping ("2"), answering pings when `pong`.
  std::optional<std::string> read_text(bool pong = true) {
    for (;;) {
      auto f = read();
      if (!f) return std::nullopt;
      if (f->opcode != ws::Opcode::kText)
        return "<" + std::string(ws::opcode_name(f->opcode)) + ">" + f->payload;
      if (f->payload == "2") {
        if (pong) send_text("3");
        continue;
      }
      return f->payload;
    }
  }
  // True once the server closed the TCP connection.
  bool wait_eof() {
    for (;;) {
      const ssize_t n = conn_.read_some(buf_);
      if (n == 0) return true;
      if (n < 0) return false;
      buf_.clear();
    }
  }
  RawConn& raw() { return conn_; }

 private:
  void feed() {
    std::span<char> input(buf_.data(), buf_.size());
    for (;;) {
      auto r = parser_.next(input);
      if (!r.ok() || !r->has_value()) break;
      frames_.push_back(WsFrame{(*r)->opcode, std::string((*r)->payload)});
    }
    buf_.erase(0, buf_.size() - input.size());
  }

  RawConn conn_;
  std::string buf_;
  ws::FrameParser parser_{64u << 20, ws::Role::kClient};
  std::deque<WsFrame> frames_;
};

}  // namespace herald::edge::testing
