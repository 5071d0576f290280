// StandaloneServer operations over real sockets: /metrics families change with a client's
// connection (Engine.IO polling, Socket.IO CONNECT), refusals are counted by code, API calls are
// timed, /readyz names its checks, and drain() closes client sessions.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <regex>
#include <thread>

#include "common/config/config_reader.h"
#include "herald/v1/realtime.grpc.pb.h"
#include "standalone/standalone_server.h"

namespace herald::standalone {
namespace {

namespace http = boost::beast::http;

struct Reply {
  unsigned status = 0;
  std::string body;
};

Reply request(uint16_t port, http::verb verb, const std::string& target, std::string body = {}) {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, "text/plain;charset=UTF-8");
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return {res.result_int(), res.body()};
}

// "name{labels}" → value, from the Prometheus text format.
std::map<std::string, double> scrape(uint16_t admin_port) {
  Reply r = request(admin_port, http::verb::get, "/metrics");
  EXPECT_EQ(r.status, 200u);
  std::map<std::string, double> out;
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

class StandaloneOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reader = config::ConfigReader::from_string(R"(
node: {id: ops-test}
log: {level: warn}
edge: {listen: "127.0.0.1:0", shards: 1}
broker: {grpc_listen: "127.0.0.1:0"}
admin: {listen: "127.0.0.1:0"}
namespaces:
  /anon: {auth: none}
)");
    ASSERT_TRUE(reader.ok()) << reader.status().to_string();
    StandaloneConfig config;
    Status s = read_standalone_config(*reader, &config);
    ASSERT_TRUE(s.ok()) << s.to_string();
    auto server = StandaloneServer::start(std::move(config));
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  // Engine.IO polling handshake; returns the sid.
  std::string open_session() {
    Reply open =
        request(server_->socketio_port(), http::verb::get, "/socket.io/?EIO=4&transport=polling");
    EXPECT_EQ(open.status, 200u);
    std::smatch m;
    EXPECT_TRUE(std::regex_search(open.body, m, std::regex("\"sid\":\"([^\"]+)\""))) << open.body;
    return m[1];
  }
  Reply post(const std::string& sid, std::string body) {
    return request(server_->socketio_port(), http::verb::post,
                   "/socket.io/?EIO=4&transport=polling&sid=" + sid, std::move(body));
  }
  Reply poll(const std::string& sid) {
    return request(server_->socketio_port(), http::verb::get,
                   "/socket.io/?EIO=4&transport=polling&sid=" + sid);
  }

  std::unique_ptr<StandaloneServer> server_;
};

TEST_F(StandaloneOpsTest, MetricsFollowAConnection) {
  const uint16_t admin = server_->admin_port();
  ASSERT_NE(admin, 0);
  auto before = scrape(admin);
  EXPECT_EQ(before["herald_edge_sessions{transport=\"polling\"}"], 0);
  EXPECT_EQ(before["herald_broker_sessions"], 0);
  EXPECT_EQ(before["herald_edge_accepting"], 1);
  EXPECT_EQ(before["herald_draining"], 0);
  EXPECT_EQ(before["herald_bus_state{state=\"connected\"}"], 1);
  EXPECT_EQ(before.count("herald_build_info{process=\"herald\",version=\"0.1.0\"}"), 1u);

  const std::string sid = open_session();
  ASSERT_EQ(post(sid, "40/anon,").status, 200u);
  Reply connect = poll(sid);
  ASSERT_NE(connect.body.find("40/anon,{\"sid\""), std::string::npos) << connect.body;

  auto after = scrape(admin);
  EXPECT_EQ(after["herald_edge_sessions{transport=\"polling\"}"], 1);
  EXPECT_EQ(after["herald_edge_sessions{transport=\"websocket\"}"], 0);
  EXPECT_EQ(after["herald_edge_sessions_opened_total"], 1);
  EXPECT_EQ(after["herald_edge_namespace_sockets{namespace=\"/anon\"}"], 1);
  EXPECT_EQ(after["herald_edge_packets_in_total{type=\"connect\"}"], 1);
  EXPECT_EQ(after["herald_edge_socket_connects_total{result=\"accepted\"}"], 1);
  EXPECT_GE(after["herald_edge_packets_out_total"], 1);
  EXPECT_EQ(after["herald_broker_sessions"], 1);
  EXPECT_EQ(after["herald_broker_sessions_accepted_total"], 1);
  EXPECT_EQ(after.count("herald_edge_outbound_queue_bytes"), 1u);

  // A namespace no policy matches: refused, counted by code.
  ASSERT_EQ(post(sid, "40/nope,").status, 200u);
  Reply refused = poll(sid);
  EXPECT_NE(refused.body.find("44/nope,"), std::string::npos) << refused.body;
  auto refusals = scrape(admin);
  EXPECT_EQ(refusals["herald_broker_auth_failures_total{code=\"INVALID_NAMESPACE\"}"], 1);
  EXPECT_EQ(refusals["herald_edge_socket_connects_total{result=\"rejected\"}"], 1);

  // The socket leaves: the namespace gauge goes back to 0.
  ASSERT_EQ(post(sid, "41/anon,").status, 200u);
  for (int i = 0; i < 100; ++i) {
    if (scrape(admin)["herald_broker_sessions"] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto left = scrape(admin);
  EXPECT_EQ(left["herald_edge_namespace_sockets{namespace=\"/anon\"}"], 0);
  EXPECT_EQ(left["herald_edge_packets_in_total{type=\"disconnect\"}"], 1);
  EXPECT_EQ(left["herald_broker_sessions"], 0);
}

TEST_F(StandaloneOpsTest, ApiCallsAreTimedPerMethod) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Realtime::NewStub(channel);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    v1::StatsRequest req;
    v1::StatsResponse res;
    ASSERT_TRUE(stub->Stats(&ctx, req, &res).ok());
  }
  auto m = scrape(server_->admin_port());
  EXPECT_EQ(m["herald_api_request_duration_seconds_count{method=\"Stats\"}"], 2);
  EXPECT_EQ(m["herald_api_request_duration_seconds_bucket{method=\"Stats\",le=\"+Inf\"}"], 2);
  EXPECT_EQ(m["herald_api_requests_total{code=\"OK\",method=\"Stats\"}"] +
                m["herald_api_requests_total{method=\"Stats\",code=\"OK\"}"],
            2);
  EXPECT_EQ(m["herald_api_request_duration_seconds_count{method=\"Broadcast\"}"], 0);
}

TEST_F(StandaloneOpsTest, ReadyzNamesItsChecks) {
  Reply r = request(server_->admin_port(), http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 200u);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], "ready");
  EXPECT_EQ(j["checks"]["edge"]["status"], "ready");
  EXPECT_EQ(j["checks"]["broker"]["status"], "ready");
  EXPECT_EQ(j["checks"]["drain"]["status"], "ready");
}

TEST_F(StandaloneOpsTest, DrainClosesPollingSessionsWithACloseAndStops) {
  const std::string sid = open_session();
  ASSERT_EQ(post(sid, "40/anon,").status, 200u);
  poll(sid);  // the CONNECT reply
  // A held GET gets the Engine.IO close packet: the client reconnects ("transport close").
  std::promise<Reply> held;
  auto answer = held.get_future();
  std::thread poller([&] { held.set_value(poll(sid)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(server_->draining());
  const auto t0 = DrainClock::now();
  config::DrainConfig drain;
  drain.deadline_s = 5;
  server_->drain(DrainPlan::from(drain, t0));
  EXPECT_TRUE(server_->draining());
  EXPECT_LT(DrainClock::now() - t0, std::chrono::seconds(3));
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  poller.join();
  Reply r = answer.get();
  EXPECT_EQ(r.body, "1") << "an Engine.IO close, not a Socket.IO DISCONNECT";
}

}  // namespace
}  // namespace herald::standalone
