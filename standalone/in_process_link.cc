// The in-process edge↔broker link.
#include "standalone/in_process_link.h"

#include <atomic>

namespace herald::standalone {

// Broker side: what the broker sends goes straight to the edge's receiver.
class InProcessLink::Connection final : public broker::EdgeConnection {
 public:
  explicit Connection(std::string edge_id) : edge_id_(std::move(edge_id)) {}

  const std::string& edge_id() const override { return edge_id_; }

  void send(internal::BrokerToEdge message) override {
    if (closed_.load(std::memory_order_acquire) || !receiver_) return;
    receiver_(std::move(message));
  }

  // Set once by the edge before it sends anything (BrokerLink contract).
  void set_receiver(std::function<void(internal::BrokerToEdge)> receiver) {
    receiver_ = std::move(receiver);
  }
  void close() { closed_.store(true, std::memory_order_release); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  std::string edge_id_;
  std::function<void(internal::BrokerToEdge)> receiver_;
  std::atomic<bool> closed_{false};
};

// Edge side: what the edge sends is posted to the broker's thread.
class InProcessLink::Link final : public edge::BrokerLink {
 public:
  Link(std::weak_ptr<broker::Broker> broker, std::shared_ptr<Connection> connection)
      : broker_(std::move(broker)), connection_(std::move(connection)) {}

  void send(internal::EdgeToBroker message) override {
    if (connection_->closed()) return;
    if (auto broker = broker_.lock()) broker->on_edge_message(connection_, std::move(message));
  }

  void send_batch(std::vector<internal::EdgeToBroker> messages) override {
    if (connection_->closed() || messages.empty()) return;
    if (auto broker = broker_.lock()) broker->on_edge_messages(connection_, std::move(messages));
  }

  void set_receiver(std::function<void(internal::BrokerToEdge)> receiver) override {
    connection_->set_receiver(std::move(receiver));
  }

 private:
  std::weak_ptr<broker::Broker> broker_;
  std::shared_ptr<Connection> connection_;
};

InProcessLink::InProcessLink(std::shared_ptr<broker::Broker> broker, std::string edge_id)
    : broker_(std::move(broker)),
      connection_(std::make_shared<Connection>(std::move(edge_id))),
      link_(std::make_unique<Link>(broker_, connection_)) {
  internal::EdgeToBroker hello;
  hello.mutable_hello()->set_edge_id(connection_->edge_id());
  hello.mutable_hello()->set_version("in-process");
  broker_->on_edge_message(connection_, std::move(hello));
}

InProcessLink::~InProcessLink() {
  close();
}

edge::BrokerLink& InProcessLink::broker_link() {
  return *link_;
}

std::shared_ptr<broker::EdgeConnection> InProcessLink::edge_connection() const {
  return connection_;
}

void InProcessLink::close() {
  if (connection_->closed()) return;
  connection_->close();
  broker_->on_edge_closed(connection_);
}

}  // namespace herald::standalone
