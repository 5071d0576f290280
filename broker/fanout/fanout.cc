// Fanout: one envelope, published on every target subject.
#include "broker/fanout/fanout.h"

#include <memory>

namespace herald::broker {

void Fanout::send(const std::string& edge_id, const std::string& subject,
                  bus::EnvelopePtr envelope) {
  if (fallback_ && bus_.state() != bus::BusState::kConnected) {
    // Not also on the bus: NATS would replay its reconnect buffer later, as duplicates.
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    fallback_(edge_id, subject, envelope);
    return;
  }
  bus_.publish(subject, std::move(envelope));
}

uint64_t Fanout::publish(internal::Delivery delivery) {
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  delivery.set_id(id);
  delivery.set_origin_broker(broker_id_);
  if (delivery.ns().empty()) delivery.set_ns("/");
  auto envelope = std::make_shared<bus::Envelope>();
  *envelope->mutable_delivery() = std::move(delivery);
  const internal::Delivery& d = envelope->delivery();
  bus::EnvelopePtr shared = std::move(envelope);
  if (d.rooms().empty()) {
    send({}, subjects_.ns(d.ns()), shared);
    published_.fetch_add(1, std::memory_order_relaxed);
    return id;
  }
  for (const std::string& room : d.rooms()) {
    send({}, subjects_.room(d.ns(), room), shared);
    published_.fetch_add(1, std::memory_order_relaxed);
  }
  return id;
}

void Fanout::publish_room_command(internal::RoomCommand command) {
  if (command.ns().empty()) command.set_ns("/");
  std::string subject = command.room().empty() ? subjects_.ns(command.ns())
                                               : subjects_.room(command.ns(), command.room());
  auto envelope = std::make_shared<bus::Envelope>();
  *envelope->mutable_command() = std::move(command);
  send({}, subject, std::move(envelope));
}

void Fanout::publish_edge_command(const std::string& edge_id, internal::RoomCommand command) {
  if (command.ns().empty()) command.set_ns("/");
  auto envelope = std::make_shared<bus::Envelope>();
  *envelope->mutable_command() = std::move(command);
  send(edge_id, subjects_.edge(edge_id), std::move(envelope));
}

}  // namespace herald::broker
