// PresenceRegistry (sequencing, snapshots, heartbeats, expiry, queries) and PresenceSync (its bus
// binding: snapshot requests, broker heartbeats).
#include "broker/presence/presence_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <map>
#include <random>

#include "broker/presence/presence_sync.h"
#include "common/bus/bus.h"
#include "common/bus/subjects.h"

namespace herald::broker {
namespace {

using internal::PresenceChange;

PresenceChange change(PresenceChange::Op op, const std::string& socket, const std::string& ns = "/",
                      const std::string& user = "", const std::string& room = "") {
  PresenceChange c;
  c.set_op(op);
  c.set_socket_id(socket);
  c.set_ns(ns);
  c.set_user_id(user);
  c.set_room(room);
  return c;
}
PresenceChange conn(const std::string& s, const std::string& ns, const std::string& user) {
  return change(PresenceChange::OP_CONNECT, s, ns, user);
}
PresenceChange join(const std::string& s, const std::string& room) {
  return change(PresenceChange::OP_JOIN, s, "", "", room);
}
PresenceChange leave(const std::string& s, const std::string& room) {
  return change(PresenceChange::OP_LEAVE, s, "", "", room);
}
PresenceChange disc(const std::string& s) {
  return change(PresenceChange::OP_DISCONNECT, s);
}

internal::PresenceDelta delta(const std::string& edge, uint64_t seq,
                              std::vector<PresenceChange> changes, bool snapshot = false,
                              uint64_t boot = 1) {
  internal::PresenceDelta d;
  d.set_edge_id(edge);
  d.set_seq(seq);
  d.set_boot_id(boot);
  d.set_snapshot(snapshot);
  for (auto& c : changes) *d.add_changes() = std::move(c);
  return d;
}

internal::Heartbeat heartbeat(const std::string& edge, uint64_t seq, uint64_t boot = 1) {
  internal::Heartbeat hb;
  hb.set_node_id(edge);
  hb.set_role("edge");
  hb.set_seq(seq);
  hb.set_boot_id(boot);
  return hb;
}

std::vector<std::string> ids(const std::vector<const PresenceSocket*>& sockets) {
  std::vector<std::string> out;
  for (const auto* s : sockets) out.emplace_back(s->socket_id());
  return out;
}

using Strings = std::vector<std::string>;

TEST(PresenceRegistry, DeltasBuildSocketUserAndRoomIndexes) {
  PresenceRegistry r;
  EXPECT_FALSE(r.apply(delta("e1", 1,
                             {conn("a", "/chat", "u1"), join("a", "r1"), conn("b", "/chat", "u1"),
                              conn("c", "/", "u2"), join("b", "r1"), join("b", "r2")}),
                       0));
  EXPECT_EQ(r.socket_count(), 3u);
  EXPECT_EQ(r.user_count(), 2u);
  EXPECT_EQ(r.room_count(), 2u);
  EXPECT_EQ(ids(r.user_sockets("u1", "")), (Strings{"a", "b"}));
  EXPECT_EQ(ids(r.user_sockets("u1", "/")), Strings{});
  EXPECT_EQ(r.room_sockets("/chat", "r1"), (Strings{"a", "b"}));
  EXPECT_EQ(r.room_sockets("/", "r1"), Strings{});  // rooms are per namespace
  EXPECT_EQ(r.sockets_per_namespace(), (std::map<std::string, uint64_t>{{"/", 1}, {"/chat", 2}}));
  EXPECT_EQ(r.find_socket("b")->rooms(), (Strings{"r1", "r2"}));
  EXPECT_EQ(r.find_socket("b")->edge_id(), "e1");

  EXPECT_FALSE(r.apply(delta("e1", 2, {leave("b", "r1"), disc("a")}), 0));
  EXPECT_EQ(r.room_sockets("/chat", "r1"), Strings{});
  EXPECT_EQ(r.room_count(), 1u);
  EXPECT_EQ(ids(r.user_sockets("u1", "")), Strings{"b"});
  EXPECT_EQ(r.find_socket("a"), nullptr);
  EXPECT_EQ(r.edge_seq("e1"), 2u);
}

// The indexes are swap-remove vectors: a long random mix of connects, joins, leaves,
// disconnects and an edge restart must leave every query equal to a plain model's answer.
TEST(PresenceRegistry, IndexesMatchAModelUnderRandomChurn) {
  PresenceRegistry r;
  struct Model {
    std::string ns, user, edge;
    std::vector<std::string> rooms;
  };
  std::map<std::string, Model> model;
  std::map<std::string, uint64_t> seq = {{"e1", 0}, {"e2", 0}};
  std::map<std::string, uint64_t> boot = {{"e1", 1}, {"e2", 1}};
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const Strings rooms = {"r0", "r1", "r2", "r3", "r4"};
  const Strings users = {"u0", "u1", "u2", ""};
  const Strings nss = {"/", "/chat"};
  auto send = [&](const std::string& edge, PresenceChange c) {
    r.apply(delta(edge, ++seq[edge], {std::move(c)}, false, boot[edge]), 0);
  };
  auto check = [&] {
    ASSERT_EQ(r.socket_count(), model.size());
    std::map<std::string, Strings> by_room, by_user;
    std::map<std::string, uint64_t> by_ns;
    for (const auto& [id, m] : model) {
      const PresenceSocket* s = r.find_socket(id);
      ASSERT_NE(s, nullptr) << id;
      EXPECT_EQ(s->rooms(), m.rooms) << id;
      EXPECT_EQ(s->edge_id(), m.edge) << id;
      for (const auto& room : m.rooms) by_room[m.ns + " " + room].push_back(id);
      if (!m.user.empty()) by_user[m.user].push_back(id);
      ++by_ns[m.ns];
    }
    EXPECT_EQ(r.room_count(), by_room.size());
    for (const auto& ns : nss) {
      for (const auto& room : rooms) EXPECT_EQ(r.room_sockets(ns, room), by_room[ns + " " + room]);
    }
    for (const auto& user : users) {
      if (!user.empty()) {
        EXPECT_EQ(ids(r.user_sockets(user, "")), by_user[user]);
      }
    }
    EXPECT_EQ(r.sockets_per_namespace(),
              (std::map<std::string, uint64_t>(by_ns.begin(), by_ns.end())));
  };
  for (int step = 0; step < 4000; ++step) {
    const std::string id = "s" + std::to_string(pick(120));
    const std::string edge = pick(2) == 0 ? "e1" : "e2";
    auto it = model.find(id);
    const size_t op = pick(10);
    if (it == model.end() || op == 0) {  // connect (or reconnect, possibly on the other edge)
      Model m{nss[pick(2)], users[pick(4)], edge, {}};
      send(edge, conn(id, m.ns, m.user));
      model[id] = m;
    } else if (op < 5) {
      const std::string& room = rooms[pick(rooms.size())];
      send(it->second.edge, join(id, room));
      auto& rs = it->second.rooms;
      if (std::find(rs.begin(), rs.end(), room) == rs.end()) rs.push_back(room);
    } else if (op < 8) {
      const std::string& room = rooms[pick(rooms.size())];
      send(it->second.edge, leave(id, room));
      std::erase(it->second.rooms, room);
    } else {
      send(it->second.edge, disc(id));
      model.erase(it);
    }
    if (step == 2500) {  // e2 restarts: its sockets are gone
      boot["e2"] = 2;
      seq["e2"] = 0;
      send("e2", PresenceChange());  // seq 1 of the new boot, no change
      std::erase_if(model, [](const auto& e) { return e.second.edge == "e2"; });
    }
    if (step % 100 == 99) check();
  }
  check();
}

TEST(PresenceRegistry, TargetSocketsHonourExcepts) {
  PresenceRegistry r;
  r.apply(delta("e1", 1,
                {conn("a", "/", "u1"), join("a", "r1"), conn("b", "/", "u2"), join("b", "r1"),
                 join("b", "r2"), conn("c", "/", "u3"), join("c", "r2"), join("c", "muted"),
                 conn("d", "/", "")}),
          0);
  EXPECT_EQ(r.target_sockets("/", {}, {}, {}), (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(r.target_sockets("/", {"r1", "r2"}, {}, {}), (Strings{"a", "b", "c"}));
  EXPECT_EQ(r.target_sockets("/", {"r1", "r2"}, {"muted"}, {"a"}), (Strings{"b"}));
  EXPECT_EQ(r.count_targets("/", {}, {}, {}), 4u);
  EXPECT_EQ(r.count_targets("/", {}, {"r1"}, {}), 2u);
  EXPECT_EQ(r.count_targets("/", {"r2"}, {}, {}), 2u);  // one room: its size
  EXPECT_EQ(r.count_targets("/", {"nope"}, {}, {}), 0u);
  EXPECT_EQ(r.count_targets("/other", {"r2"}, {}, {}), 0u);
  EXPECT_EQ(r.count_targets("/", {"r2"}, {"muted"}, {}), 1u);
}

TEST(PresenceRegistry, DuplicateDeltasAreIgnored) {
  PresenceRegistry r;
  r.apply(delta("e1", 1, {conn("a", "/", "u1")}), 0);
  r.apply(delta("e1", 2, {disc("a")}), 0);
  EXPECT_FALSE(r.apply(delta("e1", 1, {conn("a", "/", "u1")}), 0));
  EXPECT_EQ(r.socket_count(), 0u);
}

TEST(PresenceRegistry, GapAsksSnapshotAndSnapshotReplacesEdgeState) {
  PresenceRegistry r({.heartbeat_timeout_ms = 5000, .snapshot_retry_ms = 1000});
  r.apply(delta("e1", 1, {conn("a", "/", "u1"), conn("b", "/", "u2")}), 0);
  r.apply(delta("e2", 1, {conn("x", "/", "u9")}), 0);
  EXPECT_TRUE(r.apply(delta("e1", 3, {conn("c", "/", "u3")}), 10));  // seq 2 was lost
  EXPECT_FALSE(r.edge_synced("e1"));
  // While unsynced, deltas are not applied, and the request is not repeated right away.
  EXPECT_FALSE(r.apply(delta("e1", 4, {conn("d", "/", "u4")}), 20));
  EXPECT_EQ(r.find_socket("d"), nullptr);
  EXPECT_EQ(r.socket_count(), 3u);  // the stale view stays visible meanwhile
  // The request is retried after snapshot_retry_ms.
  auto tick = r.tick(1010);
  EXPECT_EQ(tick.snapshot_edges, Strings{"e1"});

  EXPECT_FALSE(r.apply(delta("e1", 5, {conn("b", "/", "u2"), join("b", "r"), conn("d", "/", "u4")},
                             /*snapshot=*/true),
                       30));
  EXPECT_TRUE(r.edge_synced("e1"));
  EXPECT_EQ(r.find_socket("a"), nullptr);
  ASSERT_NE(r.find_socket("d"), nullptr);
  EXPECT_EQ(r.room_sockets("/", "r"), Strings{"b"});
  EXPECT_NE(r.find_socket("x"), nullptr);  // other edges untouched
  // Sequence continues after the snapshot's seq.
  EXPECT_FALSE(r.apply(delta("e1", 6, {disc("d")}), 40));
  EXPECT_EQ(r.find_socket("d"), nullptr);
  EXPECT_TRUE(r.tick(5000).snapshot_edges.empty());
}

TEST(PresenceRegistry, UnknownEdgeMidStreamAsksSnapshot) {
  PresenceRegistry r;
  EXPECT_TRUE(r.apply(delta("e1", 42, {conn("a", "/", "u1")}), 0));
  EXPECT_EQ(r.find_socket("a"), nullptr);
  EXPECT_FALSE(r.edge_synced("e1"));
}

TEST(PresenceRegistry, HeartbeatsDetectLostDeltasAndRestarts) {
  PresenceRegistry r({.heartbeat_timeout_ms = 5000, .snapshot_retry_ms = 1000});
  // A new edge with nothing published yet needs no snapshot.
  EXPECT_FALSE(r.on_heartbeat(heartbeat("e1", 0), 0));
  EXPECT_TRUE(r.edge_synced("e1"));
  r.apply(delta("e1", 1, {conn("a", "/", "u1")}), 0);
  EXPECT_FALSE(r.on_heartbeat(heartbeat("e1", 1), 100));
  // The heartbeat says seq 3 was published; we saw 1.
  EXPECT_TRUE(r.on_heartbeat(heartbeat("e1", 3), 200));
  EXPECT_FALSE(r.on_heartbeat(heartbeat("e1", 3), 300));  // throttled
  // Unknown edge that already published: snapshot.
  EXPECT_TRUE(r.on_heartbeat(heartbeat("e2", 9), 0));
  // Restart (new boot id): old sockets go at once.
  r.apply(delta("e1", 4, {conn("z", "/", "u1")}, true), 400);
  EXPECT_NE(r.find_socket("z"), nullptr);
  EXPECT_FALSE(r.on_heartbeat(heartbeat("e1", 0, /*boot=*/2), 500));
  EXPECT_EQ(r.find_socket("z"), nullptr);
  EXPECT_TRUE(r.edge_synced("e1"));
}

TEST(PresenceRegistry, NewBootStartingAtSeqOneIsApplied) {
  PresenceRegistry r;
  r.apply(delta("e1", 1, {conn("a", "/", "u1")}), 0);
  EXPECT_FALSE(r.apply(delta("e1", 1, {conn("b", "/", "u2")}, false, /*boot=*/2), 10));
  EXPECT_EQ(r.find_socket("a"), nullptr);
  EXPECT_NE(r.find_socket("b"), nullptr);
}

TEST(PresenceRegistry, SilentEdgesExpire) {
  PresenceRegistry r({.heartbeat_timeout_ms = 5000, .snapshot_retry_ms = 1000});
  r.apply(delta("e1", 1, {conn("a", "/", "u1"), join("a", "r")}), 0);
  r.apply(delta("e2", 1, {conn("b", "/", "u1")}), 0);
  r.on_heartbeat(heartbeat("e2", 1), 4000);
  auto tick = r.tick(5001);
  EXPECT_EQ(tick.expired_edges, Strings{"e1"});
  EXPECT_EQ(r.edges(), Strings{"e2"});
  EXPECT_EQ(r.find_socket("a"), nullptr);
  EXPECT_EQ(r.room_count(), 0u);
  EXPECT_EQ(ids(r.user_sockets("u1", "")), Strings{"b"});
}

TEST(PresenceRegistry, SocketReconnectingOnAnotherEdgeMoves) {
  PresenceRegistry r;
  r.apply(delta("e1", 1, {conn("a", "/", "u1"), join("a", "r")}), 0);
  r.apply(delta("e2", 1, {conn("a", "/", "u1")}), 0);
  EXPECT_EQ(r.find_socket("a")->edge_id(), "e2");
  EXPECT_EQ(r.room_sockets("/", "r"), Strings{});
  r.drop_edge("e1");
  EXPECT_NE(r.find_socket("a"), nullptr);
}

// --- PresenceSync ------------------------------------------------------------------------------

class PresenceSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = bus::make_in_process_bus();
    sub_ = bus_->subscribe("herald.>",
                           [this](const std::string& subject, const bus::EnvelopePtr& envelope) {
                             published_.emplace_back(subject, envelope);
                           });
    PresenceSyncOptions options;
    options.broker_id = "b1";
    options.heartbeat_interval_ms = 1000;
    options.registry = {.heartbeat_timeout_ms = 5000, .snapshot_retry_ms = 2000};
    sync_ = std::make_shared<PresenceSync>(io_.get_executor(), *bus_, bus::Subjects("herald"),
                                           options, [this] { return now_; });
  }
  void run() {
    io_.restart();
    io_.poll();
  }
  std::vector<internal::SnapshotRequest> snapshot_requests() {
    std::vector<internal::SnapshotRequest> out;
    for (auto& [subject, env] : published_) {
      if (env->has_snapshot_request()) {
        EXPECT_EQ(subject, "herald.snapshot");
        out.push_back(env->snapshot_request());
      }
    }
    published_.clear();
    return out;
  }
  void publish(const std::string& subject, bus::Envelope envelope) {
    bus_->publish(subject, std::make_shared<const bus::Envelope>(std::move(envelope)));
    run();
  }

  int64_t now_ = 1000;
  boost::asio::io_context io_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Subscription> sub_;
  std::vector<std::pair<std::string, bus::EnvelopePtr>> published_;
  std::shared_ptr<PresenceSync> sync_;
};

TEST_F(PresenceSyncTest, StartAsksEveryEdgeThenGapAsksOne) {
  sync_->start(/*run_timer=*/false);
  run();
  auto requests = snapshot_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].edge_id(), "");
  EXPECT_EQ(requests[0].requester(), "b1");

  bus::Envelope env;
  *env.mutable_presence() = delta("e1", 1, {conn("a", "/", "u1")});
  publish("herald.presence.e1", env);
  EXPECT_NE(sync_->registry().find_socket("a"), nullptr);
  EXPECT_TRUE(snapshot_requests().empty());

  *env.mutable_presence() = delta("e1", 3, {conn("b", "/", "u1")});
  publish("herald.presence.e1", env);
  requests = snapshot_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].edge_id(), "e1");

  *env.mutable_presence() = delta("e1", 3, {conn("b", "/", "u1")}, true);
  publish("herald.presence.e1", env);
  EXPECT_EQ(sync_->registry().find_socket("a"), nullptr);
  EXPECT_NE(sync_->registry().find_socket("b"), nullptr);
}

TEST_F(PresenceSyncTest, TickExpiresEdgesAndPublishesBrokerHeartbeat) {
  sync_->start(false);
  run();
  published_.clear();
  bus::Envelope env;
  *env.mutable_presence() = delta("e1", 1, {conn("a", "/", "u1")});
  publish("herald.presence.e1", env);
  bus::Envelope peer;
  peer.mutable_heartbeat()->set_node_id("b2");
  peer.mutable_heartbeat()->set_role("broker");
  publish("herald.heartbeat.broker", peer);
  EXPECT_EQ(sync_->peer_brokers(), Strings{"b2"});

  now_ += 5001;
  sync_->tick();
  EXPECT_EQ(sync_->registry().socket_count(), 0u);
  EXPECT_TRUE(sync_->peer_brokers().empty());
  bool heartbeat = false;
  for (auto& [subject, e] : published_) {
    if (e->has_heartbeat() && e->heartbeat().node_id() == "b1") {
      heartbeat = true;
      EXPECT_EQ(subject, "herald.heartbeat.broker");
      EXPECT_EQ(e->heartbeat().role(), "broker");
    }
  }
  EXPECT_TRUE(heartbeat);
}

TEST_F(PresenceSyncTest, StoppedSyncIgnoresTheBus) {
  sync_->start(false);
  run();
  sync_->stop();
  bus::Envelope env;
  *env.mutable_presence() = delta("e1", 1, {conn("a", "/", "u1")});
  publish("herald.presence.e1", env);
  EXPECT_EQ(sync_->registry().socket_count(), 0u);
}

}  // namespace
}  // namespace herald::broker
