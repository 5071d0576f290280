// InProcessLink: the edge↔broker link of standalone mode — one edge and one broker in the same
// process, messages passed by move (no serialization, no loopback hop).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "broker/core/broker.h"
#include "broker/core/edge_connection.h"
#include "edge/broker_link.h"

namespace herald::standalone {

// Owns both ends. The edge gets broker_link(); the broker sees edge_connection(). Edge → broker
// messages are posted to the broker's thread (Broker::on_edge_message); broker → edge messages
// call the edge's receiver on the broker's thread (a link thread, never a shard thread).
class InProcessLink {
 public:
  // Announces the edge to the broker with an EdgeHello.
  InProcessLink(std::shared_ptr<broker::Broker> broker, std::string edge_id);
  // Closes the link (the broker drops the edge's sessions).
  ~InProcessLink();
  InProcessLink(const InProcessLink&) = delete;
  InProcessLink& operator=(const InProcessLink&) = delete;

  edge::BrokerLink& broker_link();
  std::shared_ptr<broker::EdgeConnection> edge_connection() const;

  // After close() messages in either direction are dropped. Idempotent.
  void close();

 private:
  class Connection;
  class Link;
  std::shared_ptr<broker::Broker> broker_;
  std::shared_ptr<Connection> connection_;
  std::unique_ptr<Link> link_;
};

}  // namespace herald::standalone
