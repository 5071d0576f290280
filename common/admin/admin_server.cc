// AdminServer: a small Beast HTTP/1.1 server on one thread. Operators and probes hit it rarely, so
// simplicity beats speed here; bounded request size and a read timeout keep it safe.
#include "common/admin/admin_server.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "common/config/common_config.h"
#include "common/log/log.h"
#include "common/process/thread_name.h"

namespace herald::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Shared {
  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<HealthRegistry> health;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
};

http::response<http::string_body> respond(const Shared& shared,
                                          const http::request<http::string_body>& req) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::server, "herald");
  auto reply = [&](http::status status, std::string_view type, std::string body) {
    res.result(status);
    res.set(http::field::content_type, type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };
  std::string_view target = req.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);

  if (target == "/healthz" &&
      (req.method() == http::verb::get || req.method() == http::verb::head)) {
    return reply(http::status::ok, "application/json", "{\"status\":\"alive\"}\n");
  }
  if (target == "/readyz" &&
      (req.method() == http::verb::get || req.method() == http::verb::head)) {
    Readiness overall = Readiness::kReady;
    nlohmann::json body =
        shared.health ? shared.health->evaluate(&overall) : nlohmann::json{{"status", "ready"}};
    // Degraded still serves traffic: load balancers keep it in rotation (200); not_ready is 503.
    auto status =
        overall == Readiness::kNotReady ? http::status::service_unavailable : http::status::ok;
    return reply(status, "application/json", body.dump() + "\n");
  }
  if (target == "/metrics" && req.method() == http::verb::get) {
    std::vector<prometheus::MetricFamily> families;
    if (shared.registry) families = shared.registry->Collect();
    for (const auto& c : shared.collectables) {
      if (!c) continue;
      auto more = c->Collect();
      families.insert(families.end(), std::make_move_iterator(more.begin()),
                      std::make_move_iterator(more.end()));
    }
    std::string text = prometheus::TextSerializer().Serialize(families);
    return reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
  }
  if (target == "/admin/log-level") {
    if (req.method() == http::verb::get) {
      return reply(http::status::ok, "application/json",
                   nlohmann::json{{"level", log::level_name(log::level())}}.dump() + "\n");
    }
    if (req.method() == http::verb::put || req.method() == http::verb::post) {
      std::string body = req.body();
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) {
        body.pop_back();
      }
      auto level = log::parse_level(body);
      if (!level.ok()) {
        return reply(http::status::bad_request, "application/json",
                     nlohmann::json{{"error", level.status().message()}}.dump() + "\n");
      }
      log::set_level(*level);
      HLOG_WARN("admin", "log level changed", {{"level", body}});
      return reply(http::status::ok, "application/json",
                   nlohmann::json{{"level", body}}.dump() + "\n");
    }
  }
  return reply(http::status::not_found, "application/json", "{\"error\":\"not found\"}\n");
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}

  void start() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(4096);
    parser_->header_limit(8192);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    response_ = respond(*shared_, parser_->get());
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code wec, size_t) { self->on_write(wec); });
  }

  void on_write(beast::error_code ec) {
    if (ec || !response_.keep_alive()) {
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    do_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<const Shared> shared_;
};

class AdminServerImpl final : public AdminServer {
 public:
  AdminServerImpl(std::shared_ptr<const Shared> shared)
      : acceptor_(io_), shared_(std::move(shared)) {}
  ~AdminServerImpl() override { stop(); }

  Status listen(const std::string& address) {
    std::string host;
    uint16_t port = 0;
    if (Status s = config::split_host_port(address, "admin.listen", &host, &port); !s.ok())
      return s;
    beast::error_code ec;
    auto ip = asio::ip::make_address(host, ec);
    if (ec) return invalid_argument("admin.listen: bad address '" + host + "'");
    tcp::endpoint ep(ip, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return unavailable("admin.listen " + address + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] {
      process::set_thread_name("admin");
      io_.run();
    });
    return Status::ok_status();
  }

  uint16_t port() const override { return port_; }

  void stop() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    io_.stop();
    thread_.join();
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Connection>(std::move(socket), shared_)->start();
      do_accept();
    });
  }

  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::shared_ptr<const Shared> shared_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<AdminServer>> AdminServer::start(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<HealthRegistry> health,
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  auto shared = std::make_shared<Shared>(
      Shared{std::move(registry), std::move(health), std::move(collectables)});
  auto server = std::make_unique<AdminServerImpl>(std::move(shared));
  if (Status s = server->listen(listen); !s.ok()) return s;
  return std::unique_ptr<AdminServer>(std::move(server));
}

}  // namespace herald::admin
