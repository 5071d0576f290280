// Edge end to end on loopback with HTTP long-polling: handshake, CONNECT through a fake broker
// link, an event to the broker, a bus delivery to the client, and shutdown.
#include "edge/edge.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "tests/unit/transport/eio_test_client.h"

namespace herald::edge {
namespace {

using testing::http;

// A BrokerLink whose messages tests wait for (the edge's shard threads send them).
class WaitableLink final : public BrokerLink {
 public:
  void send(internal::EdgeToBroker message) override {
    std::lock_guard lock(mu_);
    sent_.push_back(std::move(message));
    cv_.notify_all();
  }
  void set_receiver(std::function<void(internal::BrokerToEdge)> receiver) override {
    receiver_ = std::move(receiver);
  }
  // The first message matching `pred`, waiting up to 3 s for it.
  std::optional<internal::EdgeToBroker> wait_for(
      const std::function<bool(const internal::EdgeToBroker&)>& pred) {
    std::unique_lock lock(mu_);
    std::optional<internal::EdgeToBroker> found;
    cv_.wait_for(lock, std::chrono::seconds(3), [&] {
      for (auto& m : sent_) {
        if (pred(m)) {
          found = m;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  void deliver(internal::BrokerToEdge m) { receiver_(std::move(m)); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<internal::EdgeToBroker> sent_;
  std::function<void(internal::BrokerToEdge)> receiver_;
};

std::string sid_of(const std::string& open_body) {
  const auto p = open_body.find("\"sid\":\"");
  return p == std::string::npos ? std::string() : open_body.substr(p + 7, 20);
}

TEST(EdgeTest, PollingClientConnectsEmitsAndReceivesADelivery) {
  auto bus = bus::make_in_process_bus();
  WaitableLink link;
  EdgeOptions options;
  options.edge_id = "edge-test";
  options.config.listen = "127.0.0.1:0";
  options.config.shards = 2;
  auto created = Edge::create(options, link, *bus);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto& edge = *created.value();
  edge.start();
  ASSERT_NE(edge.port(), 0);

  auto open = http(edge.port(), "GET", "/socket.io/?EIO=4&transport=polling");
  ASSERT_TRUE(open.has_value());
  ASSERT_EQ(open->status, 200);
  const std::string sid = sid_of(open->body);
  ASSERT_EQ(sid.size(), 20u) << open->body;
  const std::string target = "/socket.io/?EIO=4&transport=polling&sid=" + sid;

  auto post =
      http(edge.port(), "POST", target, "Content-Type: text/plain\r\n", R"(40{"token":"t"})");
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 200);
  auto session_open = link.wait_for([](const auto& m) { return m.has_open(); });
  ASSERT_TRUE(session_open.has_value());
  EXPECT_EQ(session_open->open().engine_sid(), sid);
  EXPECT_EQ(session_open->open().auth_json(), R"({"token":"t"})");
  EXPECT_EQ(session_open->open().handshake().transport(), "polling");
  const std::string socket_id = session_open->open().socket_id();

  internal::BrokerToEdge accepted;
  accepted.mutable_accepted()->set_socket_id(socket_id);
  accepted.mutable_accepted()->add_rooms("user:7");
  link.deliver(accepted);
  auto reply = http(edge.port(), "GET", target);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, "40{\"sid\":\"" + socket_id + "\"}");

  post = http(edge.port(), "POST", target, "Content-Type: text/plain\r\n", R"(42["hi",1])");
  ASSERT_TRUE(post.has_value());
  auto event = link.wait_for([](const auto& m) { return m.has_event(); });
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->event().socket_id(), socket_id);
  EXPECT_EQ(event->event().event(), "hi");
  EXPECT_EQ(event->event().args_json(), "[1]");

  // The room subject is subscribed once the shard joined it; the broker's delivery reaches us.
  const bus::Subjects subjects("herald");
  for (int i = 0; i < 300 && !edge.adapter().subscribed(subjects.room("/", "user:7")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(edge.adapter().subscribed(subjects.room("/", "user:7")));
  auto envelope = std::make_shared<bus::Envelope>();
  envelope->mutable_delivery()->set_ns("/");
  envelope->mutable_delivery()->add_rooms("user:7");
  envelope->mutable_delivery()->set_event("news");
  envelope->mutable_delivery()->set_args_json(R"(["fresh"])");
  bus->publish(subjects.room("/", "user:7"), envelope);
  reply = http(edge.port(), "GET", target);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->body, R"(42["news","fresh"])");

  edge.stop();
  auto closed = link.wait_for([](const auto& m) { return m.has_close(); });
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->close().socket_id(), socket_id);
  EXPECT_EQ(closed->close().reason(), "server shutting down");
  EXPECT_EQ(edge.sio_counters().connects_accepted.load(), 1u);
  EXPECT_EQ(edge.adapter_counters().packets_sent.load(), 1u);
}

}  // namespace
}  // namespace herald::edge
