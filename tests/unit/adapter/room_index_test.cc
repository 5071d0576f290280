// RoomIndex: membership bookkeeping in both directions and the delivery recipient rules.
#include "edge/adapter/room_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>

#include "tests/unit/adapter/fake_local_socket.h"

namespace herald::edge {
namespace {

using testing::FakeLocalSocket;
using JoinResult = RoomIndex::JoinResult;

class RecordingObserver final : public RoomObserver {
 public:
  void on_room_created(std::string_view ns, std::string_view room) override {
    events.push_back("+room " + std::string(ns) + " " + std::string(room));
  }
  void on_room_deleted(std::string_view ns, std::string_view room) override {
    events.push_back("-room " + std::string(ns) + " " + std::string(room));
  }
  void on_namespace_created(const std::string& ns) override { events.push_back("+ns " + ns); }
  void on_namespace_deleted(const std::string& ns) override { events.push_back("-ns " + ns); }
  std::vector<std::string> events;
};

std::set<std::string> ids_of(std::span<LocalSocket* const> sockets) {
  std::set<std::string> out;
  for (auto* s : sockets) out.insert(std::string(s->id()));
  return out;
}

std::set<std::string> member_ids(const RoomIndex& index, std::string_view ns,
                                 std::string_view room) {
  const auto* m = index.members(ns, room);
  return m == nullptr ? std::set<std::string>{} : ids_of(*m);
}

TEST(RoomIndexTest, JoinLeaveAndObserverEvents) {
  RecordingObserver observer;
  RoomIndex index(&observer);
  FakeLocalSocket a("a", "/"), b("b", "/");
  ASSERT_TRUE(index.add_socket(a));
  ASSERT_TRUE(index.add_socket(b));
  EXPECT_FALSE(index.add_socket(a));
  index.enter_namespace(a);
  index.enter_namespace(b);
  EXPECT_EQ(index.join(a, "r", 10), JoinResult::kJoined);
  EXPECT_EQ(index.join(a, "r", 10), JoinResult::kAlreadyMember);
  EXPECT_EQ(index.join(b, "r", 10), JoinResult::kJoined);
  EXPECT_EQ(member_ids(index, "/", "r"), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(index.leave(a, "r"));
  EXPECT_FALSE(index.leave(a, "r"));
  EXPECT_EQ(member_ids(index, "/", "r"), (std::set<std::string>{"b"}));
  index.remove_socket(b);
  index.remove_socket(a);
  EXPECT_EQ(index.members("/", "r"), nullptr);
  EXPECT_EQ(index.find("a"), nullptr);
  EXPECT_EQ(observer.events,
            (std::vector<std::string>{"+ns /", "+room / r", "-room / r", "-ns /"}));
}

TEST(RoomIndexTest, OwnRoomIsImplicitAndLimitCountsExplicitRooms) {
  RoomIndex index;
  FakeLocalSocket a("sock-a", "/");
  ASSERT_TRUE(index.add_socket(a));
  index.enter_namespace(a);
  EXPECT_TRUE(index.in_room(a, "sock-a"));
  EXPECT_EQ(index.join(a, "sock-a", 1), JoinResult::kAlreadyMember);
  EXPECT_EQ(index.join(a, "x", 1), JoinResult::kJoined);
  EXPECT_EQ(index.join(a, "y", 1), JoinResult::kLimitReached);
  EXPECT_EQ(index.room_count(a), 1u);
  EXPECT_FALSE(index.in_room(a, "y"));
}

TEST(RoomIndexTest, RoomsAreScopedByNamespace) {
  RoomIndex index;
  FakeLocalSocket a("a", "/"), b("b", "/chat");
  ASSERT_TRUE(index.add_socket(a));
  ASSERT_TRUE(index.add_socket(b));
  index.enter_namespace(a);
  index.enter_namespace(b);
  index.join(a, "r", 10);
  index.join(b, "r", 10);
  EXPECT_EQ(member_ids(index, "/", "r"), (std::set<std::string>{"a"}));
  EXPECT_EQ(member_ids(index, "/chat", "r"), (std::set<std::string>{"b"}));
  // Names with separators and NULs do not collide.
  FakeLocalSocket c("c", std::string("/x\0y", 4));
  ASSERT_TRUE(index.add_socket(c));
  index.join(c, "z", 10);
  EXPECT_EQ(index.members("/x", std::string("y\0z", 3)), nullptr);
}

// Random joins/leaves/removals against a simple model: both directions stay consistent.
TEST(RoomIndexTest, SwapRemoveKeepsBothDirectionsConsistent) {
  RoomIndex index;
  std::vector<std::unique_ptr<FakeLocalSocket>> sockets;
  std::map<std::string, std::set<std::string>> model;  // room -> ids
  for (int i = 0; i < 40; ++i) {
    sockets.push_back(std::make_unique<FakeLocalSocket>("s" + std::to_string(i), "/"));
    ASSERT_TRUE(index.add_socket(*sockets.back()));
    index.enter_namespace(*sockets.back());
  }
  std::mt19937 rng(7);
  for (int step = 0; step < 5000; ++step) {
    auto& s = *sockets[rng() % sockets.size()];
    std::string room = "r" + std::to_string(rng() % 6);
    if (rng() % 2 == 0) {
      index.join(s, room, 100);
      model[room].insert(std::string(s.id()));
    } else {
      index.leave(s, room);
      model[room].erase(std::string(s.id()));
    }
  }
  for (int r = 0; r < 6; ++r) {
    std::string room = "r" + std::to_string(r);
    EXPECT_EQ(member_ids(index, "/", room), model[room]) << room;
  }
  for (auto& s : sockets) {
    for (int r = 0; r < 6; ++r) {
      std::string room = "r" + std::to_string(r);
      EXPECT_EQ(index.in_room(*s, room), model[room].count(std::string(s->id())) == 1);
    }
  }
  for (auto& s : sockets) index.remove_socket(*s);
  EXPECT_EQ(index.total_rooms(), 0u);
  EXPECT_EQ(index.socket_count(), 0u);
  EXPECT_EQ(index.namespace_members("/"), nullptr);
}

class RecipientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* s : {&a_, &b_, &c_, &d_, &other_ns_}) {
      ASSERT_TRUE(index_.add_socket(*s));
      index_.enter_namespace(*s);
    }
    index_.join(a_, "r1", 10);
    index_.join(b_, "r1", 10);
    index_.join(b_, "r2", 10);
    index_.join(c_, "r2", 10);
    index_.join(d_, "r3", 10);
    index_.join(c_, "muted", 10);
    index_.join(other_ns_, "r1", 10);
  }

  std::set<std::string> recipients(const internal::Delivery& d, DeliveryScope scope,
                                   std::string_view room = {}) {
    std::vector<LocalSocket*> out;
    index_.collect_recipients(d, scope, room, out);
    EXPECT_EQ(ids_of(out).size(), out.size()) << "a socket was selected twice";
    return ids_of(out);
  }

  RoomIndex index_;
  FakeLocalSocket a_{"a", "/"}, b_{"b", "/"}, c_{"c", "/"}, d_{"d", "/"};
  FakeLocalSocket other_ns_{"o", "/chat"};
};

TEST_F(RecipientsTest, RoomSubjectsDeduplicateAcrossTargetRooms) {
  internal::Delivery d;
  d.set_ns("/");
  d.add_rooms("r1");
  d.add_rooms("r2");
  // b is in r1 and r2: it gets the copy published on r1 only.
  EXPECT_EQ(recipients(d, DeliveryScope::kRoom, "r1"), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(recipients(d, DeliveryScope::kRoom, "r2"), (std::set<std::string>{"c"}));
}

TEST_F(RecipientsTest, ExceptRoomsAndSocketIds) {
  internal::Delivery d;
  d.set_ns("/");
  d.add_rooms("r1");
  d.add_rooms("r2");
  d.add_except_rooms("muted");
  d.add_except_socket_ids("a");
  EXPECT_EQ(recipients(d, DeliveryScope::kRoom, "r1"), (std::set<std::string>{"b"}));
  EXPECT_EQ(recipients(d, DeliveryScope::kRoom, "r2"), (std::set<std::string>{}));
  // A socket's own room works as an except room.
  internal::Delivery e;
  e.set_ns("/");
  e.add_rooms("r1");
  e.add_except_rooms("b");
  EXPECT_EQ(recipients(e, DeliveryScope::kRoom, "r1"), (std::set<std::string>{"a"}));
}

TEST_F(RecipientsTest, NamespaceScopeReachesEverySocketOfTheNamespace) {
  internal::Delivery d;
  d.set_ns("/");
  d.add_except_rooms("r3");
  EXPECT_EQ(recipients(d, DeliveryScope::kNamespace), (std::set<std::string>{"a", "b", "c"}));
  internal::Delivery chat;
  chat.set_ns("/chat");
  EXPECT_EQ(recipients(chat, DeliveryScope::kNamespace), (std::set<std::string>{"o"}));
}

TEST_F(RecipientsTest, EdgeScopeIsTheUnionIncludingOwnRooms) {
  internal::Delivery d;
  d.set_ns("/");
  d.add_rooms("r2");
  d.add_rooms("d");  // d's own room
  d.add_rooms("r1");
  EXPECT_EQ(recipients(d, DeliveryScope::kEdge), (std::set<std::string>{"a", "b", "c", "d"}));
  // Own room of a socket of another namespace does not match.
  internal::Delivery wrong_ns;
  wrong_ns.set_ns("/");
  wrong_ns.add_rooms("o");
  EXPECT_EQ(recipients(wrong_ns, DeliveryScope::kEdge), (std::set<std::string>{}));
}

TEST_F(RecipientsTest, SubjectRoomMissingFromTargetsStillDelivers) {
  internal::Delivery d;
  d.set_ns("/");
  d.add_rooms("r9");
  EXPECT_EQ(recipients(d, DeliveryScope::kRoom, "r3"), (std::set<std::string>{"d"}));
}

}  // namespace
// A user:<sub> room per connected user (issue #7's idle memory): its entry fits malloc's 64 B
// chunk with the member inline, and the table adds a pointer slot, not a node.
TEST(RoomIndexMemory, RoomEntrySize) {
  EXPECT_LE(sizeof(RoomMembers), 48u);
  EXPECT_LE(sizeof(InlineOneVector<LocalSocket*>), 16u);
}

}  // namespace herald::edge
