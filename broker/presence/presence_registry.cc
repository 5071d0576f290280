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
    edge.id = it->first;
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
    for (const auto& change : delta.changes()) apply_change(edge, change);
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
  for (const auto& change : delta.changes()) apply_change(edge, change);
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

namespace {

// Swap-remove of members[pos]; returns the entry that moved into pos (null when none did).
template <typename T>
T* swap_remove(std::vector<T*>& members, uint32_t pos) {
  T* last = members.back();
  members.pop_back();
  if (pos == members.size()) return nullptr;
  members[pos] = last;
  return last;
}

}  // namespace

void PresenceRegistry::clear_edge_sockets(EdgeState& edge) {
  while (!edge.sockets.empty()) remove_entry(*edge.sockets.back());
}

void PresenceRegistry::apply_change(EdgeState& edge, const internal::PresenceChange& change) {
  switch (change.op()) {
    case internal::PresenceChange::OP_CONNECT:
      add_socket(edge, change);
      break;
    case internal::PresenceChange::OP_DISCONNECT:
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

void PresenceRegistry::add_socket(EdgeState& edge, const internal::PresenceChange& c) {
  if (c.socket_id().empty()) return;
  // Reconnected under the same id (or moved edges): start over.
  remove_socket(c.socket_id());
  // The key views the entry's own id: re-keyed once the entry holds it (nodes never move).
  auto node = sockets_.extract(sockets_.try_emplace(std::string_view(c.socket_id())).first);
  Entry& fresh = node.mapped();
  fresh.socket_id = c.socket_id();
  node.key() = fresh.socket_id;
  Entry& s = sockets_.insert(std::move(node)).position->second;
  s.ns = c.ns().empty() ? "/" : c.ns();
  s.user_id = c.user_id();
  s.edge_id = edge.id;
  s.edge = &edge;
  s.edge_pos = static_cast<uint32_t>(edge.sockets.size());
  edge.sockets.push_back(&s);
  Members& in_ns = ns_[s.ns];
  s.ns_pos = static_cast<uint32_t>(in_ns.size());
  in_ns.push_back(&s);
  if (!s.user_id.empty()) {
    Members& of_user = users_[s.user_id];
    s.user_pos = static_cast<uint32_t>(of_user.size());
    of_user.push_back(&s);
  }
  // A snapshot may carry the socket's rooms on the CONNECT change itself.
  if (!c.room().empty()) join(c.socket_id(), c.room());
}

void PresenceRegistry::remove_socket(const std::string& socket_id) {
  auto it = sockets_.find(std::string_view(socket_id));
  if (it != sockets_.end()) remove_entry(it->second);
}

void PresenceRegistry::remove_entry(Entry& s) {
  while (!s.rooms.empty()) leave_at(s, s.rooms.size() - 1);
  if (!s.user_id.empty()) {
    if (auto u = users_.find(s.user_id); u != users_.end()) {
      if (Entry* moved = swap_remove(u->second, s.user_pos)) moved->user_pos = s.user_pos;
      if (u->second.empty()) users_.erase(u);
    }
  }
  if (auto n = ns_.find(s.ns); n != ns_.end()) {
    if (Entry* moved = swap_remove(n->second, s.ns_pos)) moved->ns_pos = s.ns_pos;
    if (n->second.empty()) ns_.erase(n);
  }
  if (s.edge != nullptr) {
    if (Entry* moved = swap_remove(s.edge->sockets, s.edge_pos)) moved->edge_pos = s.edge_pos;
  }
  // By iterator: the key views the entry being destroyed.
  sockets_.erase(sockets_.find(std::string_view(s.socket_id)));
}

void PresenceRegistry::join(const std::string& socket_id, const std::string& room) {
  auto it = sockets_.find(std::string_view(socket_id));
  if (it == sockets_.end() || room.empty()) return;
  Entry& s = it->second;
  if (std::find(s.rooms.begin(), s.rooms.end(), room) != s.rooms.end()) return;
  Members& members = rooms_[room_key(s.ns, room)];
  s.rooms.push_back(room);
  s.room_pos.push_back(static_cast<uint32_t>(members.size()));
  members.push_back(&s);
}

void PresenceRegistry::leave(const std::string& socket_id, const std::string& room) {
  auto it = sockets_.find(std::string_view(socket_id));
  if (it == sockets_.end()) return;
  Entry& s = it->second;
  auto pos = std::find(s.rooms.begin(), s.rooms.end(), room);
  if (pos != s.rooms.end()) leave_at(s, static_cast<size_t>(pos - s.rooms.begin()));
}

void PresenceRegistry::leave_at(Entry& s, size_t index) {
  const std::string& room = s.rooms[index];
  if (auto r = rooms_.find(room_key(s.ns, room)); r != rooms_.end()) {
    const uint32_t pos = s.room_pos[index];
    if (Entry* moved = swap_remove(r->second, pos)) {
      auto at = std::find(moved->rooms.begin(), moved->rooms.end(), room);
      moved->room_pos[static_cast<size_t>(at - moved->rooms.begin())] = pos;
    }
    if (r->second.empty()) rooms_.erase(r);
  }
  // In join order: erase, not swap.
  s.rooms.erase(s.rooms.begin() + static_cast<std::ptrdiff_t>(index));
  s.room_pos.erase(s.room_pos.begin() + static_cast<std::ptrdiff_t>(index));
}

const PresenceSocket* PresenceRegistry::find_socket(std::string_view socket_id) const {
  auto it = sockets_.find(socket_id);
  return it == sockets_.end() ? nullptr : &it->second;
}

std::vector<const PresenceSocket*> PresenceRegistry::user_sockets(std::string_view user_id,
                                                                  std::string_view ns) const {
  std::vector<const PresenceSocket*> out;
  auto u = users_.find(std::string(user_id));
  if (u == users_.end()) return out;
  for (const Entry* s : u->second) {
    if (ns.empty() || s->ns == ns) out.push_back(s);
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
  if (r != rooms_.end()) {
    out.reserve(r->second.size());
    for (const Entry* s : r->second) out.push_back(s->socket_id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PresenceRegistry::target_sockets(
    std::string_view ns, const std::vector<std::string>& rooms,
    const std::vector<std::string>& except_rooms,
    const std::vector<std::string>& except_socket_ids) const {
  std::set<std::string> picked;
  if (rooms.empty()) {
    if (auto n = ns_.find(std::string(ns)); n != ns_.end()) {
      for (const Entry* s : n->second) picked.insert(s->socket_id);
    }
  } else {
    for (const std::string& room : rooms) {
      if (auto r = rooms_.find(room_key(ns, room)); r != rooms_.end()) {
        for (const Entry* s : r->second) picked.insert(s->socket_id);
      }
    }
  }
  for (const std::string& room : except_rooms) {
    if (auto r = rooms_.find(room_key(ns, room)); r != rooms_.end()) {
      for (const Entry* s : r->second) picked.erase(s->socket_id);
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
