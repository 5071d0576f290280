// Broker: the public API operations (herald.v1.Realtime), run on the broker thread.
#include <algorithm>
#include <set>

#include "broker/core/broker.h"
#include "common/log/log.h"

namespace herald::broker {

namespace {

size_t total_bytes(const google::protobuf::RepeatedPtrField<std::string>& items) {
  size_t n = 0;
  for (const std::string& s : items) n += s.size();
  return n;
}

std::vector<std::string> to_vector(const google::protobuf::RepeatedPtrField<std::string>& items) {
  return {items.begin(), items.end()};
}

void fill_socket_info(const PresenceSocket& s, v1::SocketInfo* out) {
  out->set_socket_id(std::string(s.socket_id()));
  out->set_ns(std::string(s.ns()));
  out->set_user_id(std::string(s.user_id()));
  out->set_edge_id(std::string(s.edge_id()));
  for (std::string& room : s.rooms()) out->add_rooms(std::move(room));
}

Status validate_user(const std::string& user_id, const EmitLimits& limits) {
  if (user_id.empty()) return invalid_argument("user_id: required");
  if (user_id.size() + 5 > limits.max_room_bytes) return invalid_argument("user_id: too long");
  return Status::ok_status();
}

}  // namespace

Status Broker::check_namespace(std::string* ns) const {
  Status s = normalize_namespace(ns, limits_);
  if (!s.ok()) return s;
  if (options_.policy->find(*ns, nullptr) == nullptr) {
    return invalid_argument("ns: '" + *ns + "' is not a configured namespace");
  }
  return Status::ok_status();
}

std::shared_ptr<EdgeConnection> Broker::route_for_socket(const std::string& socket_id) const {
  if (const Session* session = find_session(socket_id)) return session->conn;
  const PresenceSocket* s = presence_->registry().find_socket(socket_id);
  if (s == nullptr) return nullptr;
  auto edge = edges_.find(std::string(s->edge_id()));
  return edge == edges_.end() ? nullptr : edge->second.lock();
}

bool Broker::send_to_socket(const std::string& socket_id, internal::BrokerToEdge message) {
  std::shared_ptr<EdgeConnection> conn = route_for_socket(socket_id);
  // TODO(cluster): sockets on edges this broker has no stream to need a bus route
  // (EmitWithAckRequest on <p>.edge.<id>, answered with EmitAckReply on <p>.broker.<id>).
  if (!conn) return false;
  conn->send(std::move(message));
  return true;
}

Result<std::vector<std::string>> Broker::resolve_target(const std::string& ns,
                                                        const v1::Target& target) {
  const PresenceRegistry& registry = presence_->registry();
  std::vector<std::string> out;
  switch (target.kind_case()) {
    case v1::Target::kUserId: {
      Status s = validate_user(target.user_id(), limits_);
      if (!s.ok()) return Status(StatusCode::kInvalidArgument, "target." + s.message());
      for (const PresenceSocket* socket : registry.user_sockets(target.user_id(), ns)) {
        out.emplace_back(socket->socket_id());
      }
      return out;
    }
    case v1::Target::kRoom:
      if (target.room().empty()) return invalid_argument("target.room: must not be empty");
      if (target.room().size() > limits_.max_room_bytes) {
        return invalid_argument("target.room: too long");
      }
      return registry.room_sockets(ns, target.room());
    case v1::Target::kSocketId: {
      if (target.socket_id().empty())
        return invalid_argument("target.socket_id: must not be empty");
      const std::string& id = target.socket_id();
      const Session* local = find_session(id);
      const PresenceSocket* known = registry.find_socket(id);
      if ((local != nullptr && local->ns() == ns) || (known != nullptr && known->ns() == ns)) {
        out.push_back(id);
      }
      return out;
    }
    case v1::Target::kAll:
      if (!target.all()) return invalid_argument("target.all: must be true when set");
      return registry.target_sockets(ns, {}, {}, {});
    default:
      return invalid_argument("target: one of user_id, room, socket_id, all is required");
  }
}

template <typename Request>
void Broker::publish_api_emit(internal::Delivery delivery, Request& req, std::string args) {
  delivery.set_event(req.event());
  delivery.set_args_json(std::move(args));
  for (std::string& a : *req.mutable_attachments()) delivery.add_attachments(std::move(a));
  delivery.set_volatile_(req.volatile_());
  fanout_.publish(std::move(delivery));
  counters_.api_emits.fetch_add(1, std::memory_order_relaxed);
}

void Broker::push_to_user(v1::PushToUserRequest req, Done<v1::PushToUserResponse> done) {
  post([req = std::move(req), done = std::move(done)](Broker& self) mutable {
    std::string ns = req.ns();
    std::string args = std::move(*req.mutable_args_json());
    Status s = validate_user(req.user_id(), self.limits_);
    if (s.ok()) s = self.check_namespace(&ns);
    if (s.ok()) s = validate_event_name(req.event(), self.limits_);
    if (s.ok()) {
      s = validate_args(&args, req.attachments_size(), total_bytes(req.attachments()),
                        self.limits_);
    }
    if (!s.ok()) return self.refuse(s, done);
    const std::string room = "user:" + req.user_id();
    v1::PushToUserResponse response;
    response.set_sockets(
        static_cast<uint32_t>(self.presence_->registry().user_sockets(req.user_id(), ns).size()));
    internal::Delivery delivery;
    delivery.set_ns(ns);
    delivery.add_rooms(room);
    self.publish_api_emit(std::move(delivery), req, std::move(args));
    done(Status::ok_status(), std::move(response));
  });
}

void Broker::broadcast(v1::BroadcastRequest req, Done<v1::BroadcastResponse> done) {
  post([req = std::move(req), done = std::move(done)](Broker& self) mutable {
    std::string ns = req.ns();
    std::string args = std::move(*req.mutable_args_json());
    std::vector<std::string> rooms = to_vector(req.rooms());
    std::vector<std::string> except_rooms = to_vector(req.except_rooms());
    std::vector<std::string> except_sockets = to_vector(req.except_socket_ids());
    Status s = self.check_namespace(&ns);
    if (s.ok()) s = validate_rooms(rooms, "rooms", self.limits_);
    if (s.ok()) s = validate_rooms(except_rooms, "except_rooms", self.limits_);
    if (s.ok()) s = validate_rooms(except_sockets, "except_socket_ids", self.limits_);
    if (s.ok()) s = validate_event_name(req.event(), self.limits_);
    if (s.ok()) {
      s = validate_args(&args, req.attachments_size(), total_bytes(req.attachments()),
                        self.limits_);
    }
    if (!s.ok()) return self.refuse(s, done);
    // Duplicate target rooms would be published twice; keep the first of each.
    std::vector<std::string> unique_rooms;
    for (std::string& room : rooms) {
      if (std::find(unique_rooms.begin(), unique_rooms.end(), room) == unique_rooms.end()) {
        unique_rooms.push_back(std::move(room));
      }
    }
    v1::BroadcastResponse response;
    response.set_sockets(static_cast<uint32_t>(
        self.presence_->registry().count_targets(ns, unique_rooms, except_rooms, except_sockets)));
    internal::Delivery delivery;
    delivery.set_ns(ns);
    for (std::string& room : unique_rooms) delivery.add_rooms(std::move(room));
    for (std::string& room : except_rooms) delivery.add_except_rooms(std::move(room));
    for (std::string& id : except_sockets) delivery.add_except_socket_ids(std::move(id));
    self.publish_api_emit(std::move(delivery), req, std::move(args));
    done(Status::ok_status(), std::move(response));
  });
}

void Broker::emit_with_ack(v1::EmitWithAckRequest req, Done<v1::EmitWithAckResponse> done) {
  post([req = std::move(req), done = std::move(done)](Broker& self) mutable {
    if (self.stopped_) return done(unavailable("broker is shutting down"), {});
    std::string ns = req.ns();
    std::string args = std::move(*req.mutable_args_json());
    Status s = self.check_namespace(&ns);
    if (s.ok()) s = validate_event_name(req.event(), self.limits_);
    if (s.ok()) {
      s = validate_args(&args, req.attachments_size(), total_bytes(req.attachments()),
                        self.limits_);
    }
    if (s.ok() &&
        (req.timeout_ms() == 0 || req.timeout_ms() > self.options_.api.max_emit_timeout_ms)) {
      s = invalid_argument("timeout_ms: must be 1.." +
                           std::to_string(self.options_.api.max_emit_timeout_ms));
    }
    if (!s.ok()) return self.refuse(s, done);
    Result<std::vector<std::string>> targets = self.resolve_target(ns, req.target());
    if (!targets.ok()) return self.refuse(targets.status(), done);
    if (targets->empty()) return done(Status::ok_status(), {});

    self.counters_.api_emits.fetch_add(1, std::memory_order_relaxed);
    const uint64_t request_id = self.next_request_id_++;
    PendingEmit pending;
    pending.done = std::move(done);
    for (const std::string& id : *targets) {
      v1::SocketAck ack;
      ack.set_socket_id(id);
      ack.set_timed_out(true);  // until the client answers
      pending.acks.push_back(std::move(ack));
    }
    for (size_t i = 0; i < targets->size(); ++i) {
      const std::string& id = (*targets)[i];
      internal::BrokerToEdge out;
      internal::EmitToSocket* emit = out.mutable_emit();
      emit->set_socket_id(id);
      emit->set_ns(ns);
      emit->set_event(req.event());
      emit->set_args_json(args);
      for (const std::string& a : req.attachments()) emit->add_attachments(a);
      emit->set_request_id(request_id);
      if (self.send_to_socket(id, std::move(out))) {
        pending.index[id] = i;
      } else {
        HLOG_DEBUG("broker", "emitWithAck: no route to socket", {{"socket", id}});
      }
    }
    pending.remaining = pending.index.size();
    self.emits_.emplace(request_id, std::move(pending));
    if (self.emits_.at(request_id).remaining == 0) {
      self.finish_emit(request_id);
      return;
    }
    self.schedule(self.options_.clock() + req.timeout_ms(),
                  Deadline{DeadlineKind::kEmit, request_id});
  });
}

uint32_t Broker::apply_room_command(const std::string& ns, const v1::Target& target,
                                    internal::RoomCommand command) {
  Result<std::vector<std::string>> targets = resolve_target(ns, target);
  if (!targets.ok()) return 0;
  command.set_ns(ns);
  switch (target.kind_case()) {
    case v1::Target::kUserId:
      command.set_room("user:" + target.user_id());
      fanout_.publish_room_command(command);
      break;
    case v1::Target::kRoom:
      command.set_room(target.room());
      fanout_.publish_room_command(command);
      break;
    case v1::Target::kAll:
      fanout_.publish_room_command(command);  // empty room, no socket ids: the whole namespace
      break;
    case v1::Target::kSocketId: {
      std::string edge_id;
      if (const Session* session = find_session(target.socket_id())) {
        edge_id = session->conn->edge_id();
      } else if (const PresenceSocket* s = presence_->registry().find_socket(target.socket_id())) {
        edge_id = s->edge_id();
      }
      if (edge_id.empty() || targets->empty()) return 0;
      command.add_socket_ids(target.socket_id());
      fanout_.publish_edge_command(edge_id, command);
      break;
    }
    default:
      return 0;
  }
  // Keep this broker's view of its own sessions' rooms in step (policy checks use it).
  for (const std::string& id : *targets) {
    Session* session = find_session(id);
    if (session == nullptr || session->ns() != ns) continue;
    std::vector<std::string>& rooms = session->rooms;
    std::vector<std::string> added, removed;
    for (const std::string& room : command.join()) {
      if (std::find(rooms.begin(), rooms.end(), room) == rooms.end()) {
        rooms.push_back(room);
        added.push_back(room);
      }
    }
    for (const std::string& room : command.leave()) {
      if (std::erase(rooms, room) > 0) removed.push_back(room);
    }
    announce(*session, added, true);
    announce(*session, removed, false);
  }
  return static_cast<uint32_t>(targets->size());
}

void Broker::join_rooms(v1::RoomsRequest req, Done<v1::RoomsResponse> done) {
  change_rooms(std::move(req), std::move(done), /*join=*/true);
}

void Broker::leave_rooms(v1::RoomsRequest req, Done<v1::RoomsResponse> done) {
  change_rooms(std::move(req), std::move(done), /*join=*/false);
}

void Broker::change_rooms(v1::RoomsRequest req, Done<v1::RoomsResponse> done, bool join) {
  post([req = std::move(req), done = std::move(done), join](Broker& self) mutable {
    std::string ns = req.ns();
    std::vector<std::string> rooms = to_vector(req.rooms());
    Status s = self.check_namespace(&ns);
    if (s.ok()) s = validate_rooms(rooms, "rooms", self.limits_);
    if (s.ok() && rooms.empty()) s = invalid_argument("rooms: at least one room is required");
    if (!s.ok()) return self.refuse(s, done);
    Result<std::vector<std::string>> check = self.resolve_target(ns, req.target());
    if (!check.ok()) return self.refuse(check.status(), done);
    internal::RoomCommand command;
    for (std::string& room : rooms) {
      if (join) {
        command.add_join(std::move(room));
      } else {
        command.add_leave(std::move(room));
      }
    }
    v1::RoomsResponse response;
    response.set_sockets(self.apply_room_command(ns, req.target(), std::move(command)));
    done(Status::ok_status(), std::move(response));
  });
}

void Broker::disconnect(v1::DisconnectRequest req, Done<v1::DisconnectResponse> done) {
  post([req = std::move(req), done = std::move(done)](Broker& self) mutable {
    std::string ns = req.ns();
    Status s = self.check_namespace(&ns);
    if (s.ok() && req.reason().size() > 256) s = invalid_argument("reason: too long");
    if (!s.ok()) return self.refuse(s, done);
    Result<std::vector<std::string>> check = self.resolve_target(ns, req.target());
    if (!check.ok()) return self.refuse(check.status(), done);
    internal::RoomCommand command;
    command.set_disconnect(true);
    command.set_close_connection(req.close_connection());
    command.set_reason(req.reason().empty() ? "server disconnect" : req.reason());
    v1::DisconnectResponse response;
    response.set_sockets(self.apply_room_command(ns, req.target(), std::move(command)));
    done(Status::ok_status(), std::move(response));
  });
}

void Broker::get_presence(v1::GetPresenceRequest req, Done<v1::GetPresenceResponse> done) {
  post([req = std::move(req), done = std::move(done)](Broker& self) mutable {
    Status s = validate_user(req.user_id(), self.limits_);
    std::string ns = req.ns();
    if (s.ok() && !ns.empty()) s = normalize_namespace(&ns, self.limits_);
    if (!s.ok()) return self.refuse(s, done);
    v1::GetPresenceResponse response;
    for (const PresenceSocket* socket :
         self.presence_->registry().user_sockets(req.user_id(), ns)) {
      fill_socket_info(*socket, response.add_sockets());
    }
    response.set_online(response.sockets_size() > 0);
    done(Status::ok_status(), std::move(response));
  });
}

void Broker::list_room_members(v1::ListRoomMembersRequest req,
                               Done<v1::ListRoomMembersResponse> done) {
  post([req = std::move(req), done = std::move(done)](Broker& self) mutable {
    std::string ns = req.ns();
    Status s = normalize_namespace(&ns, self.limits_);
    if (s.ok() && req.room().empty()) s = invalid_argument("room: required");
    if (s.ok() && req.room().size() > self.limits_.max_room_bytes) {
      s = invalid_argument("room: too long");
    }
    if (!s.ok()) return self.refuse(s, done);
    const PresenceRegistry& registry = self.presence_->registry();
    v1::ListRoomMembersResponse response;
    std::set<std::string> users;
    for (const std::string& id : registry.room_sockets(ns, req.room())) {
      const PresenceSocket* socket = registry.find_socket(id);
      if (socket == nullptr) continue;
      if (!socket->user_id().empty()) users.emplace(socket->user_id());
      fill_socket_info(*socket, response.add_sockets());
    }
    for (const std::string& user : users) response.add_user_ids(user);
    done(Status::ok_status(), std::move(response));
  });
}

void Broker::stats(v1::StatsRequest req, Done<v1::StatsResponse> done) {
  (void)req;
  post([done = std::move(done)](Broker& self) mutable {
    const PresenceRegistry& registry = self.presence_->registry();
    v1::StatsResponse response;
    response.set_sockets(registry.socket_count());
    response.set_users(registry.user_count());
    response.set_rooms(registry.room_count());
    response.set_edges(static_cast<uint32_t>(registry.edges().size()));
    response.set_brokers(static_cast<uint32_t>(self.presence_->peer_brokers().size() + 1));
    for (const auto& [ns, count] : registry.sockets_per_namespace()) {
      (*response.mutable_sockets_per_namespace())[ns] = count;
    }
    done(Status::ok_status(), std::move(response));
  });
}

}  // namespace herald::broker
