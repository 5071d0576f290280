// Heap bytes the PresenceRegistry keeps per connected socket (the broker's share of the idle
// memory per connection, docs/benchmarks.md): counted with a replaced global operator new.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "broker/presence/presence_registry.h"
#include "tests/support/counting_new.h"

namespace herald::broker {
namespace {

// The connect benchmark's shape: every socket has its own user and is in "user:<sub>"; ids are
// the edge's 20 characters.
TEST(PresenceMemory, BytesPerSocketWithAUserRoom) {
  constexpr int kSockets = 5000;
  PresenceRegistry registry;
  std::vector<internal::PresenceDelta> deltas(kSockets);
  for (int i = 0; i < kSockets; ++i) {
    auto& d = deltas[static_cast<size_t>(i)];
    d.set_edge_id("bench-1");
    d.set_boot_id(1);
    d.set_seq(static_cast<uint64_t>(i) + 1);
    char id[21];
    std::snprintf(id, sizeof(id), "AbCd0%015d", i);
    auto* c = d.add_changes();
    c->set_op(internal::PresenceChange::OP_CONNECT);
    c->set_socket_id(id);
    c->set_ns("/");
    c->set_user_id("c" + std::to_string(i));
    auto* j = d.add_changes();
    j->set_op(internal::PresenceChange::OP_JOIN);
    j->set_socket_id(id);
    j->set_ns("/");
    j->set_room("user:c" + std::to_string(i));
  }
  const long long before = herald::testing::g_live_bytes.load();
  for (const auto& d : deltas) registry.apply(d, 0);
  const long long per_socket = (herald::testing::g_live_bytes.load() - before) / kSockets;
  std::printf("PresenceRegistry: %lld bytes per socket (requested)\n", per_socket);
  ASSERT_EQ(registry.socket_count(), static_cast<size_t>(kSockets));
  ASSERT_EQ(registry.room_count(), static_cast<size_t>(kSockets));
  // 250 measured: the socket's set node (88: inline id, its one room inline), a user and a room
  // map node (56 each: one member inline), hash buckets and the namespace and edge lists. The
  // layout before (heap id, room names copied per socket, std::vector members) took 493, and the
  // sets of id strings before that 1016.
  EXPECT_LE(per_socket, 270);
}

}  // namespace
}  // namespace herald::broker
