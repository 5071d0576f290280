// Bus: publish/subscribe between Herald processes (NATS) or inside one (standalone).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "herald/internal/bus.pb.h"

namespace herald::bus {

using Envelope = herald::internal::BusEnvelope;
// Envelopes are immutable once published: the in-process bus hands the same object to every
// subscriber, the NATS bus serializes it once.
using EnvelopePtr = std::shared_ptr<const Envelope>;

// Called on a bus thread. Handlers must not block; they post work to their own executors.
// A handler may still be running while its Subscription is being destroyed on another thread:
// capture what it needs by shared_ptr/weak_ptr.
using Handler = std::function<void(const std::string& subject, const EnvelopePtr& envelope)>;

// Interest in a subject; unsubscribes when destroyed.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

enum class BusState { kConnected, kReconnecting, kDisconnected };
std::string_view bus_state_name(BusState state);

class Bus {
 public:
  virtual ~Bus() = default;

  // At-most-once: while the bus is disconnected, publishes are dropped and counted.
  virtual void publish(const std::string& subject, EnvelopePtr envelope) = 0;

  // `subject` may use NATS wildcards: '*' matches one token, '>' the rest. With a queue group,
  // each message goes to one subscriber of the group.
  virtual std::unique_ptr<Subscription> subscribe(const std::string& subject, Handler handler,
                                                  const std::string& queue_group = {}) = 0;

  virtual BusState state() const = 0;

  // Called (on a bus thread) whenever state() changes; used to resubscribe and re-snapshot.
  virtual void on_state_change(std::function<void(BusState)> listener) = 0;
};

std::unique_ptr<Bus> make_in_process_bus();

}  // namespace herald::bus
