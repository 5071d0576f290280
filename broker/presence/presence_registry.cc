// Presence registry: sequencing, snapshots, expiry and the socket/user/room indexes.
#include "broker/presence/presence_registry.h"

#include <algorithm>
#include <set>

namespace herald::broker {

std::string_view PresenceSocket::ns() const {
  return ns_->first;
}

std::string_view PresenceSocket::user_id() const {
  return user_ == nullptr ? std::string_view() : std::string_view(user_->first);
}

std::string_view PresenceSocket::edge_id() const {
  return edge_ == nullptr ? std::string_view() : edge_->id;
}

std::vector<std::string> PresenceSocket::rooms() const {
  std::vector<std::string> out;
  out.reserve(rooms_.size());
  for (const Membership& m : rooms_) out.push_back(m.room->first);
  return out;
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

// Swap-remove of members[pos]; returns the socket that moved into pos (null when none did).
template <typename List>
PresenceSocket* swap_remove(List& members, uint32_t pos) {
  PresenceSocket* last = members.back();
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

PresenceSocket* PresenceRegistry::find_mutable(std::string_view socket_id) {
  auto it = sockets_.find(socket_id);
  return it == sockets_.end() ? nullptr : &mutable_socket(*it);
}

void PresenceRegistry::add_socket(EdgeState& edge, const internal::PresenceChange& c) {
  if (c.socket_id().empty()) return;
  // Reconnected under the same id (or moved edges): start over.
  remove_socket(c.socket_id());
  PresenceSocket& s = mutable_socket(*sockets_.emplace(c.socket_id()).first);
  s.edge_ = &edge;
  s.edge_pos_ = static_cast<uint32_t>(edge.sockets.size());
  edge.sockets.push_back(&s);
  const std::string_view ns = c.ns().empty() ? std::string_view("/") : c.ns();
  auto n = namespaces_.find(ns);
  if (n == namespaces_.end()) n = namespaces_.emplace(std::string(ns), PresenceNamespace()).first;
  s.ns_ = &*n;
  s.ns_pos_ = static_cast<uint32_t>(n->second.sockets.size());
  n->second.sockets.push_back(&s);
  if (!c.user_id().empty()) {
    auto u = users_.find(c.user_id());
    if (u == users_.end()) u = users_.emplace(c.user_id(), SocketList()).first;
    s.user_ = &*u;
    s.user_pos_ = u->second.size();
    u->second.push_back(&s);
  }
  // A snapshot may carry the socket's rooms on the CONNECT change itself.
  if (!c.room().empty()) join(c.socket_id(), c.room());
}

void PresenceRegistry::remove_socket(std::string_view socket_id) {
  if (PresenceSocket* s = find_mutable(socket_id)) remove_entry(*s);
}

void PresenceRegistry::remove_entry(PresenceSocket& s) {
  while (!s.rooms_.empty()) leave_at(s, static_cast<uint32_t>(s.rooms_.size() - 1));
  if (s.user_ != nullptr) {
    SocketList& of_user = s.user_->second;
    if (PresenceSocket* moved = swap_remove(of_user, s.user_pos_)) moved->user_pos_ = s.user_pos_;
    if (of_user.empty()) users_.erase(users_.find(std::string_view(s.user_->first)));
  }
  std::vector<PresenceSocket*>& in_ns = s.ns_->second.sockets;
  if (PresenceSocket* moved = swap_remove(in_ns, s.ns_pos_)) moved->ns_pos_ = s.ns_pos_;
  if (in_ns.empty()) namespaces_.erase(namespaces_.find(std::string_view(s.ns_->first)));
  if (PresenceSocket* moved = swap_remove(s.edge_->sockets, s.edge_pos_)) {
    moved->edge_pos_ = s.edge_pos_;
  }
  sockets_.erase(sockets_.find(s.socket_id()));
}

void PresenceRegistry::join(std::string_view socket_id, std::string_view room) {
  PresenceSocket* found = find_mutable(socket_id);
  if (found == nullptr || room.empty()) return;
  PresenceSocket& s = *found;
  for (const PresenceSocket::Membership& m : s.rooms_) {
    if (m.room->first == room) return;
  }
  SocketsByName& rooms = s.ns_->second.rooms;
  auto r = rooms.find(room);
  if (r == rooms.end()) {
    r = rooms.emplace(std::string(room), SocketList()).first;
    ++room_count_;
  }
  s.rooms_.push_back({&*r, static_cast<uint32_t>(r->second.size())});
  r->second.push_back(&s);
}

void PresenceRegistry::leave(std::string_view socket_id, std::string_view room) {
  PresenceSocket* s = find_mutable(socket_id);
  if (s == nullptr) return;
  for (uint32_t i = 0; i < s->rooms_.size(); ++i) {
    if (s->rooms_[i].room->first == room) return leave_at(*s, i);
  }
}

void PresenceRegistry::leave_at(PresenceSocket& s, uint32_t index) {
  SocketsByName::value_type* room = s.rooms_[index].room;
  const uint32_t pos = s.rooms_[index].pos;
  if (PresenceSocket* moved = swap_remove(room->second, pos)) {
    for (PresenceSocket::Membership& theirs : moved->rooms_) {
      if (theirs.room == room) theirs.pos = pos;
    }
  }
  if (room->second.empty()) {
    SocketsByName& rooms = s.ns_->second.rooms;
    rooms.erase(rooms.find(std::string_view(room->first)));
    --room_count_;
  }
  s.rooms_.erase_at(index);  // join order is kept: erase, not swap
}

const PresenceSocket* PresenceRegistry::find_socket(std::string_view socket_id) const {
  auto it = sockets_.find(socket_id);
  return it == sockets_.end() ? nullptr : &*it;
}

const SocketList* PresenceRegistry::find_room(std::string_view ns, std::string_view room) const {
  auto n = namespaces_.find(ns);
  if (n == namespaces_.end()) return nullptr;
  auto r = n->second.rooms.find(room);
  return r == n->second.rooms.end() ? nullptr : &r->second;
}

std::vector<const PresenceSocket*> PresenceRegistry::user_sockets(std::string_view user_id,
                                                                  std::string_view ns) const {
  std::vector<const PresenceSocket*> out;
  auto u = users_.find(user_id);
  if (u == users_.end()) return out;
  for (const PresenceSocket* s : u->second) {
    if (ns.empty() || s->ns() == ns) out.push_back(s);
  }
  std::sort(out.begin(), out.end(), [](const PresenceSocket* a, const PresenceSocket* b) {
    return a->socket_id() < b->socket_id();
  });
  return out;
}

std::vector<std::string> PresenceRegistry::room_sockets(std::string_view ns,
                                                        std::string_view room) const {
  std::vector<std::string> out;
  if (const SocketList* members = find_room(ns, room)) {
    out.reserve(members->size());
    for (const PresenceSocket* s : *members) out.emplace_back(s->socket_id());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PresenceRegistry::target_sockets(
    std::string_view ns, const std::vector<std::string>& rooms,
    const std::vector<std::string>& except_rooms,
    const std::vector<std::string>& except_socket_ids) const {
  std::set<std::string_view> picked;
  if (rooms.empty()) {
    if (auto n = namespaces_.find(ns); n != namespaces_.end()) {
      for (const PresenceSocket* s : n->second.sockets) picked.insert(s->socket_id());
    }
  } else {
    for (const std::string& room : rooms) {
      if (const SocketList* members = find_room(ns, room)) {
        for (const PresenceSocket* s : *members) picked.insert(s->socket_id());
      }
    }
  }
  for (const std::string& room : except_rooms) {
    if (const SocketList* members = find_room(ns, room)) {
      for (const PresenceSocket* s : *members) picked.erase(s->socket_id());
    }
  }
  for (const std::string& id : except_socket_ids) picked.erase(id);
  return {picked.begin(), picked.end()};
}

size_t PresenceRegistry::count_targets(std::string_view ns, const std::vector<std::string>& rooms,
                                       const std::vector<std::string>& except_rooms,
                                       const std::vector<std::string>& except_socket_ids) const {
  if (rooms.empty() && except_rooms.empty() && except_socket_ids.empty()) {
    auto n = namespaces_.find(ns);
    return n == namespaces_.end() ? 0 : n->second.sockets.size();
  }
  if (rooms.size() == 1 && except_rooms.empty() && except_socket_ids.empty()) {
    // The common broadcast to one room: its size, without building the set of 1000s of ids
    // (per Broadcast RPC, that cost as much as the delivery itself).
    const SocketList* members = find_room(ns, rooms.front());
    return members == nullptr ? 0 : members->size();
  }
  return target_sockets(ns, rooms, except_rooms, except_socket_ids).size();
}

std::map<std::string, uint64_t> PresenceRegistry::sockets_per_namespace() const {
  std::map<std::string, uint64_t> out;
  for (const auto& [name, in_ns] : namespaces_) out[name] = in_ns.sockets.size();
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
