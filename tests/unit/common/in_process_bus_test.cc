// The in-process bus follows NATS semantics: exact and wildcard subjects, queue groups.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/bus/bus.h"

namespace herald::bus {
namespace {

EnvelopePtr heartbeat(const std::string& node) {
  auto e = std::make_shared<Envelope>();
  e->mutable_heartbeat()->set_node_id(node);
  return e;
}

TEST(InProcessBus, DeliversToExactSubscribers) {
  auto bus = make_in_process_bus();
  std::vector<std::string> got;
  auto sub = bus->subscribe("a.b", [&](const std::string& subject, const EnvelopePtr& e) {
    got.push_back(subject + "/" + e->heartbeat().node_id());
  });
  bus->publish("a.b", heartbeat("1"));
  bus->publish("a.c", heartbeat("2"));
  EXPECT_EQ(got, (std::vector<std::string>{"a.b/1"}));
}

TEST(InProcessBus, SameEnvelopeObjectForEverySubscriber) {
  auto bus = make_in_process_bus();
  const Envelope* seen1 = nullptr;
  const Envelope* seen2 = nullptr;
  auto s1 = bus->subscribe("x", [&](const std::string&, const EnvelopePtr& e) { seen1 = e.get(); });
  auto s2 = bus->subscribe("x", [&](const std::string&, const EnvelopePtr& e) { seen2 = e.get(); });
  auto env = heartbeat("n");
  bus->publish("x", env);
  EXPECT_EQ(seen1, env.get());
  EXPECT_EQ(seen2, env.get());
}

TEST(InProcessBus, Wildcards) {
  auto bus = make_in_process_bus();
  int star = 0, tail = 0;
  auto s1 = bus->subscribe("p.presence.*", [&](const std::string&, const EnvelopePtr&) { ++star; });
  auto s2 = bus->subscribe("p.>", [&](const std::string&, const EnvelopePtr&) { ++tail; });
  bus->publish("p.presence.e1", heartbeat("a"));
  bus->publish("p.presence.e1.extra", heartbeat("b"));
  bus->publish("p", heartbeat("c"));
  EXPECT_EQ(star, 1);
  EXPECT_EQ(tail, 2);
}

TEST(InProcessBus, QueueGroupDeliversToOneMember) {
  auto bus = make_in_process_bus();
  int a = 0, b = 0, plain = 0;
  auto s1 = bus->subscribe(
      "h.x", [&](const std::string&, const EnvelopePtr&) { ++a; }, "g");
  auto s2 = bus->subscribe(
      "h.x", [&](const std::string&, const EnvelopePtr&) { ++b; }, "g");
  auto s3 = bus->subscribe("h.x", [&](const std::string&, const EnvelopePtr&) { ++plain; });
  for (int i = 0; i < 100; ++i) bus->publish("h.x", heartbeat("n"));
  EXPECT_EQ(a + b, 100);
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_EQ(plain, 100);
}

TEST(InProcessBus, UnsubscribesOnDestruction) {
  auto bus = make_in_process_bus();
  int n = 0;
  auto sub = bus->subscribe("s", [&](const std::string&, const EnvelopePtr&) { ++n; });
  bus->publish("s", heartbeat("1"));
  sub.reset();
  bus->publish("s", heartbeat("2"));
  EXPECT_EQ(n, 1);
}

TEST(InProcessBus, SubscriptionMayOutliveTheBus) {
  auto bus = make_in_process_bus();
  auto sub = bus->subscribe("s", [](const std::string&, const EnvelopePtr&) {});
  bus.reset();
  sub.reset();  // must not crash
  SUCCEED();
}

TEST(InProcessBus, ConcurrentPublishAndSubscribe) {
  auto bus = make_in_process_bus();
  std::atomic<int> received{0};
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int i = 0; i < 2000 && !stop; ++i) {
      auto s = bus->subscribe("c." + std::to_string(i % 7),
                              [&](const std::string&, const EnvelopePtr&) { ++received; });
    }
  });
  auto stable = bus->subscribe("c.1", [&](const std::string&, const EnvelopePtr&) { ++received; });
  for (int i = 0; i < 2000; ++i) bus->publish("c." + std::to_string(i % 7), heartbeat("x"));
  stop = true;
  churn.join();
  EXPECT_GE(received.load(), 2000 / 7);
}

}  // namespace
}  // namespace herald::bus
