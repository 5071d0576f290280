// Connection: the Socket.IO side of one Engine.IO session (its SessionHandler). It decodes packets
// (with binary attachments), multiplexes namespaces, and turns packets into EdgeLink messages
// and broker answers into packets. Socket: one namespace of a Connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <forward_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "edge/adapter/room_index.h"
#include "edge/engineio/session_handler.h"
#include "edge/socketio/packet.h"
#include "herald/internal/edgelink.pb.h"

namespace herald::sio {

class Connection;
class SioShard;
class SocketServer;

class Socket final : public edge::LocalSocket {
 public:
  Socket(Connection& connection, InlineId id, std::string ns)
      : id_(id), connection_(connection), ns_(std::move(ns)) {}

  std::string_view id() const override { return id_.view(); }
  const std::string& ns() const override { return ns_; }
  const std::string& user_id() const override { return user_id_; }
  eio::SendResult send(const eio::SharedMessage& message) override;
  void disconnect(std::string_view reason, bool close_connection) override;

  Connection& connection() { return connection_; }
  bool connected() const { return connected_; }

 private:
  friend class Connection;
  struct PendingAck {
    uint64_t ack_id;
    uint64_t request_id;
  };

  // Ordered for size (one per connected socket): the small fields fill the padding.
  uint32_t verdicts_pending_ = 0;  // client events with an ack id the broker has not answered
  InlineId id_;
  bool connected_ = false;  // false while the broker decides on the CONNECT
  Connection& connection_;
  uint64_t next_ack_id_ = 0;
  std::string ns_;
  std::string user_id_;
  std::vector<PendingAck> acks_;              // server emits waiting for the client's ACK
  std::atomic<int64_t>* ns_gauge_ = nullptr;  // while connected: its namespace's socket count
};

class Connection final : public eio::SessionHandler {
 public:
  Connection(SioShard& shard, eio::Session& session);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // eio::SessionHandler
  void on_message(std::string_view text) override;
  void on_binary(std::string_view data) override;
  void on_close(std::string_view reason) override;
  bool busy() const override;

  // Broker answers and commands for one of this connection's sockets (on the shard).
  void on_accepted(Socket& socket, const internal::SessionAccepted& accepted);
  void on_rejected(Socket& socket, const internal::SessionRejected& rejected);
  void on_verdict(Socket& socket, const internal::EventVerdict& verdict);
  void on_emit(Socket& socket, const internal::EmitToSocket& emit);
  void on_room_change(Socket& socket, const internal::RoomChange& change);
  void server_disconnect(Socket& socket, bool close_connection);
  // Shard sweeps.
  void on_connect_timeout();
  void on_ack_timeout(Socket& socket, uint64_t ack_id);

  eio::Session& session() { return session_; }
  size_t namespace_count() const {
    return static_cast<size_t>(std::distance(sockets_.begin(), sockets_.end()));
  }

 private:
  enum class Violation { kBadPacket, kBinarySequence, kReservedEvent, kInvalidState };

  void dispatch(Packet packet, std::vector<std::string> attachments, size_t wire_bytes);
  void on_connect_packet(Packet& packet);
  void on_event_packet(Socket& socket, Packet& packet, std::vector<std::string> attachments,
                       size_t wire_bytes);
  void on_ack_packet(Socket& socket, Packet& packet, std::vector<std::string> attachments);
  void on_disconnect_packet(Socket& socket);

  // Counts the violation and closes the connection; nothing may touch `this` afterwards.
  void violation(Violation kind, std::string_view detail);
  void close_session(std::string_view reason);
  // Forgets a socket: answers its pending acks as timed out, tells the broker (`reason`, unless
  // empty) and leaves its rooms.
  void remove_socket(Socket& socket, std::string_view reason);
  void remove_all(std::string_view reason);
  Socket* find_ns(std::string_view ns);

  eio::SendResult send_text(std::string text, std::vector<std::string> binaries = {});
  void send_packet(const Packet& packet, std::vector<std::string> binaries = {});
  void send_connect_error(std::string_view ns, std::string data_json);

  SioShard& shard_;
  eio::Session& session_;
  // Newest first; a few namespaces at most: linear lookup. A list rather than a vector of
  // pointers: one allocation per socket, none for the container (8 B here).
  std::forward_list<Socket> sockets_;
  std::unique_ptr<BinaryReconstructor> binary_;  // only while a binary packet is in flight
  size_t binary_wire_bytes_ = 0;
  uint64_t connect_watch_ = 0;  // while no namespace is connected
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace herald::sio
