// sio::dispatch_broker_message, the Edge's BrokerLink receiver: bus messages a broker sent on its
// stream (BusFallback) reach the bus adapter as if from their subject; the rest the Socket.IO
// server; undecodable envelopes and stopped targets drop the message.
#include "edge/socketio/broker_dispatch.h"

#include "tests/unit/sio_server/sio_harness.h"

namespace herald::sio {
namespace {

using testing::Client;
using testing::SioHarness;

class BrokerDispatchTest : public ::testing::Test {
 protected:
  BrokerDispatchTest() {
    h_.link.set_receiver([this](internal::BrokerToEdge m) {
      dispatch_broker_message(std::move(m), h_.server.get(), h_.adapter.get());
    });
  }

  static internal::BrokerToEdge fallback(const std::string& subject, std::string envelope) {
    internal::BrokerToEdge m;
    m.mutable_bus_fallback()->set_subject(subject);
    m.mutable_bus_fallback()->set_envelope(std::move(envelope));
    return m;
  }

  SioHarness h_;
};

TEST_F(BrokerDispatchTest, FallbackDeliveryReachesTheRoomAsFromTheBus) {
  Client& c = h_.open();
  h_.connect(c, "/", {"lobby"});  // SessionAccepted went through the dispatch too
  internal::BusEnvelope envelope;
  auto* d = envelope.mutable_delivery();
  d->set_ns("/");
  d->add_rooms("lobby");
  d->set_event("chat");
  d->set_args_json(R"(["hi"])");
  h_.from_broker(fallback(h_.adapter->subjects().room("/", "lobby"), envelope.SerializeAsString()));
  EXPECT_EQ(c.session->last_text(), R"(2["chat","hi"])");
  EXPECT_EQ(h_.adapter->counters().fallback_received.load(), 1u);

  // A room with no local member: the bus would not have delivered it either.
  const size_t sent = c.session->sent.size();
  h_.from_broker(fallback(h_.adapter->subjects().room("/", "other"), envelope.SerializeAsString()));
  // Bytes that are not a BusEnvelope are dropped.
  h_.from_broker(fallback(h_.adapter->subjects().room("/", "lobby"), "\xff\xff\xff"));
  EXPECT_EQ(c.session->sent.size(), sent);
  EXPECT_EQ(h_.adapter->counters().fallback_received.load(), 1u);
}

TEST_F(BrokerDispatchTest, FallbackCommandOnTheEdgeSubjectJoinsRooms) {
  Client& c = h_.open(1);
  const std::string id = h_.connect(c, "/");
  internal::BusEnvelope envelope;
  auto* command = envelope.mutable_command();
  command->set_ns("/");
  command->add_socket_ids(id);
  command->add_join("team:7");
  h_.from_broker(fallback(h_.adapter->subjects().edge("edge-1"), envelope.SerializeAsString()));
  const auto* socket = h_.adapter->shard(1).index().find(id);
  ASSERT_NE(socket, nullptr);
  EXPECT_TRUE(h_.adapter->shard(1).index().in_room(*socket, "team:7"));
}

TEST_F(BrokerDispatchTest, StoppedTargetsDropMessages) {
  internal::BrokerToEdge m;
  m.mutable_disconnect()->set_socket_id("x");
  dispatch_broker_message(m, nullptr, nullptr);
  dispatch_broker_message(fallback("herald.edge.edge-1", ""), nullptr, nullptr);
  h_.drain();
  EXPECT_EQ(h_.server->counters().unroutable_broker_messages.load(), 0u);
}

}  // namespace
}  // namespace herald::sio
