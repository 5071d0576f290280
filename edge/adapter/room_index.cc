// RoomIndex: swap-remove vectors in both directions, so join, leave and disconnect are O(rooms of
// the socket); a room with one member costs one 48 B entry, its member inline.
#include "edge/adapter/room_index.h"

#include <algorithm>
#include <cstring>

namespace herald::edge {

RoomIndex::~RoomIndex() = default;

std::string RoomIndex::room_key(std::string_view ns, std::string_view room) {
  // Length-prefixed so that no (ns, room) pair collides with another, whatever bytes they hold.
  std::string key;
  const auto n = static_cast<uint32_t>(ns.size());
  key.reserve(sizeof(n) + ns.size() + room.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof(n));
  key.append(ns);
  key.append(room);
  return key;
}

bool RoomIndex::add_socket(LocalSocket& socket) {
  return sockets_.insert(&socket);
}

void RoomIndex::remove_socket(LocalSocket& socket) {
  while (!socket.rooms_.empty()) leave_at(socket, socket.rooms_.size() - 1);
  leave_namespace(socket);
  sockets_.erase(&socket);
}

LocalSocket* RoomIndex::find(std::string_view socket_id) const {
  return sockets_.find(socket_id);
}

void RoomIndex::enter_namespace(LocalSocket& socket) {
  if (socket.ns_ != nullptr) return;
  auto it = namespaces_.find(socket.ns());
  if (it == namespaces_.end()) {
    auto entry = std::make_unique<NamespaceMembers>();
    entry->ns = socket.ns();
    it = namespaces_.emplace(socket.ns(), std::move(entry)).first;
    if (observer_ != nullptr) observer_->on_namespace_created(it->second->ns);
  }
  NamespaceMembers* entry = it->second.get();
  socket.ns_ = entry;
  socket.ns_pos_ = static_cast<uint32_t>(entry->members.size());
  entry->members.push_back(&socket);
}

void RoomIndex::leave_namespace(LocalSocket& socket) {
  NamespaceMembers* entry = socket.ns_;
  if (entry == nullptr) return;
  LocalSocket* last = entry->members.back();
  entry->members[socket.ns_pos_] = last;
  last->ns_pos_ = socket.ns_pos_;
  entry->members.pop_back();
  socket.ns_ = nullptr;
  socket.ns_pos_ = 0;
  if (entry->members.empty()) {
    if (observer_ != nullptr) observer_->on_namespace_deleted(entry->ns);
    namespaces_.erase(entry->ns);
  }
}

RoomIndex::JoinResult RoomIndex::join(LocalSocket& socket, std::string_view room,
                                      uint32_t max_rooms) {
  if (in_room(socket, room)) return JoinResult::kAlreadyMember;
  if (socket.rooms_.size() >= max_rooms) return JoinResult::kLimitReached;
  std::string key = room_key(socket.ns(), room);
  RoomMembers* entry = rooms_.find(key);
  if (entry == nullptr) {
    auto created = std::make_unique<RoomMembers>();
    created->key = std::move(key);
    entry = created.get();
    rooms_.insert(std::move(created));
    if (observer_ != nullptr) observer_->on_room_created(entry->ns(), entry->room());
  }
  socket.rooms_.push_back({entry, static_cast<uint32_t>(entry->members.size())});
  entry->members.push_back(&socket);
  return JoinResult::kJoined;
}

bool RoomIndex::leave(LocalSocket& socket, std::string_view room) {
  for (size_t i = 0; i < socket.rooms_.size(); ++i) {
    if (socket.rooms_[i].room->room() == room) {
      leave_at(socket, i);
      return true;
    }
  }
  return false;
}

void RoomIndex::leave_at(LocalSocket& socket, size_t membership_index) {
  const LocalSocket::Membership m = socket.rooms_[membership_index];
  RoomMembers* entry = m.room;
  LocalSocket* last = entry->members.back();
  if (last != &socket) {
    entry->members[m.pos] = last;
    for (auto& lm : last->rooms_) {
      if (lm.room == entry) {
        lm.pos = m.pos;
        break;
      }
    }
  }
  entry->members.pop_back();
  socket.rooms_[membership_index] = socket.rooms_.back();
  socket.rooms_.pop_back();
  if (entry->members.empty()) {
    if (observer_ != nullptr) observer_->on_room_deleted(entry->ns(), entry->room());
    rooms_.erase(entry);
  }
}

bool RoomIndex::in_room(const LocalSocket& socket, std::string_view room) const {
  if (room == socket.id()) return true;
  for (const auto& m : socket.rooms_) {
    if (m.room->room() == room) return true;
  }
  return false;
}

std::vector<std::string_view> RoomIndex::rooms_of(const LocalSocket& socket) const {
  std::vector<std::string_view> out;
  out.reserve(socket.rooms_.size());
  for (const auto& m : socket.rooms_) out.emplace_back(m.room->room());
  return out;
}

const InlineOneVector<LocalSocket*>* RoomIndex::members(std::string_view ns,
                                                        std::string_view room) const {
  const RoomMembers* entry = rooms_.find(room_key(ns, room));
  return entry == nullptr ? nullptr : &entry->members;
}

const std::vector<LocalSocket*>* RoomIndex::namespace_members(std::string_view ns) const {
  auto it = namespaces_.find(std::string(ns));
  return it == namespaces_.end() ? nullptr : &it->second->members;
}

bool RoomIndex::in_any(const LocalSocket& socket,
                       const google::protobuf::RepeatedPtrField<std::string>& rooms,
                       int end) const {
  for (int i = 0; i < end; ++i) {
    if (in_room(socket, rooms.Get(i))) return true;
  }
  return false;
}

bool RoomIndex::excluded(const LocalSocket& socket, const internal::Delivery& delivery) const {
  for (const auto& id : delivery.except_socket_ids()) {
    if (id == socket.id()) return true;
  }
  return in_any(socket, delivery.except_rooms(), delivery.except_rooms_size());
}

void RoomIndex::collect_recipients(const internal::Delivery& delivery, DeliveryScope scope,
                                   std::string_view subject_room,
                                   std::vector<LocalSocket*>& out) const {
  const auto& rooms = delivery.rooms();
  const std::string& ns = delivery.ns();

  // Members of rooms[index] (its entry, or the socket whose own room it is) that are in none of
  // rooms[0..dedup_end).
  auto add_room = [&](std::string_view room, int dedup_end) {
    if (const auto* m = members(ns, room)) {
      for (LocalSocket* s : *m) {
        if (!in_any(*s, rooms, dedup_end) && !excluded(*s, delivery)) out.push_back(s);
      }
    }
    if (LocalSocket* own = find(room); own != nullptr && own->ns() == ns && in_namespace(*own)) {
      if (!in_any(*own, rooms, dedup_end) && !excluded(*own, delivery)) out.push_back(own);
    }
  };

  if (rooms.empty()) {
    if (scope == DeliveryScope::kRoom) {
      add_room(subject_room, 0);
      return;
    }
    if (const auto* m = namespace_members(ns)) {
      for (LocalSocket* s : *m) {
        if (!excluded(*s, delivery)) out.push_back(s);
      }
    }
    return;
  }

  if (scope == DeliveryScope::kRoom) {
    // The first position of the subject's room among the targets; a room the broker did not list
    // (inconsistent publisher) gets no deduplication rather than no delivery.
    int index = 0;
    for (int i = 0; i < rooms.size(); ++i) {
      if (rooms.Get(i) == subject_room) {
        index = i;
        break;
      }
    }
    add_room(subject_room, index);
    return;
  }

  for (int j = 0; j < rooms.size(); ++j) add_room(rooms.Get(j), j);
}

}  // namespace herald::edge
