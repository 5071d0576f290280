// Fuzzes every Protobuf message the edge accepts from the broker tier, through the edge's own
// decode and dispatch path with an in-process environment (no gRPC, no NATS, no sockets):
//  - the input is a serialized BrokerBatch, as one read on an EdgeLink stream (edgelink.proto);
//  - each BrokerToEdge goes through sio::dispatch_broker_message (the Edge's link receiver), so
//    SessionAccepted/Rejected, EventVerdict, EmitToSocket, RoomChange, DisconnectSocket reach the
//    Socket.IO server on the socket's shard, and BusFallback's envelope bytes (bus.proto: Delivery,
//    RoomCommand, EmitWithAckRequest, ...) are parsed and handed to the BusAdapter;
//  - a BusFallback whose subject starts with "bus:" is published on the in-process bus instead
//    (the rest of the subject is the subject), as a NATS message reaches the adapter.
// Three clients are set up first on two shards: $0 (connected to "/", rooms lobby and team:1, an
// event waiting for its verdict with ack id 1), $1 (a CONNECT to "/chat" waiting for the broker),
// $2 (connected to "/" on shard 1, a binary event with ack id 2 waiting); $3 is an id of this
// edge that no socket has. Socket ids are random, so the input names them by 20-byte
// placeholders "@sock0@@@@@@@@@@@@@@" .. "@sock3@@@@@@@@@@@@@@", replaced byte for byte before
// decoding (ids are 20 bytes too, so lengths in the wire format stay valid).
// Afterwards every packet the edge wrote to a client must be well framed (see check_sent).
#include <google/protobuf/stubs/logging.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bus/bus.h"
#include "common/ids.h"
#include "edge/adapter/bus_adapter.h"
#include "edge/socketio/broker_dispatch.h"
#include "edge/socketio/packet.h"
#include "edge/socketio/socket_server.h"
#include "herald/internal/edgelink.pb.h"
#include "tests/unit/sio_server/sio_fakes.h"

namespace {

using herald::sio::testing::FakeLink;
using herald::sio::testing::FakeSession;
namespace internal = herald::internal;

constexpr size_t kPlaceholders = 4;
constexpr std::string_view kPlaceholder[kPlaceholders] = {
    "@sock0@@@@@@@@@@@@@@", "@sock1@@@@@@@@@@@@@@", "@sock2@@@@@@@@@@@@@@", "@sock3@@@@@@@@@@@@@@"};
static_assert(kPlaceholder[0].size() == herald::kIdLength);

struct Client {
  std::unique_ptr<FakeSession> session;
  std::unique_ptr<herald::eio::SessionHandler> handler;
};

class Edge {
 public:
  Edge() {
    bus_ = herald::bus::make_in_process_bus();
    herald::edge::BusAdapterOptions ao;
    ao.edge_id = "edge-1";
    ao.heartbeat_interval_ms = 3600000;
    ao.max_rooms_per_socket = 50;
    ao.boot_id = 1;
    adapter_ = herald::edge::BusAdapter::create(*bus_, ao, {&io0_, &io1_});
    herald::sio::SocketServerOptions so;
    so.max_attachments = 8;
    so.max_payload = 64 * 1024;
    server_ = std::make_unique<herald::sio::SocketServer>(
        so, tag_, link_, *adapter_, std::vector<boost::asio::io_context*>{&io0_, &io1_});
    server_->set_clock([] { return herald::sio::SocketServer::Clock::time_point{}; });
    link_.set_receiver([this](internal::BrokerToEdge m) {
      herald::sio::dispatch_broker_message(std::move(m), server_.get(), adapter_.get());
    });
    adapter_->start();
    drain();
  }

  ~Edge() {
    for (Client& c : clients_) c.session->close("transport close");
    clients_.clear();
    server_->stop();
    adapter_->stop();
    drain();
    adapter_->release_timer();
  }

  void drain() {
    for (int i = 0; i < 100; ++i) {
      const size_t n = io0_.poll() + io1_.poll();
      io0_.restart();
      io1_.restart();
      if (n == 0) return;
    }
  }

  Client& open(uint32_t shard) {
    Client c;
    c.session = std::make_unique<FakeSession>(herald::make_id(tag_, shard).str(), shard,
                                              shard == 0 ? io0_ : io1_);
    c.handler = server_->on_open(*c.session);
    c.session->handler = c.handler.get();
    clients_.push_back(std::move(c));
    return clients_.back();
  }

  // The client's CONNECT; returns the socket id of the SessionOpen the edge sent.
  std::string request_connect(Client& c, const std::string& ns) {
    c.handler->on_message(ns == "/" ? std::string("0") : "0" + ns + ",");
    drain();
    for (const auto& m : link_.take()) {
      if (m.has_open()) return m.open().socket_id();
    }
    std::abort();
  }

  void from_broker(internal::BrokerToEdge m) {
    link_.receiver(std::move(m));
    drain();
  }

  void publish(const std::string& subject, std::shared_ptr<herald::bus::Envelope> envelope) {
    bus_->publish(subject, std::move(envelope));
    drain();
  }

  const std::string& tag() const { return tag_; }
  FakeLink& link() { return link_; }
  std::deque<Client>& clients() { return clients_; }

 private:
  const std::string tag_ = herald::edge_tag_for("edge-1");
  boost::asio::io_context io0_, io1_;
  FakeLink link_;
  std::unique_ptr<herald::bus::Bus> bus_;
  std::shared_ptr<herald::edge::BusAdapter> adapter_;
  std::unique_ptr<herald::sio::SocketServer> server_;
  std::deque<Client> clients_;  // references stay valid as clients are added
};

internal::BrokerToEdge accepted(const std::string& socket_id, std::vector<std::string> rooms) {
  internal::BrokerToEdge m;
  m.mutable_accepted()->set_socket_id(socket_id);
  m.mutable_accepted()->set_user_id("user-1");
  for (auto& r : rooms) m.mutable_accepted()->add_rooms(r);
  return m;
}

// Every packet written to a client is framed correctly, and one a Socket.IO client can decode
// unless its arguments are JSON the broker passed through: the broker validates args_json
// (broker/fanout/emit_validation.cc) and the edge, trusting it, only checks that it is an array.
// So packets the edge writes itself (CONNECT, CONNECT_ERROR, DISCONNECT) must decode whole; for
// events and acks the header must (type, attachment count matching the binaries, namespace, ack
// id) with the arguments starting as an array.
void check_sent(const FakeSession& session) {
  herald::sio::DecodeLimits limits;
  limits.max_attachments = 1u << 20;
  limits.max_json_depth = 1u << 20;
  limits.strict_placeholders = false;
  for (const auto& message : session.sent) {
    const std::string& text = message->text;
    if (text.empty() || text[0] < '0' || text[0] > '6') std::abort();
    const auto type = static_cast<herald::sio::PacketType>(text[0] - '0');
    const bool args_from_broker = type != herald::sio::PacketType::kConnect &&
                                  type != herald::sio::PacketType::kConnectError &&
                                  type != herald::sio::PacketType::kDisconnect;
    std::string header = text;
    if (args_from_broker) {
      // The header up to the arguments' '[' (a namespace never contains '[': the client's
      // CONNECT named it and decode_packet refused anything else).
      const size_t open = text.find('[');
      if (open == std::string::npos) std::abort();
      header = text.substr(0, open) + "[\"x\"]";
    }
    auto packet = herald::sio::decode_packet(header, limits);
    if (!packet.ok() || packet->type != type) std::abort();
    const size_t attachments = herald::sio::is_binary_type(type) ? packet->attachments : 0;
    if (attachments != message->binaries.size()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in string fields makes protobuf log every refused parse; the parse result is
  // what matters here.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  Edge edge;
  // $0: connected to "/" on shard 0, with an event awaiting its verdict (ack id 1).
  Client& a = edge.open(0);
  std::string ids[kPlaceholders];
  ids[0] = edge.request_connect(a, "/");
  edge.from_broker(accepted(ids[0], {"lobby", "team:1"}));
  a.handler->on_message(R"(21["message",{"text":"hi"}])");
  // $1: a CONNECT to "/chat" the broker has not answered.
  ids[1] = edge.request_connect(a, "/chat");
  // $2: connected on shard 1, a binary event awaiting its verdict (ack id 2).
  Client& b = edge.open(1);
  ids[2] = edge.request_connect(b, "/");
  edge.from_broker(accepted(ids[2], {"lobby"}));
  b.handler->on_message(R"(51-2["upload",{"_placeholder":true,"num":0}])");
  b.handler->on_binary(std::string("\x01\x02\x03", 3));
  ids[3] = herald::make_id(edge.tag(), 1).str();
  edge.link().take();

  std::string bytes(reinterpret_cast<const char*>(data), size);
  for (size_t i = 0; i < kPlaceholders; ++i) {
    for (size_t at = bytes.find(kPlaceholder[i]); at != std::string::npos;
         at = bytes.find(kPlaceholder[i], at + herald::kIdLength)) {
      std::memcpy(bytes.data() + at, ids[i].data(), herald::kIdLength);
    }
  }

  internal::BrokerBatch batch;
  if (!batch.ParseFromString(bytes)) return 0;
  for (internal::BrokerToEdge& m : *batch.mutable_messages()) {
    if (m.kind_case() == internal::BrokerToEdge::kBusFallback &&
        m.bus_fallback().subject().rfind("bus:", 0) == 0) {
      auto envelope = std::make_shared<herald::bus::Envelope>();
      if (!envelope->ParseFromString(m.bus_fallback().envelope())) continue;
      edge.publish(m.bus_fallback().subject().substr(4), std::move(envelope));
      continue;
    }
    edge.from_broker(std::move(m));
  }
  // The clients go on: another event, then a namespace disconnect.
  a.handler->on_message(R"(23["after",1])");
  b.handler->on_message("1");
  for (const Client& c : edge.clients()) check_sent(*c.session);
  return 0;
}
