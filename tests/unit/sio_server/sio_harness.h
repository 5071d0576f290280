// The Socket.IO server's test harness (the fakes are in sio_fakes.h): runs the shards' io_contexts
// by hand with an injected clock.
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
#include "tests/unit/sio_server/sio_fakes.h"

namespace herald::sio::testing {

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
    c->session =
        std::make_unique<FakeSession>(make_id(tag, shard).str(), shard, shard == 0 ? io0 : io1);
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
