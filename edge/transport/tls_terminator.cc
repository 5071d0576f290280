// TlsTerminator and the per-connection TLS pump (see tls_terminator.h for why a socketpair).
#include "edge/transport/tls_terminator.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "common/log/log.h"
#include "edge/transport/http_connection.h"
#include "edge/transport/shard.h"

namespace herald::edge {

namespace ssl = boost::asio::ssl;
using LocalSocket = boost::asio::basic_stream_socket<boost::asio::local::stream_protocol,
                                                     boost::asio::io_context::executor_type>;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kReloadCheck = std::chrono::seconds(10);

long long mtime_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

Result<std::shared_ptr<ssl::context>> load(const EdgeTlsConfig& config) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  ctx->use_certificate_chain_file(config.cert_file, ec);
  if (ec) return invalid_argument("edge.tls.cert_file '" + config.cert_file + "': " + ec.message());
  ctx->use_private_key_file(config.key_file, ssl::context::pem, ec);
  if (ec) return invalid_argument("edge.tls.key_file '" + config.key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return invalid_argument("edge.tls: key_file does not match cert_file");
  }
  return ctx;
}

std::string peer_address(const TcpSocket& socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return {};
  return remote.address().is_v6()
             ? "[" + remote.address().to_string() + "]:" + std::to_string(remote.port())
             : remote.address().to_string() + ":" + std::to_string(remote.port());
}

// One client's TLS session: client <-TLS-> pump <-plaintext socketpair-> HttpConnection.
class TlsPump : public std::enable_shared_from_this<TlsPump> {
 public:
  TlsPump(Shard& shard, TcpSocket client, std::shared_ptr<ssl::context> context)
      : shard_(shard),
        context_(std::move(context)),
        tls_(std::move(client), *context_),
        inner_(shard.io()),
        timer_(shard.io()) {}

  void start(ConnectionSlot slot) {
    remote_ = peer_address(tls_.next_layer());
    timer_.expires_after(kHandshakeTimeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close_all();
    });
    tls_.async_handshake(
        ssl::stream_base::server, [self = shared_from_this(), slot = std::move(slot)](
                                      const boost::system::error_code& ec) mutable {
          self->timer_.cancel();
          if (ec) {
            log::write_limited("edge.tls", 5, log::Level::kDebug, "edge", "TLS handshake failed",
                               {{"error", ec.message()}, {"peer", self->remote_}});
            self->close_all();
            return;
          }
          self->on_handshake(std::move(slot));
        });
  }

 private:
  void on_handshake(ConnectionSlot slot) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      close_all();
      return;
    }
    boost::system::error_code ec;
    inner_.assign(boost::asio::local::stream_protocol(), fds[0], ec);
    TcpSocket plain(shard_.io());
    // The connection's end is a unix socket behind a TcpSocket: it only recv()s, sendmsg()s
    // and waits on it, which is the same for both families.
    plain.assign(Tcp::v4(), fds[1], ec);
    if (ec) {
      ::close(fds[1]);
      close_all();
      return;
    }
    plain.non_blocking(true, ec);
    auto connection = std::make_shared<HttpConnection>(shard_, std::move(plain), std::move(slot));
    connection->set_peer(remote_, /*secure=*/true);
    connection->start();
    read_client();
    read_inner();
  }

  void read_client() {
    tls_.async_read_some(
        boost::asio::buffer(up_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          if (ec) {
            // The client is gone (or sent close_notify): the connection sees end of stream.
            boost::system::error_code ignored;
            self->inner_.shutdown(LocalSocket::shutdown_send, ignored);
            self->client_done_ = true;
            if (self->inner_done_) self->close_all();
            return;
          }
          boost::asio::async_write(self->inner_, boost::asio::buffer(self->up_.data(), n),
                                   [self](const boost::system::error_code& wec, std::size_t) {
                                     if (wec) return self->close_all();
                                     self->read_client();
                                   });
        });
  }

  void read_inner() {
    inner_.async_read_some(boost::asio::buffer(down_), [self = shared_from_this()](
                                                           const boost::system::error_code& ec,
                                                           std::size_t n) {
      if (ec) {
        // The connection closed its end: close_notify, then the TCP connection.
        self->inner_done_ = true;
        self->timer_.expires_after(std::chrono::seconds(1));
        self->timer_.async_wait([self](const boost::system::error_code& tec) {
          if (!tec) self->close_all();
        });
        self->tls_.async_shutdown([self](const boost::system::error_code&) { self->close_all(); });
        return;
      }
      boost::asio::async_write(self->tls_, boost::asio::buffer(self->down_.data(), n),
                               [self](const boost::system::error_code& wec, std::size_t) {
                                 if (wec) return self->close_all();
                                 self->read_inner();
                               });
    });
  }

  void close_all() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    tls_.next_layer().close(ignored);
    inner_.close(ignored);
  }

  Shard& shard_;
  std::shared_ptr<ssl::context> context_;
  ssl::stream<TcpSocket> tls_;
  LocalSocket inner_;
  SteadyTimer timer_;
  std::string remote_;
  std::array<char, 16 * 1024> up_{};
  std::array<char, 16 * 1024> down_{};
  bool client_done_ = false;
  bool inner_done_ = false;
  bool closed_ = false;
};

// edge.tls.mode detect: the first byte of a TLS connection is a handshake record (0x16); HTTP
// starts with a method name.
class Detector : public std::enable_shared_from_this<Detector> {
 public:
  Detector(Shard& shard, TcpSocket socket, ConnectionSlot slot)
      : shard_(shard), socket_(std::move(socket)), slot_(std::move(slot)), timer_(shard.io()) {}

  void start() {
    timer_.expires_after(kHandshakeTimeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->done_) return;
      self->done_ = true;
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
    wait();
  }

 private:
  void wait() {
    socket_.async_wait(TcpSocket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         self->on_readable(ec);
                       });
  }
  void on_readable(const boost::system::error_code& ec) {
    if (done_) return;
    if (ec) return finish_closed();
    unsigned char first = 0;
    const ssize_t n = ::recv(socket_.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return wait();
    if (n <= 0) return finish_closed();
    done_ = true;
    timer_.cancel();
    if (first == 0x16) {
      TlsTerminator* tls = shard_.server().tls.get();
      std::make_shared<TlsPump>(shard_, std::move(socket_), tls->context())
          ->start(std::move(slot_));
    } else {
      shard_.adopt(std::move(socket_), std::move(slot_));
    }
  }
  void finish_closed() {
    done_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  Shard& shard_;
  TcpSocket socket_;
  ConnectionSlot slot_;
  SteadyTimer timer_;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<TlsTerminator>> TlsTerminator::create(const EdgeTlsConfig& config) {
  std::unique_ptr<TlsTerminator> t(new TlsTerminator());
  t->config_ = config;
  t->detect_ = config.mode == "detect";
  auto ctx = load(config);
  if (!ctx.ok()) return ctx.status();
  t->context_ = std::move(ctx).value();
  t->cert_mtime_ = mtime_of(config.cert_file);
  t->key_mtime_ = mtime_of(config.key_file);
  t->next_check_ = std::chrono::steady_clock::now() + kReloadCheck;
  return t;
}

TlsTerminator::~TlsTerminator() = default;

std::shared_ptr<ssl::context> TlsTerminator::context() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return context_;
  next_check_ = now + kReloadCheck;
  const long long cert = mtime_of(config_.cert_file);
  const long long key = mtime_of(config_.key_file);
  if (cert == cert_mtime_ && key == key_mtime_) return context_;
  auto ctx = load(config_);
  if (!ctx.ok()) {
    // Half-written renewal: keep serving the old certificate, try again at the next check.
    HLOG_WARN("edge", "edge.tls reload failed; keeping the current certificate",
              {{"error", ctx.status().message()}});
    return context_;
  }
  cert_mtime_ = cert;
  key_mtime_ = key;
  context_ = std::move(ctx).value();
  HLOG_INFO("edge", "edge.tls certificate reloaded", {{"cert_file", config_.cert_file}});
  return context_;
}

void accept_tls(Shard& shard, TcpSocket socket, ConnectionSlot slot) {
  TlsTerminator* tls = shard.server().tls.get();
  boost::system::error_code ec;
  socket.set_option(Tcp::no_delay(true), ec);
  if (tls->detect()) {
    socket.non_blocking(true, ec);
    std::make_shared<Detector>(shard, std::move(socket), std::move(slot))->start();
  } else {
    std::make_shared<TlsPump>(shard, std::move(socket), tls->context())->start(std::move(slot));
  }
}

}  // namespace herald::edge
