// NatsBus against a real nats-server: delivery, wildcards, queue groups, and surviving a restart.
#include "common/bus/nats_bus.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/support/process.h"

namespace herald::bus {
namespace {

using namespace std::chrono_literals;
using herald::testing::NatsServer;

EnvelopePtr heartbeat(const std::string& node, uint64_t seq = 0) {
  auto e = std::make_shared<Envelope>();
  e->mutable_heartbeat()->set_node_id(node);
  e->mutable_heartbeat()->set_seq(seq);
  return e;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::unique_ptr<NatsBus> connect(const NatsServer& server, const std::string& name) {
  config::BusConfig cfg;
  cfg.type = "nats";
  cfg.nats_urls = {server.url()};
  cfg.reconnect_wait_ms = 50;
  auto bus = make_nats_bus(cfg, name);
  EXPECT_TRUE(bus.ok()) << bus.status().to_string();
  return std::move(bus).value();
}

class NatsBusTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = NatsServer::start(); }
  NatsServer server_;
};

TEST_F(NatsBusTest, PublishesAcrossConnections) {
  auto a = connect(server_, "a");
  auto b = connect(server_, "b");
  ASSERT_TRUE(eventually([&] { return a->state() == BusState::kConnected; }));
  std::atomic<int> got{0};
  std::string seen_subject, seen_node;
  std::mutex mu;
  auto sub = b->subscribe("t.room.x", [&](const std::string& subject, const EnvelopePtr& e) {
    std::lock_guard lock(mu);
    seen_subject = subject;
    seen_node = e->heartbeat().node_id();
    ++got;
  });
  // Subscriptions are asynchronous on the server side: publish until one arrives.
  ASSERT_TRUE(eventually([&] {
    a->publish("t.room.x", heartbeat("n1"));
    return got.load() > 0;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen_subject, "t.room.x");
  EXPECT_EQ(seen_node, "n1");
}

TEST_F(NatsBusTest, WildcardAndQueueGroups) {
  auto pub = connect(server_, "pub");
  auto s1 = connect(server_, "s1");
  auto s2 = connect(server_, "s2");
  std::atomic<int> wild{0}, q1{0}, q2{0};
  auto w = s1->subscribe("t.presence.*", [&](const std::string&, const EnvelopePtr&) { ++wild; });
  auto g1 = s1->subscribe(
      "t.handle.ev", [&](const std::string&, const EnvelopePtr&) { ++q1; }, "h");
  auto g2 = s2->subscribe(
      "t.handle.ev", [&](const std::string&, const EnvelopePtr&) { ++q2; }, "h");
  ASSERT_TRUE(eventually([&] {
    pub->publish("t.presence.e1", heartbeat("p"));
    return wild.load() > 0;
  }));
  // Wait until both queue members are registered on the server before counting.
  std::this_thread::sleep_for(100ms);
  const int before = q1 + q2;
  for (int i = 0; i < 200; ++i) pub->publish("t.handle.ev", heartbeat("q"));
  ASSERT_TRUE(eventually([&] { return q1 + q2 - before == 200; }));
  EXPECT_GT(q1.load(), 0);
  EXPECT_GT(q2.load(), 0);
}

TEST_F(NatsBusTest, ResubscribesAfterServerRestart) {
  auto pub = connect(server_, "pub");
  auto sub_bus = connect(server_, "sub");
  std::atomic<int> got{0};
  std::vector<BusState> states;
  std::mutex mu;
  sub_bus->on_state_change([&](BusState s) {
    std::lock_guard lock(mu);
    states.push_back(s);
  });
  auto sub = sub_bus->subscribe("t.room.r", [&](const std::string&, const EnvelopePtr&) { ++got; });
  ASSERT_TRUE(eventually([&] {
    pub->publish("t.room.r", heartbeat("1"));
    return got.load() > 0;
  }));

  server_.kill_now();
  ASSERT_TRUE(eventually([&] { return sub_bus->state() == BusState::kReconnecting; }));
  server_.restart();
  ASSERT_TRUE(eventually([&] { return sub_bus->state() == BusState::kConnected; }, 10s));
  ASSERT_TRUE(eventually([&] { return pub->state() == BusState::kConnected; }, 10s));
  const int before = got.load();
  ASSERT_TRUE(eventually(
      [&] {
        pub->publish("t.room.r", heartbeat("2"));
        return got.load() > before;
      },
      10s));
  std::lock_guard lock(mu);
  // Under load the first connect may complete after the listener was added, so the history can
  // start with kConnected; what matters is the loss being reported and the recovery after it.
  auto lost = std::find(states.begin(), states.end(), BusState::kReconnecting);
  ASSERT_NE(lost, states.end());
  EXPECT_NE(std::find(lost, states.end(), BusState::kConnected), states.end());
  EXPECT_EQ(states.back(), BusState::kConnected);
}

TEST(NatsBusNoServer, StartsWithoutAServerAndConnectsLater) {
  const uint16_t port = herald::testing::pick_free_port();
  config::BusConfig cfg;
  cfg.nats_urls = {"nats://127.0.0.1:" + std::to_string(port)};
  cfg.reconnect_wait_ms = 50;
  auto bus = make_nats_bus(cfg, "early");
  ASSERT_TRUE(bus.ok()) << bus.status().to_string();
  EXPECT_NE((*bus)->state(), BusState::kConnected);
  auto server = herald::testing::ChildProcess::start(
      {"nats-server", "-a", "127.0.0.1", "-p", std::to_string(port)}, "/dev/null");
  ASSERT_TRUE(herald::testing::wait_for_port(port, 10s));
  EXPECT_TRUE(eventually([&] { return (*bus)->state() == BusState::kConnected; }, 10s));
}

// Publishes raw bytes with the NATS text protocol, as a foreign or broken client would.
void raw_publish(uint16_t port, const std::string& subject, const std::string& payload) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string cmd = "CONNECT {\"verbose\":false}\r\nPUB " + subject + " " +
                    std::to_string(payload.size()) + "\r\n" + payload + "\r\nPING\r\n";
  ASSERT_EQ(::send(fd, cmd.data(), cmd.size(), 0), static_cast<ssize_t>(cmd.size()));
  char buf[512];
  (void)::recv(fd, buf, sizeof(buf), 0);  // INFO/PONG: the server has processed the PUB
  ::close(fd);
}

TEST_F(NatsBusTest, DropsAndCountsPayloadsThatAreNotEnvelopes) {
  auto a = connect(server_, "a");
  std::atomic<int> got{0};
  auto sub = a->subscribe("t.x", [&](const std::string&, const EnvelopePtr&) { ++got; });
  ASSERT_TRUE(eventually([&] {
    a->publish("t.x", heartbeat("1"));
    return got.load() > 0;
  }));
  std::this_thread::sleep_for(100ms);  // let the probe publishes above land before counting
  const int before = got.load();
  raw_publish(server_.port(), "t.x", std::string("\xff\xff\xff\xff", 4));
  ASSERT_TRUE(eventually([&] { return a->stats().decode_failures == 1; }));
  EXPECT_EQ(got.load(), before);
  EXPECT_GT(a->stats().published, 0u);
}

}  // namespace
}  // namespace herald::bus
