// PresenceRegistry: the cluster-wide view of sockets, users and rooms, rebuilt from the edges'
// sequenced PresenceDelta messages and heartbeats. A plain data structure: no threads, no bus, time
// passed in, so every rule is unit-testable (the bus binding is presence_sync.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "herald/internal/bus.pb.h"

namespace herald::broker {

// One socket as the registry knows it.
struct PresenceSocket {
  std::string socket_id;
  std::string ns;
  std::string user_id;             // "" for anonymous sockets
  std::string_view edge_id;        // views its edge's key in the registry (entries go before it)
  std::vector<std::string> rooms;  // in join order, without duplicates
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
  size_t room_count() const { return rooms_.size(); }
  std::map<std::string, uint64_t> sockets_per_namespace() const;
  std::vector<std::string> edges() const;  // sorted
  bool edge_synced(std::string_view edge_id) const;
  uint64_t edge_seq(std::string_view edge_id) const;  // last applied seq, 0 if unknown

 private:
  struct EdgeState;
  // A socket and where it sits in each index. The indexes are vectors with swap-remove (each
  // entry knows its position), so joins, leaves and disconnects are O(rooms of the socket), and
  // a one-member room or user costs one small vector instead of a hash set with its buckets.
  struct Entry : PresenceSocket {
    EdgeState* edge = nullptr;
    std::vector<uint32_t> room_pos;  // parallel to rooms: position in that room's members
    uint32_t edge_pos = 0;
    uint32_t ns_pos = 0;
    uint32_t user_pos = 0;  // when user_id is not empty
  };
  using Members = std::vector<Entry*>;

  struct EdgeState {
    std::string_view id;  // views its key in edges_
    uint64_t boot_id = 0;
    uint64_t last_seq = 0;
    bool synced = false;
    int64_t last_heard_ms = 0;
    int64_t snapshot_requested_ms = INT64_MIN;  // INT64_MIN: not requested for this gap yet
    Members sockets;
  };

  static std::string room_key(std::string_view ns, std::string_view room);
  EdgeState& edge_state(const std::string& edge_id, uint64_t boot_id, int64_t now_ms, bool* fresh);
  bool want_snapshot(EdgeState& edge, int64_t now_ms);
  void mark_unsynced(EdgeState& edge);
  void clear_edge_sockets(EdgeState& edge);
  void apply_change(EdgeState& edge, const internal::PresenceChange& change);
  void add_socket(EdgeState& edge, const internal::PresenceChange& c);
  void remove_socket(const std::string& socket_id);
  void remove_entry(Entry& entry);
  void join(const std::string& socket_id, const std::string& room);
  void leave(const std::string& socket_id, const std::string& room);
  // Takes the membership at rooms[index] out of the room's members (and the room, once empty).
  void leave_at(Entry& entry, size_t index);

  PresenceOptions options_;
  std::unordered_map<std::string, EdgeState> edges_;
  std::unordered_map<std::string_view, Entry> sockets_;  // keys view the entries' socket_id
  std::unordered_map<std::string, Members> rooms_;       // room_key → members
  std::unordered_map<std::string, Members> users_;       // user → sockets
  std::unordered_map<std::string, Members> ns_;          // ns → sockets
};

}  // namespace herald::broker
