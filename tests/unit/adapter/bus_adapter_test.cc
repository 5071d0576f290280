// BusAdapter on the in-process bus: refcounted subscriptions, encode-once fan-out with the
// delivery rules, room commands, sequenced presence, snapshots and heartbeats.
#include "edge/adapter/bus_adapter.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <set>

#include "common/ids.h"
#include "tests/unit/adapter/fake_local_socket.h"

namespace herald::edge {
namespace {

using internal::PresenceChange;
using testing::FakeLocalSocket;

constexpr char kEdgeId[] = "edge-1";

class BusAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = bus::make_in_process_bus();
    presence_sub_ =
        bus_->subscribe("herald.presence.*", [this](const std::string&, const bus::EnvelopePtr& e) {
          std::lock_guard lock(mu_);
          presence_.push_back(e->presence());
        });
    heartbeat_sub_ = bus_->subscribe("herald.heartbeat.edge",
                                     [this](const std::string&, const bus::EnvelopePtr& e) {
                                       std::lock_guard lock(mu_);
                                       heartbeats_.push_back(e->heartbeat());
                                     });
    BusAdapterOptions options;
    options.edge_id = kEdgeId;
    options.max_rooms_per_socket = 3;
    options.boot_id = 42;
    options.local_bus = local_bus_;
    adapter_ = BusAdapter::create(*bus_, options, {&io0_, &io1_});
    adapter_->start();
    drain();
  }

  void TearDown() override { adapter_->stop(); }

  void drain() {
    for (int round = 0; round < 100; ++round) {
      size_t n = io0_.poll() + io1_.poll();
      io0_.restart();
      io1_.restart();
      if (n == 0) return;
    }
  }

  // A connected socket on `shard` (ids encode the shard, as the edge's do).
  std::unique_ptr<FakeLocalSocket> connect(uint32_t shard, std::string ns = "/",
                                           std::string user = "u") {
    auto s = std::make_unique<FakeLocalSocket>(make_id(tag_, shard).str(), std::move(ns),
                                               std::move(user));
    EXPECT_TRUE(adapter_->shard(shard).add_socket(*s));
    adapter_->shard(shard).connect(*s);
    return s;
  }

  void publish(const std::string& subject, bus::Envelope envelope) {
    bus_->publish(subject, std::make_shared<const bus::Envelope>(std::move(envelope)));
    drain();
  }

  static bus::Envelope delivery(std::vector<std::string> rooms, std::string args = "[1]") {
    bus::Envelope e;
    auto* d = e.mutable_delivery();
    d->set_ns("/");
    d->set_event("evt");
    d->set_args_json(std::move(args));
    for (auto& r : rooms) d->add_rooms(std::move(r));
    return e;
  }

  std::vector<internal::PresenceDelta> presence() {
    std::lock_guard lock(mu_);
    return presence_;
  }

  bool local_bus_ = false;
  const bus::Subjects subjects_{"herald"};
  const std::string tag_ = edge_tag_for(kEdgeId);
  boost::asio::io_context io0_, io1_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Subscription> presence_sub_, heartbeat_sub_;
  std::shared_ptr<BusAdapter> adapter_;
  std::mutex mu_;
  std::vector<internal::PresenceDelta> presence_;
  std::vector<internal::Heartbeat> heartbeats_;
};

TEST_F(BusAdapterTest, RoomSubscriptionIsRefcountedAcrossShards) {
  const std::string subject = subjects_.room("/", "lobby");
  EXPECT_FALSE(adapter_->subscribed(subject));
  auto a = connect(0);
  auto b = connect(1);
  auto c = connect(1);
  adapter_->shard(0).join(*a, "lobby");
  EXPECT_TRUE(adapter_->subscribed(subject));
  adapter_->shard(1).join(*b, "lobby");
  adapter_->shard(1).join(*c, "lobby");
  EXPECT_EQ(adapter_->counters().subscriptions.load(), 2);  // the room and "/"
  adapter_->shard(0).leave(*a, "lobby");
  EXPECT_TRUE(adapter_->subscribed(subject));
  adapter_->shard(1).leave(*b, "lobby");
  EXPECT_TRUE(adapter_->subscribed(subject));
  adapter_->shard(1).remove_socket(*c);  // disconnect leaves every room
  EXPECT_FALSE(adapter_->subscribed(subject));
  EXPECT_TRUE(adapter_->subscribed(subjects_.ns("/")));
  adapter_->shard(0).remove_socket(*a);
  adapter_->shard(1).remove_socket(*b);
  EXPECT_FALSE(adapter_->subscribed(subjects_.ns("/")));
  EXPECT_EQ(adapter_->counters().subscriptions.load(), 0);
}

TEST_F(BusAdapterTest, DeliveryIsEncodedOnceAndDeduplicatedAcrossRoomSubjects) {
  auto a = connect(0);
  auto b = connect(1);
  auto c = connect(1);
  auto d = connect(0);
  adapter_->shard(0).join(*a, "r1");
  adapter_->shard(1).join(*b, "r1");
  adapter_->shard(1).join(*b, "r2");
  adapter_->shard(1).join(*c, "r2");
  adapter_->shard(0).join(*d, "r2");
  adapter_->shard(0).join(*d, "quiet");
  auto env = delivery({"r1", "r2"});
  env.mutable_delivery()->add_except_rooms("quiet");
  // The broker publishes one copy per target room.
  publish(subjects_.room("/", "r1"), env);
  publish(subjects_.room("/", "r2"), env);
  ASSERT_EQ(a->received.size(), 1u);
  ASSERT_EQ(b->received.size(), 1u);
  ASSERT_EQ(c->received.size(), 1u);
  EXPECT_TRUE(d->received.empty());
  EXPECT_EQ(a->received[0]->text, R"(2["evt",1])");
  // One buffer per (delivery, subject): a and b got the r1 copy, the very same object.
  EXPECT_EQ(a->received[0].get(), b->received[0].get());
  EXPECT_EQ(adapter_->counters().deliveries_received.load(), 2u);
  EXPECT_EQ(adapter_->counters().packets_sent.load(), 3u);
}

TEST_F(BusAdapterTest, NamespaceAndEdgeSubjectsAndBinaryVolatileFlags) {
  auto a = connect(0);
  auto b = connect(1, "/chat");
  auto env = delivery({});
  env.mutable_delivery()->set_ns("/chat");
  env.mutable_delivery()->set_args_json(R"([{"_placeholder":true,"num":0}])");
  env.mutable_delivery()->add_attachments(std::string("\x01\x02", 2));
  env.mutable_delivery()->set_volatile_(true);
  publish(subjects_.ns("/chat"), env);
  EXPECT_TRUE(a->received.empty());
  ASSERT_EQ(b->received.size(), 1u);
  EXPECT_EQ(b->received[0]->text, R"(51-/chat,["evt",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(b->received[0]->binaries, (std::vector<std::string>{std::string("\x01\x02", 2)}));
  EXPECT_TRUE(b->received[0]->is_volatile);

  // On the edge subject: the union of the target rooms, own rooms included.
  publish(subjects_.edge(kEdgeId), delivery({std::string(a->id())}));
  ASSERT_EQ(a->received.size(), 1u);
  EXPECT_FALSE(a->received[0]->is_volatile);
}

TEST_F(BusAdapterTest, UnencodableDeliveryIsDroppedAndCounted) {
  auto a = connect(0);
  publish(subjects_.ns("/"), delivery({}, R"({"not":"an array"})"));
  EXPECT_TRUE(a->received.empty());
  EXPECT_EQ(adapter_->counters().deliveries_invalid.load(), 1u);
}

TEST_F(BusAdapterTest, RoomCommandsJoinLeaveAndDisconnect) {
  auto a = connect(0);
  auto b = connect(1);
  adapter_->shard(0).join(*a, "team");
  adapter_->shard(1).join(*b, "team");

  bus::Envelope by_room;
  by_room.mutable_command()->set_ns("/");
  by_room.mutable_command()->add_join("news");
  publish(subjects_.room("/", "team"), by_room);
  EXPECT_TRUE(adapter_->shard(0).index().in_room(*a, "news"));
  EXPECT_TRUE(adapter_->shard(1).index().in_room(*b, "news"));

  bus::Envelope by_id;
  by_id.mutable_command()->set_ns("/");
  by_id.mutable_command()->add_socket_ids(std::string(b->id()));
  by_id.mutable_command()->add_leave("team");
  by_id.mutable_command()->set_disconnect(true);
  by_id.mutable_command()->set_close_connection(true);
  by_id.mutable_command()->set_reason("kicked");
  publish(subjects_.edge(kEdgeId), by_id);
  EXPECT_FALSE(adapter_->shard(1).index().in_room(*b, "team"));
  EXPECT_TRUE(adapter_->shard(0).index().in_room(*a, "team"));
  ASSERT_EQ(b->disconnects.size(), 1u);
  EXPECT_EQ(b->disconnects[0], (std::pair<std::string, bool>{"kicked", true}));
  EXPECT_TRUE(a->disconnects.empty());
}

TEST_F(BusAdapterTest, JoinLimitIsEnforcedAndCounted) {
  auto a = connect(0);
  for (auto room : {"1", "2", "3"}) {
    EXPECT_EQ(adapter_->shard(0).join(*a, room), RoomIndex::JoinResult::kJoined);
  }
  EXPECT_EQ(adapter_->shard(0).join(*a, "4"), RoomIndex::JoinResult::kLimitReached);
  EXPECT_EQ(adapter_->counters().joins_refused.load(), 1u);
}

TEST_F(BusAdapterTest, PresenceDeltasAreSequencedAndBatchedPerIteration) {
  // start() announced an empty snapshot.
  auto initial = presence();
  ASSERT_EQ(initial.size(), 1u);
  EXPECT_TRUE(initial[0].snapshot());
  EXPECT_EQ(initial[0].seq(), 1u);
  EXPECT_EQ(initial[0].boot_id(), 42u);
  EXPECT_EQ(initial[0].changes_size(), 0);

  auto a = connect(0, "/", "alice");
  adapter_->shard(0).join(*a, "r");
  auto b = connect(1, "/", "bob");
  drain();
  auto deltas = presence();
  ASSERT_EQ(deltas.size(), 2u);  // one batch for everything recorded before the flush ran
  const auto& d = deltas[1];
  EXPECT_EQ(d.seq(), 2u);
  EXPECT_FALSE(d.snapshot());
  EXPECT_EQ(d.edge_id(), kEdgeId);
  ASSERT_EQ(d.changes_size(), 3);
  EXPECT_EQ(d.changes(0).op(), PresenceChange::OP_CONNECT);
  EXPECT_EQ(d.changes(0).user_id(), "alice");
  EXPECT_EQ(d.changes(1).op(), PresenceChange::OP_JOIN);
  EXPECT_EQ(d.changes(1).room(), "r");
  EXPECT_EQ(d.changes(2).op(), PresenceChange::OP_CONNECT);
  EXPECT_EQ(d.changes(2).socket_id(), std::string(b->id()));

  adapter_->shard(0).leave(*a, "r");
  drain();
  adapter_->shard(1).remove_socket(*b);
  drain();
  deltas = presence();
  ASSERT_EQ(deltas.size(), 4u);
  EXPECT_EQ(deltas[2].seq(), 3u);
  EXPECT_EQ(deltas[2].changes(0).op(), PresenceChange::OP_LEAVE);
  EXPECT_EQ(deltas[3].seq(), 4u);
  EXPECT_EQ(deltas[3].changes(0).op(), PresenceChange::OP_DISCONNECT);
  EXPECT_EQ(adapter_->presence_seq(), 4u);
  adapter_->shard(0).remove_socket(*a);
}

TEST_F(BusAdapterTest, SnapshotRequestPublishesFullStateBeforeLaterChanges) {
  auto a = connect(0, "/", "alice");
  adapter_->shard(0).join(*a, "r");
  auto b = connect(1, "/chat", "bob");
  drain();
  const size_t before = presence().size();

  bus::Envelope request;
  request.mutable_snapshot_request()->set_requester("broker-1");
  bus_->publish(subjects_.snapshot_request(), std::make_shared<const bus::Envelope>(request));
  // A change recorded while the snapshot is being collected comes after it.
  adapter_->shard(1).join(*b, "late");
  drain();

  auto deltas = presence();
  ASSERT_EQ(deltas.size(), before + 2);
  const auto& snap = deltas[before];
  EXPECT_TRUE(snap.snapshot());
  std::multiset<std::string> ops;
  for (const auto& c : snap.changes()) {
    ops.insert(std::to_string(c.op()) + " " + c.socket_id() + " " + c.ns() + " " + c.room());
  }
  EXPECT_EQ(ops.count("1 " + std::string(a->id()) + " / "), 1u);
  EXPECT_EQ(ops.count("3 " + std::string(a->id()) + " / r"), 1u);
  EXPECT_EQ(ops.count("1 " + std::string(b->id()) + " /chat "), 1u);
  const auto& after = deltas[before + 1];
  EXPECT_FALSE(after.snapshot());
  EXPECT_EQ(after.seq(), snap.seq() + 1);
  ASSERT_EQ(after.changes_size(), 1);
  EXPECT_EQ(after.changes(0).room(), "late");

  // A request for another edge is not ours to answer.
  bus::Envelope other;
  other.mutable_snapshot_request()->set_edge_id("edge-2");
  publish(subjects_.snapshot_request(), other);
  EXPECT_EQ(presence().size(), before + 2);
  adapter_->shard(0).remove_socket(*a);
  adapter_->shard(1).remove_socket(*b);
}

TEST_F(BusAdapterTest, HeartbeatCarriesTheLastSequence) {
  auto a = connect(0);
  drain();
  adapter_->publish_heartbeat();
  {
    std::lock_guard lock(mu_);
    ASSERT_GE(heartbeats_.size(), 2u);  // one at start, one now
    const auto& hb = heartbeats_.back();
    EXPECT_EQ(hb.node_id(), kEdgeId);
    EXPECT_EQ(hb.role(), "edge");
    EXPECT_EQ(hb.boot_id(), 42u);
    EXPECT_EQ(hb.seq(), 2u);
  }
  adapter_->shard(0).remove_socket(*a);
}

TEST_F(BusAdapterTest, StopDropsSubscriptions) {
  auto a = connect(0);
  adapter_->shard(0).join(*a, "r");
  adapter_->stop();
  EXPECT_FALSE(adapter_->subscribed(subjects_.room("/", "r")));
  publish(subjects_.edge(kEdgeId), delivery({std::string(a->id())}));
  EXPECT_TRUE(a->received.empty());
  adapter_->shard(0).remove_socket(*a);
}

// --- local_bus: two wildcard subscriptions instead of one per room ---------------------------

class LocalBusAdapterTest : public BusAdapterTest {
 protected:
  LocalBusAdapterTest() { local_bus_ = true; }
};

TEST_F(LocalBusAdapterTest, RoomsNeedNoSubscriptionOfTheirOwn) {
  EXPECT_EQ(adapter_->counters().subscriptions.load(), 2);  // every room, every namespace
  auto a = connect(0);
  adapter_->shard(0).join(*a, "lobby");
  EXPECT_FALSE(adapter_->subscribed(subjects_.room("/", "lobby")));
  EXPECT_EQ(adapter_->counters().subscriptions.load(), 2);
  adapter_->shard(0).remove_socket(*a);
  adapter_->stop();
  EXPECT_EQ(adapter_->counters().subscriptions.load(), 0);
}

TEST_F(LocalBusAdapterTest, RoomDeliveriesFollowTheSameRules) {
  auto a = connect(0);
  auto b = connect(1);
  auto c = connect(1);
  auto d = connect(0);
  auto e = connect(1);  // in no target room
  adapter_->shard(0).join(*a, "r1");
  adapter_->shard(1).join(*b, "r1");
  adapter_->shard(1).join(*b, "r 2");
  adapter_->shard(1).join(*c, "r 2");
  adapter_->shard(0).join(*d, "r 2");
  adapter_->shard(0).join(*d, "quiet");
  auto env = delivery({"r1", "r 2"});
  env.mutable_delivery()->add_except_rooms("quiet");
  publish(subjects_.room("/", "r1"), env);
  publish(subjects_.room("/", "r 2"), env);  // a room name that needs token encoding
  ASSERT_EQ(a->received.size(), 1u);
  ASSERT_EQ(b->received.size(), 1u);
  ASSERT_EQ(c->received.size(), 1u);
  EXPECT_TRUE(d->received.empty());
  EXPECT_TRUE(e->received.empty());
  EXPECT_EQ(a->received[0].get(), b->received[0].get());
  // A room nobody here is in: nothing.
  publish(subjects_.room("/", "elsewhere"), delivery({"elsewhere"}));
  EXPECT_EQ(a->received.size(), 1u);
  EXPECT_EQ(adapter_->counters().packets_sent.load(), 3u);
}

TEST_F(LocalBusAdapterTest, NamespaceDeliveriesCommandsAndFallback) {
  auto a = connect(0);
  auto b = connect(1, "/chat");
  auto env = delivery({});
  env.mutable_delivery()->set_ns("/chat");
  publish(subjects_.ns("/chat"), env);
  EXPECT_TRUE(a->received.empty());
  ASSERT_EQ(b->received.size(), 1u);

  adapter_->shard(0).join(*a, "team");
  bus::Envelope by_room;
  by_room.mutable_command()->set_ns("/");
  by_room.mutable_command()->add_join("news");
  publish(subjects_.room("/", "team"), by_room);
  EXPECT_TRUE(adapter_->shard(0).index().in_room(*a, "news"));
  EXPECT_FALSE(adapter_->shard(1).index().in_room(*b, "news"));

  // What a broker sends on its EdgeLink stream while the bus is down goes the same way.
  adapter_->on_fallback(subjects_.room("/", "news"),
                        std::make_shared<const bus::Envelope>(delivery({"news"})));
  drain();
  EXPECT_EQ(a->received.size(), 1u);
  EXPECT_EQ(adapter_->counters().fallback_received.load(), 1u);
  adapter_->shard(0).remove_socket(*a);
  adapter_->shard(1).remove_socket(*b);
}

}  // namespace
}  // namespace herald::edge
