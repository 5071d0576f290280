// Test doubles for the Socket.IO server: an Engine.IO session, a broker link, and a harness that
// runs the shards' io_contexts by hand with an injected clock.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/bus/bus.h"
#include "common/ids.h"
#include "edge/adapter/bus_adapter.h"
#include "edge/broker_link.h"
#include "edge/engineio/session_handler.h"
#include "edge/socketio/socket_server.h"

namespace herald::sio::testing {

class FakeSession final : public eio::Session {
 public:
  FakeSession(std::string id, uint32_t shard, boost::asio::io_context& io)
      : id_(std::move(id)), shard_(shard), io_(io) {
    handshake_.headers.add("user-agent", "test");
    handshake_.query.add("EIO", "4");
    handshake_.remote_address = "127.0.0.1:5555";
    handshake_.transport = "websocket";
  }

  const std::string& id() const override { return id_; }
  uint32_t shard() const override { return shard_; }
  boost::asio::io_context& executor() override { return io_; }
  const eio::HandshakeInfo& handshake() const override { return handshake_; }
  std::string_view transport() const override { return "websocket"; }

  eio::SendResult send(const eio::SharedMessage& message) override {
    if (closed) return eio::SendResult::kClosed;
    sent.push_back(message);
    return eio::SendResult::kQueued;
  }

  // Like the real server: on_close runs once, synchronously, with the reason.
  void close(std::string_view reason) override {
    if (closed) return;
    closed = true;
    close_reason = std::string(reason);
    if (handler != nullptr) handler->on_close(reason);
  }

  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& m : sent) out.push_back(m->text);
    return out;
  }
  std::string last_text() const { return sent.empty() ? std::string() : sent.back()->text; }

  eio::SessionHandler* handler = nullptr;
  std::vector<eio::SharedMessage> sent;
  bool closed = false;
  std::string close_reason;

 private:
  std::string id_;
  uint32_t shard_;
  boost::asio::io_context& io_;
  eio::HandshakeInfo handshake_;
};

class FakeLink final : public edge::BrokerLink {
 public:
  void send(internal::EdgeToBroker message) override {
    std::lock_guard lock(mu);
    sent.push_back(std::move(message));
  }
  void set_receiver(std::function<void(internal::BrokerToEdge)> r) override {
    receiver = std::move(r);
  }

  // What the edge sent so far (the shards batch their messages: `before_take` runs them first).
  std::vector<internal::EdgeToBroker> take() {
    if (before_take) before_take();
    std::lock_guard lock(mu);
    return std::exchange(sent, {});
  }

  std::mutex mu;
  std::vector<internal::EdgeToBroker> sent;
  std::function<void(internal::BrokerToEdge)> receiver;
  std::function<void()> before_take;
};

// One client: a fake Engine.IO session and the handler the server gave it.
struct Client {
  std::unique_ptr<FakeSession> session;
  std::unique_ptr<eio::SessionHandler> handler;

  void text(std::string_view t) { handler->on_message(t); }
  void binary(std::string_view b) { handler->on_binary(b); }
  void transport_close(std::string_view reason) { session->close(reason); }
};

class SioHarness {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SioHarness(SocketServerOptions options = {}, uint32_t max_rooms = 1000) {
    bus_ = bus::make_in_process_bus();
    edge::BusAdapterOptions ao;
    ao.edge_id = "edge-1";
    ao.max_rooms_per_socket = max_rooms;
    adapter = edge::BusAdapter::create(*bus_, ao, {&io0, &io1});
    server = std::make_unique<SocketServer>(options, tag, link, *adapter,
                                            std::vector<boost::asio::io_context*>{&io0, &io1});
    server->set_clock([this] { return now; });
    link.set_receiver(
        [this](internal::BrokerToEdge m) { server->on_broker_message(std::move(m)); });
    link.before_take = [this] { drain(); };
  }

  ~SioHarness() {
    clients_.clear();  // handlers first: they leave the index
    server->stop();
    drain();
  }

  void drain() {
    for (int i = 0; i < 100; ++i) {
      size_t n = io0.poll() + io1.poll();
      io0.restart();
      io1.restart();
      if (n == 0) return;
    }
  }

  Client& open(uint32_t shard = 0) {
    auto c = std::make_unique<Client>();
    c->session = std::make_unique<FakeSession>(make_id(tag, shard), shard, shard == 0 ? io0 : io1);
    c->handler = server->on_open(*c->session);
    c->session->handler = c->handler.get();
    clients_.push_back(std::move(c));
    return *clients_.back();
  }

  // Broker → edge, through the link's receiver like the real link thread.
  void from_broker(internal::BrokerToEdge m) {
    link.receiver(std::move(m));
    drain();
  }

  // Sends CONNECT for `ns` and returns the SessionOpen the edge sent.
  internal::SessionOpen request_connect(Client& c, const std::string& ns,
                                        const std::string& auth = "") {
    std::string text = "0";
    if (ns != "/") text += ns + ",";
    text += auth;
    c.text(text);
    auto sent = link.take();
    EXPECT_EQ(sent.size(), 1u);
    if (sent.size() != 1 || !sent[0].has_open()) return {};
    return sent[0].open();
  }

  // CONNECT accepted by the broker; returns the socket id.
  std::string connect(Client& c, const std::string& ns = "/", std::vector<std::string> rooms = {}) {
    auto open = request_connect(c, ns);
    internal::BrokerToEdge m;
    m.mutable_accepted()->set_socket_id(open.socket_id());
    m.mutable_accepted()->set_user_id("user-1");
    for (auto& r : rooms) m.mutable_accepted()->add_rooms(r);
    from_broker(std::move(m));
    link.take();
    return open.socket_id();
  }

  const std::string tag = edge_tag_for("edge-1");
  boost::asio::io_context io0, io1;
  Clock::time_point now{};
  FakeLink link;
  std::unique_ptr<bus::Bus> bus_;
  std::shared_ptr<edge::BusAdapter> adapter;
  std::unique_ptr<SocketServer> server;

 private:
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace herald::sio::testing
