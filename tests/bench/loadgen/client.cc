// Websocket and long-polling Socket.IO client connections for herald-loadgen (see client.h).
#include "tests/bench/loadgen/client.h"

#include <netinet/in.h>
#include <openssl/hmac.h>

#include <charconv>
#include <ctime>

namespace herald::bench {

namespace {

constexpr std::size_t kMaxHttpHeader = 16384;

void bind_source(tcp::socket& s, const asio::ip::address_v4& src, boost::system::error_code& ec) {
  s.open(tcp::v4(), ec);
  if (ec || src.is_unspecified()) return;
  // Defer the port choice to connect(): each source address then has its own ephemeral range
  // per destination, which is what lets 100k connections reach one server port.
  int one = 1;
  ::setsockopt(s.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  s.bind(tcp::endpoint(src, 0), ec);
}

std::string base64url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

// --- websocket ---------------------------------------------------------------------------------

class WsConnection final : public Connection {
 public:
  WsConnection(Worker& w, const Target& t, Listener& l, std::uint32_t i)
      : Connection(w, t, l, i), socket_(w.io), mask_state_(i * 2654435761u + 1) {}

  void start(const ConnectionOptions& o) override {
    token_ = o.token;
    t_start = now_ns();
    boost::system::error_code ec;
    bind_source(socket_, o.source_address, ec);
    if (ec) return fail("socket/bind: " + ec.message());
    socket_.async_connect(target_.endpoint, [this](boost::system::error_code e) {
      if (done_) return;
      if (e) return fail("connect: " + e.message());
      boost::system::error_code ignored;
      socket_.set_option(tcp::no_delay(true), ignored);
      socket_.non_blocking(true, ignored);
      pending_ += "GET " + target_.path +
                  "?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + target_.host +
                  "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n";
      flush();
      wait_readable();
    });
  }

  void close() override {
    done_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 protected:
  void send_packet(std::string_view packet) override {
    if (done_) return;
    mask_state_ ^= mask_state_ << 13;
    mask_state_ ^= mask_state_ >> 17;
    mask_state_ ^= mask_state_ << 5;
    std::array<std::uint8_t, 4> mask{};
    for (int k = 0; k < 4; ++k) mask[k] = static_cast<std::uint8_t>(mask_state_ >> (8 * k));
    ws::encode_masked_frame(pending_, ws::Opcode::kText, packet, mask);
    flush();
  }

 private:
  void flush() {
    if (writing_ || pending_.empty() || done_) return;
    out_.swap(pending_);
    pending_.clear();
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_), [this](boost::system::error_code e, size_t) {
      writing_ = false;
      if (done_) return;
      if (e) return fail("write: " + e.message());
      out_.clear();
      flush();
    });
  }

  void wait_readable() {
    socket_.async_wait(tcp::socket::wait_read, [this](boost::system::error_code e) {
      if (done_) return;
      if (e) return fail("wait: " + e.message());
      on_readable();
    });
  }

  void on_readable() {
    auto& buf = worker_.read_buffer;
    for (int round = 0; round < 8; ++round) {
      boost::system::error_code e;
      std::size_t n = socket_.read_some(asio::buffer(buf.data(), buf.size()), e);
      if (e == asio::error::would_block || e == asio::error::try_again) break;
      if (e) return fail(e == asio::error::eof ? "server closed the connection" : e.message());
      process(std::span<char>(buf.data(), n));
      if (done_) return;
      if (n < buf.size()) break;
    }
    wait_readable();
  }

  void process(std::span<char> data) {
    if (!upgraded_) {
      handshake_.append(data.data(), data.size());
      auto end = handshake_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (handshake_.size() > kMaxHttpHeader) fail("upgrade: response header too large");
        return;
      }
      if (handshake_.compare(0, 12, "HTTP/1.1 101") != 0) {
        return fail("upgrade refused: " + handshake_.substr(0, handshake_.find("\r\n")));
      }
      upgraded_ = true;
      std::string rest = handshake_.substr(end + 4);
      handshake_ = std::string();
      if (!rest.empty()) feed(std::span<char>(rest.data(), rest.size()));
      return;
    }
    feed(data);
  }

  void feed(std::span<char> data) {
    Status st = parser_.feed(data, [this](const ws::Message& m) {
      if (done_) return;
      switch (m.opcode) {
        case ws::Opcode::kText:
          on_engineio_packet(m.payload);
          break;
        case ws::Opcode::kPing: {
          auto mask = std::array<std::uint8_t, 4>{1, 2, 3, 4};
          ws::encode_masked_frame(pending_, ws::Opcode::kPong, m.payload, mask);
          flush();
          break;
        }
        case ws::Opcode::kClose:
          fail("websocket close from server");
          break;
        default:
          break;
      }
    });
    if (!st.ok() && !done_) fail("websocket protocol error: " + std::string(st.message()));
  }

  tcp::socket socket_;
  ws::FrameParser parser_{ws::FrameParser::kDefaultMaxMessageSize, ws::Role::kClient};
  std::string handshake_;
  std::string out_, pending_;
  std::uint32_t mask_state_;
  bool writing_ = false;
  bool upgraded_ = false;
};

// --- HTTP long-polling -------------------------------------------------------------------------

// One keep-alive HTTP/1.1 connection used for one request at a time.
class HttpChannel {
 public:
  using Done = std::function<void(boost::system::error_code, int status, std::string body)>;
  explicit HttpChannel(asio::io_context& io) : socket_(io) {}

  void request(const Target& t, const asio::ip::address_v4& src, std::string req, Done done) {
    done_ = std::move(done);
    req_ = std::move(req);
    if (socket_.is_open()) return send(t);
    boost::system::error_code ec;
    bind_source(socket_, src, ec);
    if (ec) return finish(ec, 0, {});
    socket_.async_connect(t.endpoint, [this, &t](boost::system::error_code e) {
      if (e) return finish(e, 0, {});
      boost::system::error_code ignored;
      socket_.set_option(tcp::no_delay(true), ignored);
      send(t);
    });
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void send(const Target&) {
    asio::async_write(socket_, asio::buffer(req_), [this](boost::system::error_code e, size_t) {
      if (e) return finish(e, 0, {});
      read();
    });
  }
  void read() {
    // Complete response already buffered (keep-alive leftovers are not expected: one request
    // at a time).
    auto end = in_.find("\r\n\r\n");
    if (end != std::string::npos) {
      int status = 0;
      if (in_.size() > 12) std::from_chars(in_.data() + 9, in_.data() + 12, status);
      std::size_t length = 0;
      std::string_view head(in_.data(), end);
      for (std::size_t pos = 0; pos < head.size();) {
        auto nl = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
        if (line.size() > 15 && (line[0] == 'C' || line[0] == 'c')) {
          std::string lower(line.substr(0, 15));
          for (auto& ch : lower) ch = static_cast<char>(std::tolower(ch));
          if (lower == "content-length:") {
            auto v = line.substr(15);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            std::from_chars(v.data(), v.data() + v.size(), length);
          }
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 2;
      }
      if (head.find("chunked") != std::string_view::npos) {
        return finish(asio::error::operation_not_supported, status, "chunked responses");
      }
      if (in_.size() >= end + 4 + length) {
        std::string body = in_.substr(end + 4, length);
        in_.erase(0, end + 4 + length);
        return finish({}, status, std::move(body));
      }
    } else if (in_.size() > kMaxHttpHeader) {
      return finish(asio::error::message_size, 0, {});
    }
    std::size_t old = in_.size();
    in_.resize(old + 16384);
    socket_.async_read_some(asio::buffer(in_.data() + old, 16384),
                            [this, old](boost::system::error_code e, std::size_t n) {
                              in_.resize(old + n);
                              if (e) return finish(e, 0, {});
                              read();
                            });
  }
  void finish(boost::system::error_code e, int status, std::string body) {
    auto d = std::move(done_);
    done_ = nullptr;
    if (d) d(e, status, std::move(body));
  }

  tcp::socket socket_;
  std::string req_, in_;
  Done done_;
};

class PollingConnection final : public Connection {
 public:
  PollingConnection(Worker& w, const Target& t, Listener& l, std::uint32_t i)
      : Connection(w, t, l, i), get_(w.io), post_(w.io) {}

  void start(const ConnectionOptions& o) override {
    token_ = o.token;
    src_ = o.source_address;
    t_start = now_ns();
    get_.request(target_, src_, make_request("GET", ""),
                 [this](boost::system::error_code e, int status, std::string body) {
                   if (done_) return;
                   if (e || status != 200) return fail(describe("handshake", e, status, body));
                   auto p = body.find("\"sid\":\"");
                   if (body.empty() || body[0] != '0' || p == std::string::npos) {
                     return fail("handshake: unexpected body " + body.substr(0, 80));
                   }
                   sid_ = body.substr(p + 7, body.find('"', p + 7) - (p + 7));
                   on_engineio_packet(body);  // "0{...}": sends the CONNECT
                   poll();
                 });
  }

  void close() override {
    done_ = true;
    get_.close();
    post_.close();
  }

 protected:
  void send_packet(std::string_view packet) override {
    if (done_) return;
    if (!post_queue_.empty()) post_queue_ += '\x1e';
    post_queue_.append(packet);
    if (!posting_ && !sid_.empty()) do_post();
  }

 private:
  static std::string describe(std::string_view what, boost::system::error_code e, int status,
                              const std::string& body) {
    if (e) return std::string(what) + ": " + e.message();
    return std::string(what) + ": HTTP " + std::to_string(status) + " " + body.substr(0, 120);
  }

  std::string make_request(std::string_view method, std::string_view body) {
    std::string r(method);
    r += ' ';
    r += target_.path;
    r += "?EIO=4&transport=polling";
    if (!sid_.empty()) r += "&sid=" + sid_;
    r += " HTTP/1.1\r\nHost: " + target_.host + "\r\nConnection: keep-alive\r\n";
    if (method == "POST") {
      r += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n";
    }
    r += "\r\n";
    r.append(body);
    return r;
  }

  void do_post() {
    posting_ = true;
    std::string body = std::move(post_queue_);
    post_queue_.clear();
    post_.request(target_, src_, make_request("POST", body),
                  [this](boost::system::error_code e, int status, std::string resp) {
                    posting_ = false;
                    if (done_) return;
                    if (e || status != 200) return fail(describe("post", e, status, resp));
                    if (!post_queue_.empty()) do_post();
                  });
  }

  void poll() {
    if (done_) return;
    get_.request(target_, src_, make_request("GET", ""),
                 [this](boost::system::error_code e, int status, std::string body) {
                   if (done_) return;
                   if (e || status != 200) return fail(describe("poll", e, status, body));
                   std::string_view rest(body);
                   while (!rest.empty() && !done_) {
                     auto sep = rest.find('\x1e');
                     if (!on_engineio_packet(rest.substr(0, sep))) return;
                     if (sep == std::string_view::npos) break;
                     rest.remove_prefix(sep + 1);
                   }
                   poll();
                 });
  }

  HttpChannel get_, post_;
  asio::ip::address_v4 src_;
  std::string sid_;
  std::string post_queue_;
  bool posting_ = false;
};

}  // namespace

Connection::Connection(Worker& worker, const Target& target, Listener& listener,
                       std::uint32_t index)
    : worker_(worker), target_(target), listener_(listener), index_(index) {}

std::unique_ptr<Connection> Connection::create(Worker& worker, const Target& target,
                                               Listener& listener, std::uint32_t index,
                                               Transport transport) {
  if (transport == Transport::kPolling) {
    return std::make_unique<PollingConnection>(worker, target, listener, index);
  }
  return std::make_unique<WsConnection>(worker, target, listener, index);
}

void Connection::emit(std::string_view array_json, std::uint64_t ack) {
  std::string p = "42";
  if (ack != 0) p += std::to_string(ack);
  p.append(array_json);
  send_packet(p);
}

void Connection::fail(std::string_view why) {
  if (done_) return;
  close();
  connected_ = false;
  listener_.on_closed(*this, why);
}

bool Connection::on_engineio_packet(std::string_view p) {
  if (p.empty()) return true;
  switch (p[0]) {
    case '0':  // open
      t_open = now_ns();
      send_packet("40{\"token\":\"" + token_ + "\"}");
      return true;
    case '2':  // ping
      send_packet("3" + std::string(p.substr(1)));
      return true;
    case '1':
      fail("engine.io close");
      return false;
    case '6':  // noop
      return true;
    case '4':
      break;
    default:
      return true;
  }
  std::string_view s = p.substr(1);
  if (s.empty()) return true;
  char type = s[0];
  s.remove_prefix(1);
  switch (type) {
    case '0':
      if (!connected_) {
        connected_ = true;
        t_connected = now_ns();
        listener_.on_connected(*this);
      }
      return true;
    case '4':
      fail("connect_error " + std::string(s.substr(0, 200)));
      return false;
    case '1':
      fail("server disconnect");
      return false;
    case '2': {
      std::size_t i = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;  // the server wants an ack
      listener_.on_event(*this, s.substr(i));
      return true;
    }
    case '3': {
      std::uint64_t id = 0;
      std::size_t i = 0;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) id = id * 10 + (s[i] - '0');
      listener_.on_ack(*this, id, s.substr(i));
      return true;
    }
    default:
      return true;
  }
}

std::string make_token(std::string_view secret, std::string_view kid, std::string_view sub,
                       std::int64_t ttl_s) {
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::string header = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"" + std::string(kid) + "\"}";
  std::string claims = "{\"sub\":\"" + std::string(sub) + "\",\"iat\":" + std::to_string(now) +
                       ",\"exp\":" + std::to_string(now + ttl_s) + "}";
  std::string input = base64url(header) + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64url(std::string_view(reinterpret_cast<char*>(mac), len));
}

bool parse_url(std::string_view url, Target* out) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return false;
  url.remove_prefix(kScheme.size());
  auto slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  if (slash != std::string_view::npos && url.size() > slash + 1) {
    out->path = std::string(url.substr(slash));
    if (out->path.back() != '/') out->path += '/';
  }
  auto colon = hostport.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string host(hostport.substr(0, colon));
  unsigned port = 0;
  auto pv = hostport.substr(colon + 1);
  if (std::from_chars(pv.data(), pv.data() + pv.size(), port).ec != std::errc() || port > 65535) {
    return false;
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address_v4(host, ec);
  if (ec) return false;
  out->endpoint = tcp::endpoint(addr, static_cast<unsigned short>(port));
  out->host = std::string(hostport);
  return true;
}

}  // namespace herald::bench
