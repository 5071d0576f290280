// RoomIndex: one shard's local sockets, their namespaces and rooms ((ns, room) → members and
// socket → rooms), and who receives a bus Delivery. Single-threaded: owned by one shard.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/id_table.h"
#include "common/inline_one_vector.h"
#include "edge/engineio/session_handler.h"
#include "herald/internal/bus.pb.h"

namespace herald::edge {

class RoomIndex;
struct RoomMembers;
struct NamespaceMembers;

// A socket (one namespace of one Engine.IO connection) as the adapter sees it. The Socket.IO
// layer implements it; the index keeps its memberships inside it so that a socket costs no
// separate socket → rooms node.
class LocalSocket {
 public:
  virtual ~LocalSocket() = default;

  virtual std::string_view id() const = 0;
  virtual const std::string& ns() const = 0;
  virtual const std::string& user_id() const = 0;

  // Writes an already encoded packet (a bus delivery) to the socket's connection.
  virtual eio::SendResult send(const eio::SharedMessage& message) = 0;

  // Server-side disconnect from the namespace ("server namespace disconnect"), optionally closing
  // the whole Engine.IO connection. May remove this and other sockets from the index.
  virtual void disconnect(std::string_view reason, bool close_connection) = 0;

 private:
  friend class RoomIndex;
  struct Membership {
    RoomMembers* room;
    uint32_t pos;  // index in room->members
  };
  InlineOneVector<Membership> rooms_;  // most sockets are in one room: no allocation
  NamespaceMembers* ns_ = nullptr;     // set while the socket is connected to its namespace
  uint32_t ns_pos_ = 0;
};

struct RoomMembers {
  // RoomIndex::room_key(ns, room): the table's key, and the only copy of the names.
  std::string key;
  InlineOneVector<LocalSocket*> members;  // most rooms (user:<sub>) have one member

  const std::string& id() const { return key; }
  std::string_view ns() const {
    uint32_t n = 0;
    std::memcpy(&n, key.data(), sizeof(n));
    return std::string_view(key).substr(sizeof(n), n);
  }
  std::string_view room() const {
    return std::string_view(key).substr(sizeof(uint32_t) + ns().size());
  }
};

struct NamespaceMembers {
  std::string ns;
  std::vector<LocalSocket*> members;
};

// Told when a shard starts or stops having members in a room or namespace (the bus adapter
// subscribes to subjects from these).
class RoomObserver {
 public:
  virtual ~RoomObserver() = default;
  virtual void on_room_created(std::string_view ns, std::string_view room) = 0;
  virtual void on_room_deleted(std::string_view ns, std::string_view room) = 0;
  virtual void on_namespace_created(const std::string& ns) = 0;
  virtual void on_namespace_deleted(const std::string& ns) = 0;
};

// Which subject a Delivery arrived on, which decides who receives it (bus.proto's Delivery).
enum class DeliveryScope {
  kRoom,       // <p>.room.<ns>.<room>: members of that room not in an earlier target room
  kNamespace,  // <p>.ns.<ns>: every socket of the namespace
  kEdge,       // <p>.edge.<id>: members of any target room (the namespace when rooms is empty)
};

class RoomIndex {
 public:
  explicit RoomIndex(RoomObserver* observer = nullptr) : observer_(observer) {}
  RoomIndex(const RoomIndex&) = delete;
  RoomIndex& operator=(const RoomIndex&) = delete;
  ~RoomIndex();

  // --- the socket table (connected or not yet) ---
  // False when a socket with that id is already there.
  bool add_socket(LocalSocket& socket);
  // Leaves every room and the namespace, then forgets the socket.
  void remove_socket(LocalSocket& socket);
  LocalSocket* find(std::string_view socket_id) const;
  size_t socket_count() const { return sockets_.size(); }

  // --- namespace membership (connected sockets) ---
  void enter_namespace(LocalSocket& socket);
  bool in_namespace(const LocalSocket& socket) const { return socket.ns_ != nullptr; }

  // --- rooms ---
  enum class JoinResult { kJoined, kAlreadyMember, kLimitReached };
  // A socket is always in its own room (its id) without an entry: joining it is kAlreadyMember.
  // `max_rooms` counts the explicit rooms only.
  JoinResult join(LocalSocket& socket, std::string_view room, uint32_t max_rooms);
  // False when the socket was not in the room.
  bool leave(LocalSocket& socket, std::string_view room);
  bool in_room(const LocalSocket& socket, std::string_view room) const;
  // The explicit rooms of `socket` (not its own room), in no particular order.
  std::vector<std::string_view> rooms_of(const LocalSocket& socket) const;
  size_t room_count(const LocalSocket& socket) const { return socket.rooms_.size(); }

  const InlineOneVector<LocalSocket*>* members(std::string_view ns, std::string_view room) const;
  const std::vector<LocalSocket*>* namespace_members(std::string_view ns) const;
  size_t total_rooms() const { return rooms_.size(); }

  // Every connected socket, for presence snapshots.
  template <typename F>
  void for_each_connected(F&& f) const {
    for (const auto& [name, entry] : namespaces_) {
      for (LocalSocket* s : entry->members) f(*s);
    }
  }

  // Appends to `out` the local sockets that must receive `delivery` when it arrived with `scope`
  // (`subject_room` names the room of a kRoom subject), each once, minus except_rooms and
  // except_socket_ids.
  void collect_recipients(const internal::Delivery& delivery, DeliveryScope scope,
                          std::string_view subject_room, std::vector<LocalSocket*>& out) const;

 private:
  static std::string room_key(std::string_view ns, std::string_view room);
  bool excluded(const LocalSocket& socket, const internal::Delivery& delivery) const;
  // True when `socket` is in any of rooms[0..end).
  bool in_any(const LocalSocket& socket,
              const google::protobuf::RepeatedPtrField<std::string>& rooms, int end) const;
  void leave_at(LocalSocket& socket, size_t membership_index);
  void leave_namespace(LocalSocket& socket);

  RoomObserver* observer_;
  IdTable<LocalSocket> sockets_;                              // by the sockets' own ids
  IdTable<RoomMembers, std::unique_ptr<RoomMembers>> rooms_;  // by room_key
  std::unordered_map<std::string, std::unique_ptr<NamespaceMembers>> namespaces_;
};

}  // namespace herald::edge
