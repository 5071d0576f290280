// Presence registry: sequencing, snapshots, expiry and the socket/user/room indexes.
#include "broker/presence/presence_registry.h"

#include <algorithm>
#include <set>

namespace herald::broker {

std::string PresenceRegistry::room_key(std::string_view ns, std::string_view room) {
  std::string key;
  key.reserve(ns.size() + room.size() + 1);
  key.append(ns);
  key.push_back('\0');  // never part of a namespace name given by Socket.IO
  key.append(room);
  return key;
}

PresenceRegistry::EdgeState& PresenceRegistry::edge_state(const std::string& edge_id,
                                                          uint64_t boot_id, int64_t now_ms,
                                                          bool* fresh) {
  auto [it, inserted] = edges_.try_emplace(edge_id);
  EdgeState& edge = it->second;
  *fresh = inserted;
  if (inserted) {
    edge.boot_id = boot_id;
  } else if (edge.boot_id != boot_id) {
    // The edge restarted: whatever it had before is gone.
    clear_edge_sockets(edge);
    edge.boot_id = boot_id;
    edge.last_seq = 0;
    edge.synced = false;
    edge.snapshot_requested_ms = INT64_MIN;
    *fresh = true;
  }
  edge.last_heard_ms = now_ms;
  return edge;
}

bool PresenceRegistry::want_snapshot(EdgeState& edge, int64_t now_ms) {
  if (edge.synced) return false;
  if (edge.snapshot_requested_ms != INT64_MIN &&
      now_ms - edge.snapshot_requested_ms < options_.snapshot_retry_ms) {
    return false;
  }
  edge.snapshot_requested_ms = now_ms;
  return true;
}

void PresenceRegistry::mark_unsynced(EdgeState& edge) {
  if (edge.synced) edge.snapshot_requested_ms = INT64_MIN;
  edge.synced = false;
}

bool PresenceRegistry::apply(const internal::PresenceDelta& delta, int64_t now_ms) {
  bool fresh = false;
  EdgeState& edge = edge_state(delta.edge_id(), delta.boot_id(), now_ms, &fresh);
  if (delta.snapshot()) {
    clear_edge_sockets(edge);
    for (const auto& change : delta.changes()) apply_change(delta.edge_id(), edge, change);
    edge.last_seq = delta.seq();
    edge.synced = true;
    edge.snapshot_requested_ms = INT64_MIN;
    return false;
  }
  if (fresh) {
    if (delta.seq() == 1) {
      edge.synced = true;
    } else {
      mark_unsynced(edge);
      return want_snapshot(edge, now_ms);
    }
  } else if (!edge.synced) {
    return want_snapshot(edge, now_ms);  // the snapshot will supersede this delta
  } else if (delta.seq() <= edge.last_seq) {
    return false;  // duplicate or stale
  } else if (delta.seq() > edge.last_seq + 1) {
    mark_unsynced(edge);
    return want_snapshot(edge, now_ms);
  }
  for (const auto& change : delta.changes()) apply_change(delta.edge_id(), edge, change);
  edge.last_seq = delta.seq();
  return false;
}

bool PresenceRegistry::on_heartbeat(const internal::Heartbeat& heartbeat, int64_t now_ms) {
  bool fresh = false;
  EdgeState& edge = edge_state(heartbeat.node_id(), heartbeat.boot_id(), now_ms, &fresh);
  if (fresh) {
    edge.last_seq = 0;
    if (heartbeat.seq() == 0) {
      edge.synced = true;  // the edge never published anything: nothing to learn
      return false;
    }
    mark_unsynced(edge);
    return want_snapshot(edge, now_ms);
  }
  if (edge.synced && heartbeat.seq() > edge.last_seq) mark_unsynced(edge);  // deltas were lost
  return want_snapshot(edge, now_ms);
}

PresenceRegistry::TickResult PresenceRegistry::tick(int64_t now_ms) {
  TickResult out;
  for (auto& [id, edge] : edges_) {
    if (now_ms - edge.last_heard_ms > options_.heartbeat_timeout_ms) {
      out.expired_edges.push_back(id);
    } else if (want_snapshot(edge, now_ms)) {
      out.snapshot_edges.push_back(id);
    }
  }
  for (const std::string& id : out.expired_edges) drop_edge(id);
  std::sort(out.expired_edges.begin(), out.expired_edges.end());
  std::sort(out.snapshot_edges.begin(), out.snapshot_edges.end());
  return out;
}

void PresenceRegistry::drop_edge(std::string_view edge_id) {
  auto it = edges_.find(std::string(edge_id));
  if (it == edges_.end()) return;
  clear_edge_sockets(it->second);
  edges_.erase(it);
}

void PresenceRegistry::clear_edge_sockets(EdgeState& edge) {
  std::unordered_set<std::string> sockets = std::move(edge.sockets);
  edge.sockets.clear();
  for (const std::string& id : sockets) remove_socket(id);
}

void PresenceRegistry::apply_change(const std::string& edge_id, EdgeState& edge,
                                    const internal::PresenceChange& change) {
  switch (change.op()) {
    case internal::PresenceChange::OP_CONNECT:
      add_socket(edge_id, edge, change);
      break;
    case internal::PresenceChange::OP_DISCONNECT:
      edge.sockets.erase(change.socket_id());
      remove_socket(change.socket_id());
      break;
    case internal::PresenceChange::OP_JOIN:
      join(change.socket_id(), change.room());
      break;
    case internal::PresenceChange::OP_LEAVE:
      leave(change.socket_id(), change.room());
      break;
    default:
      break;  // unknown ops from a newer edge are ignored
  }
}

void PresenceRegistry::add_socket(const std::string& edge_id, EdgeState& edge,
                                  const internal::PresenceChange& c) {
  if (c.socket_id().empty()) return;
  auto existing = sockets_.find(c.socket_id());
  if (existing != sockets_.end()) {
    // Reconnected under the same id (or moved edges): start over.
    if (auto other = edges_.find(existing->second.edge_id); other != edges_.end()) {
      other->second.sockets.erase(c.socket_id());
    }
    remove_socket(c.socket_id());
  }
  PresenceSocket& s = sockets_[c.socket_id()];
  s.socket_id = c.socket_id();
  s.ns = c.ns().empty() ? "/" : c.ns();
  s.user_id = c.user_id();
  s.edge_id = edge_id;
  edge.sockets.insert(c.socket_id());
  ns_[s.ns].insert(c.socket_id());
  if (!s.user_id.empty()) users_[s.user_id].insert(c.socket_id());
  // A snapshot may carry the socket's rooms on the CONNECT change itself.
  if (!c.room().empty()) join(c.socket_id(), c.room());
}

void PresenceRegistry::remove_socket(const std::string& socket_id) {
  auto it = sockets_.find(socket_id);
  if (it == sockets_.end()) return;
  PresenceSocket& s = it->second;
  for (const std::string& room : s.rooms) {
    auto r = rooms_.find(room_key(s.ns, room));
    if (r == rooms_.end()) continue;
    r->second.erase(socket_id);
    if (r->second.empty()) rooms_.erase(r);
  }
  if (!s.user_id.empty()) {
    auto u = users_.find(s.user_id);
    if (u != users_.end()) {
      u->second.erase(socket_id);
      if (u->second.empty()) users_.erase(u);
    }
  }
  auto n = ns_.find(s.ns);
  if (n != ns_.end()) {
    n->second.erase(socket_id);
    if (n->second.empty()) ns_.erase(n);
  }
  sockets_.erase(it);
}

void PresenceRegistry::join(const std::string& socket_id, const std::string& room) {
  auto it = sockets_.find(socket_id);
  if (it == sockets_.end() || room.empty()) return;
  PresenceSocket& s = it->second;
  if (std::find(s.rooms.begin(), s.rooms.end(), room) != s.rooms.end()) return;
  s.rooms.push_back(room);
  rooms_[room_key(s.ns, room)].insert(socket_id);
}

void PresenceRegistry::leave(const std::string& socket_id, const std::string& room) {
  auto it = sockets_.find(socket_id);
  if (it == sockets_.end()) return;
  PresenceSocket& s = it->second;
  auto pos = std::find(s.rooms.begin(), s.rooms.end(), room);
  if (pos == s.rooms.end()) return;
  s.rooms.erase(pos);
  auto r = rooms_.find(room_key(s.ns, room));
  if (r == rooms_.end()) return;
  r->second.erase(socket_id);
  if (r->second.empty()) rooms_.erase(r);
}

const PresenceSocket* PresenceRegistry::find_socket(std::string_view socket_id) const {
  auto it = sockets_.find(std::string(socket_id));
  return it == sockets_.end() ? nullptr : &it->second;
}

std::vector<const PresenceSocket*> PresenceRegistry::user_sockets(std::string_view user_id,
                                                                  std::string_view ns) const {
  std::vector<const PresenceSocket*> out;
  auto u = users_.find(std::string(user_id));
  if (u == users_.end()) return out;
  for (const std::string& id : u->second) {
    const PresenceSocket& s = sockets_.at(id);
    if (ns.empty() || s.ns == ns) out.push_back(&s);
  }
  std::sort(out.begin(), out.end(), [](const PresenceSocket* a, const PresenceSocket* b) {
    return a->socket_id < b->socket_id;
  });
  return out;
}

std::vector<std::string> PresenceRegistry::room_sockets(std::string_view ns,
                                                        std::string_view room) const {
  std::vector<std::string> out;
  auto r = rooms_.find(room_key(ns, room));
  if (r != rooms_.end()) out.assign(r->second.begin(), r->second.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PresenceRegistry::target_sockets(
    std::string_view ns, const std::vector<std::string>& rooms,
    const std::vector<std::string>& except_rooms,
    const std::vector<std::string>& except_socket_ids) const {
  std::set<std::string> picked;
  if (rooms.empty()) {
    if (auto n = ns_.find(std::string(ns)); n != ns_.end())
      picked.insert(n->second.begin(), n->second.end());
  } else {
    for (const std::string& room : rooms) {
      if (auto r = rooms_.find(room_key(ns, room)); r != rooms_.end()) {
        picked.insert(r->second.begin(), r->second.end());
      }
    }
  }
  for (const std::string& room : except_rooms) {
    if (auto r = rooms_.find(room_key(ns, room)); r != rooms_.end()) {
      for (const std::string& id : r->second) picked.erase(id);
    }
  }
  for (const std::string& id : except_socket_ids) picked.erase(id);
  return {picked.begin(), picked.end()};
}

size_t PresenceRegistry::count_targets(std::string_view ns, const std::vector<std::string>& rooms,
                                       const std::vector<std::string>& except_rooms,
                                       const std::vector<std::string>& except_socket_ids) const {
  if (rooms.empty() && except_rooms.empty() && except_socket_ids.empty()) {
    auto n = ns_.find(std::string(ns));
    return n == ns_.end() ? 0 : n->second.size();
  }
  if (rooms.size() == 1 && except_rooms.empty() && except_socket_ids.empty()) {
    // The common broadcast to one room: its size, without building the set of 1000s of ids
    // (per Broadcast RPC, that cost as much as the delivery itself).
    auto r = rooms_.find(room_key(ns, rooms.front()));
    return r == rooms_.end() ? 0 : r->second.size();
  }
  return target_sockets(ns, rooms, except_rooms, except_socket_ids).size();
}

std::map<std::string, uint64_t> PresenceRegistry::sockets_per_namespace() const {
  std::map<std::string, uint64_t> out;
  for (const auto& [name, sockets] : ns_) out[name] = sockets.size();
  return out;
}

std::vector<std::string> PresenceRegistry::edges() const {
  std::vector<std::string> out;
  out.reserve(edges_.size());
  for (const auto& [id, edge] : edges_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

bool PresenceRegistry::edge_synced(std::string_view edge_id) const {
  auto it = edges_.find(std::string(edge_id));
  return it != edges_.end() && it->second.synced;
}

uint64_t PresenceRegistry::edge_seq(std::string_view edge_id) const {
  auto it = edges_.find(std::string(edge_id));
  return it == edges_.end() ? 0 : it->second.last_seq;
}

}  // namespace herald::broker
