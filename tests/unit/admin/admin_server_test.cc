// AdminServer over real HTTP: health, readiness states, Prometheus text, runtime log level.
#include "common/admin/admin_server.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log/log.h"

namespace herald::admin {
namespace {

namespace http = boost::beast::http;

struct Reply {
  unsigned status;
  std::string body;
  std::string content_type;
};

Reply request(uint16_t port, http::verb verb, const std::string& target, std::string body = {}) {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return {res.result_int(), res.body(), std::string(res[http::field::content_type])};
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<prometheus::Registry>();
    health_ = std::make_shared<HealthRegistry>();
    auto s = AdminServer::start("127.0.0.1:0", registry_, health_);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(s).value();
  }
  void TearDown() override { log::set_level(log::Level::kInfo); }
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<HealthRegistry> health_;
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminServerTest, HealthzIsAlwaysAlive) {
  auto r = request(server_->port(), http::verb::get, "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "alive");
}

TEST_F(AdminServerTest, ReadyzReflectsTheWorstCheck) {
  std::atomic<int> bus_state{0};
  health_->add("bus", [&] {
    switch (bus_state.load()) {
      case 0:
        return CheckResult{Readiness::kReady, ""};
      case 1:
        return CheckResult{Readiness::kDegraded, "NATS reconnecting"};
      default:
        return CheckResult{Readiness::kNotReady, "no broker"};
    }
  });
  auto r = request(server_->port(), http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ready");

  bus_state = 1;
  r = request(server_->port(), http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 200u);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["checks"]["bus"]["detail"], "NATS reconnecting");

  bus_state = 2;
  r = request(server_->port(), http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "not_ready");
}

TEST_F(AdminServerTest, MetricsUsePrometheusTextFormat) {
  auto& family = prometheus::BuildCounter()
                     .Name("herald_test_events_total")
                     .Help("Events seen by the test")
                     .Register(*registry_);
  family.Add({{"kind", "a"}}).Increment(3);
  auto r = request(server_->port(), http::verb::get, "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.content_type.find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE herald_test_events_total counter"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("herald_test_events_total{kind=\"a\"} 3"), std::string::npos) << r.body;
}

TEST_F(AdminServerTest, LogLevelCanBeChangedAtRuntime) {
  auto r = request(server_->port(), http::verb::put, "/admin/log-level", "debug\n");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(log::level(), log::Level::kDebug);
  r = request(server_->port(), http::verb::get, "/admin/log-level");
  EXPECT_EQ(nlohmann::json::parse(r.body)["level"], "debug");
  r = request(server_->port(), http::verb::put, "/admin/log-level", "shouty");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(log::level(), log::Level::kDebug);
}

TEST_F(AdminServerTest, UnknownPathsAre404) {
  EXPECT_EQ(request(server_->port(), http::verb::get, "/nope").status, 404u);
}

TEST(AdminServerListen, RefusesBadAddresses) {
  EXPECT_FALSE(AdminServer::start("nonsense", nullptr, nullptr).ok());
  EXPECT_FALSE(AdminServer::start("256.0.0.1:0", nullptr, nullptr).ok());
}

}  // namespace
}  // namespace herald::admin
