// Fanout: publishes a Delivery once per target subject, and room/socket commands, on the bus.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/bus/bus.h"
#include "common/bus/subjects.h"
#include "herald/internal/bus.pb.h"

namespace herald::broker {

// Thread-safe (the bus is; the id counter is atomic).
class Fanout {
 public:
  Fanout(bus::Bus& bus, bus::Subjects subjects, std::string broker_id)
      : bus_(bus), subjects_(std::move(subjects)), broker_id_(std::move(broker_id)) {}

  // Stamps a unique id and origin_broker, then publishes the same immutable envelope on
  // `<p>.room.<ns>.<room>` for each room in order (edges use the order to deliver once per socket),
  // or on `<p>.ns.<ns>` when `rooms` is empty. Returns the delivery id.
  uint64_t publish(internal::Delivery delivery);

  // A command for the local members of `command.room` (on its room subject), or, when `room` is
  // empty and socket_ids are empty, for every socket of the namespace (on `<p>.ns.<ns>`).
  void publish_room_command(internal::RoomCommand command);
  // A command for named sockets that live on one edge (`<p>.edge.<edge-id>`).
  void publish_edge_command(const std::string& edge_id, internal::RoomCommand command);

  // Where messages go while the bus is not connected (docs/cluster.md, "NATS unavailable"):
  // `edge_id` is the one edge a <p>.edge.<id> command is for, "" for room and namespace subjects
  // (every edge). The broker sends them on its EdgeLink streams. Set before the first publish;
  // called on the publishing thread.
  using Fallback = std::function<void(const std::string& edge_id, const std::string& subject,
                                      const bus::EnvelopePtr& envelope)>;
  void set_fallback(Fallback fallback) { fallback_ = std::move(fallback); }
  // Messages handed to the fallback instead of the bus.
  uint64_t fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }

  const bus::Subjects& subjects() const { return subjects_; }
  const std::string& broker_id() const { return broker_id_; }
  uint64_t published() const { return published_.load(std::memory_order_relaxed); }

 private:
  void send(const std::string& edge_id, const std::string& subject, bus::EnvelopePtr envelope);

  bus::Bus& bus_;
  Fallback fallback_;
  std::atomic<uint64_t> fallbacks_{0};
  bus::Subjects subjects_;
  std::string broker_id_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> published_{0};
};

}  // namespace herald::broker
