// PresenceRegistry: the cluster-wide view of sockets, users and rooms, rebuilt from the edges'
// sequenced PresenceDelta messages and heartbeats. A plain data structure: no threads, no bus, time
// passed in, so every rule is unit-testable (the bus binding is presence_sync.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/compact_id.h"
#include "broker/string_hash.h"
#include "common/inline_one_vector.h"
#include "herald/internal/bus.pb.h"

namespace herald::broker {

class PresenceSocket;
struct PresenceEdge;
struct PresenceNamespace;

using SocketList = InlineOneVector<PresenceSocket*>;  // most rooms and users have one socket
using SocketsByName = std::unordered_map<std::string, SocketList, StringHash, std::equal_to<>>;

// One socket as the registry knows it: each string is held once, by the index it belongs to
// (namespace, user and room names are the keys of those maps; the socket points at their
// entries), and the id is inline. Accessors are views into the registry, valid until it changes.
class PresenceSocket {
 public:
  explicit PresenceSocket(std::string_view id) : id_(id) {}
  PresenceSocket(const PresenceSocket&) = delete;
  PresenceSocket& operator=(const PresenceSocket&) = delete;

  std::string_view socket_id() const { return id_; }
  std::string_view ns() const;
  std::string_view user_id() const;  // "" for anonymous sockets
  std::string_view edge_id() const;
  std::vector<std::string> rooms() const;  // in join order, without duplicates

 private:
  friend class PresenceRegistry;
  // A room the socket is in and the socket's position in that room's members.
  struct Membership {
    SocketsByName::value_type* room = nullptr;
    uint32_t pos = 0;
  };

  CompactId id_;
  std::pair<const std::string, PresenceNamespace>* ns_ = nullptr;
  SocketsByName::value_type* user_ = nullptr;
  PresenceEdge* edge_ = nullptr;
  InlineOneVector<Membership> rooms_;  // in join order; most sockets are in one room
  uint32_t edge_pos_ = 0;              // positions in the swap-remove indexes: O(1) removal
  uint32_t ns_pos_ = 0;
  uint32_t user_pos_ = 0;
};

// The sockets of one namespace, and its rooms by name.
struct PresenceNamespace {
  std::vector<PresenceSocket*> sockets;
  SocketsByName rooms;
};

struct PresenceEdge {
  std::string_view id;  // views its key in the registry's edges
  uint64_t boot_id = 0;
  uint64_t last_seq = 0;
  bool synced = false;
  int64_t last_heard_ms = 0;
  int64_t snapshot_requested_ms = INT64_MIN;  // INT64_MIN: not requested for this gap yet
  std::vector<PresenceSocket*> sockets;
};

struct PresenceOptions {
  int64_t heartbeat_timeout_ms = 5000;  // an edge silent this long is dropped with its sockets
  int64_t snapshot_retry_ms = 2000;     // re-ask a snapshot that has not arrived after this long
};

// Sequencing rules, per edge (keyed by PresenceDelta.edge_id / Heartbeat.node_id):
// - A snapshot (PresenceDelta.snapshot) always replaces everything known about the edge; the next
//   expected delta is snapshot.seq + 1.
// - A delta with seq == last + 1 (same boot_id) is applied; seq <= last is a duplicate, ignored.
// - A gap (seq > last + 1), an unknown edge whose first delta is not seq 1, a heartbeat whose seq
//   is ahead of what was applied, or an unknown edge with seq > 0: the edge is "unsynced" and a
//   snapshot is wanted. Deltas of an unsynced edge are ignored (the snapshot supersedes them); its
//   last known entries stay visible meanwhile.
// - A new boot_id means the edge restarted: its old sockets are dropped at once.
// - Every delta or heartbeat refreshes the edge's liveness; expire() drops silent edges.
class PresenceRegistry {
 public:
  explicit PresenceRegistry(PresenceOptions options = {}) : options_(options) {}

  // Returns true when the caller should publish SnapshotRequest{edge_id} now (at most once per
  // snapshot_retry_ms per edge).
  bool apply(const internal::PresenceDelta& delta, int64_t now_ms);
  bool on_heartbeat(const internal::Heartbeat& heartbeat, int64_t now_ms);

  struct TickResult {
    std::vector<std::string> expired_edges;   // dropped, with their sockets
    std::vector<std::string> snapshot_edges;  // still unsynced: ask again
  };
  TickResult tick(int64_t now_ms);

  // Counts every known edge as heard now (the bus was down: their heartbeats could not arrive).
  void touch_all(int64_t now_ms) {
    for (auto& [id, edge] : edges_) edge.last_heard_ms = now_ms;
  }

  // Forgets an edge and its sockets (also used by expiry).
  void drop_edge(std::string_view edge_id);

  // --- queries ---
  const PresenceSocket* find_socket(std::string_view socket_id) const;
  // Sockets of a user; ns "" = every namespace. Ordered by socket id.
  std::vector<const PresenceSocket*> user_sockets(std::string_view user_id,
                                                  std::string_view ns) const;
  // Socket ids in one room of a namespace, sorted.
  std::vector<std::string> room_sockets(std::string_view ns, std::string_view room) const;
  // Sockets an emit reaches: members of any of `rooms` (every socket of ns when empty), minus
  // members of `except_rooms` and the listed socket ids. Sorted.
  std::vector<std::string> target_sockets(std::string_view ns,
                                          const std::vector<std::string>& rooms,
                                          const std::vector<std::string>& except_rooms,
                                          const std::vector<std::string>& except_socket_ids) const;
  size_t count_targets(std::string_view ns, const std::vector<std::string>& rooms,
                       const std::vector<std::string>& except_rooms,
                       const std::vector<std::string>& except_socket_ids) const;

  size_t socket_count() const { return sockets_.size(); }
  size_t user_count() const { return users_.size(); }
  size_t room_count() const { return room_count_; }
  std::map<std::string, uint64_t> sockets_per_namespace() const;
  std::vector<std::string> edges() const;  // sorted
  bool edge_synced(std::string_view edge_id) const;
  uint64_t edge_seq(std::string_view edge_id) const;  // last applied seq, 0 if unknown

 private:
  using EdgeState = PresenceEdge;
  // The indexes (edge, namespace, room and user members) are lists with swap-remove: each socket
  // knows its position in them, so joins, leaves and disconnects are O(rooms of the socket).
  // Sets of sockets are keyed by their id; only the id is hashed and compared, so the rest of a
  // socket may change in place (mutable_socket).
  static std::string_view id_of(const PresenceSocket& s) { return s.socket_id(); }
  using SocketSet = std::unordered_set<PresenceSocket, IdKeyHash<PresenceSocket, &id_of>,
                                       IdKeyEq<PresenceSocket, &id_of>>;
  using NamespaceMap =
      std::unordered_map<std::string, PresenceNamespace, StringHash, std::equal_to<>>;

  static PresenceSocket& mutable_socket(const PresenceSocket& s) {
    return const_cast<PresenceSocket&>(s);  // NOLINT: the set's key (the id) is never changed
  }
  PresenceSocket* find_mutable(std::string_view socket_id);
  const SocketList* find_room(std::string_view ns, std::string_view room) const;
  EdgeState& edge_state(const std::string& edge_id, uint64_t boot_id, int64_t now_ms, bool* fresh);
  bool want_snapshot(EdgeState& edge, int64_t now_ms);
  void mark_unsynced(EdgeState& edge);
  void clear_edge_sockets(EdgeState& edge);
  void apply_change(EdgeState& edge, const internal::PresenceChange& change);
  void add_socket(EdgeState& edge, const internal::PresenceChange& c);
  void remove_socket(std::string_view socket_id);
  void remove_entry(PresenceSocket& s);
  void join(std::string_view socket_id, std::string_view room);
  void leave(std::string_view socket_id, std::string_view room);
  // Takes the socket's membership at `index` (join order) out of the room's members (and the
  // room, once empty).
  void leave_at(PresenceSocket& s, uint32_t index);

  PresenceOptions options_;
  std::unordered_map<std::string, EdgeState> edges_;
  SocketSet sockets_;
  NamespaceMap namespaces_;  // ns → its sockets and rooms
  SocketsByName users_;      // user → sockets
  size_t room_count_ = 0;    // over every namespace
};

}  // namespace herald::broker
