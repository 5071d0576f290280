// Connection and SocketServer driven through a fake Engine.IO session and a fake broker link:
// namespaces, events, acks, binary attachments, broker commands, timeouts and bad input.
#include "edge/socketio/connection.h"

#include <nlohmann/json.hpp>
#include <set>

#include "tests/unit/sio_server/sio_harness.h"

namespace herald::sio {
namespace {

using testing::Client;
using testing::SioHarness;

internal::BrokerToEdge verdict(const std::string& socket_id, const std::string& ns) {
  internal::BrokerToEdge m;
  m.mutable_verdict()->set_socket_id(socket_id);
  m.mutable_verdict()->set_ns(ns);
  return m;
}

internal::BrokerToEdge emit(const std::string& socket_id, const std::string& ns,
                            const std::string& event, const std::string& args,
                            uint64_t request_id = 0) {
  internal::BrokerToEdge m;
  auto* e = m.mutable_emit();
  e->set_socket_id(socket_id);
  e->set_ns(ns);
  e->set_event(event);
  e->set_args_json(args);
  e->set_request_id(request_id);
  return m;
}

class ConnectionTest : public ::testing::Test {
 protected:
  SioHarness h_;
};

TEST_F(ConnectionTest, ConnectAcceptedRepliesWithSidAndJoinsRooms) {
  Client& c = h_.open(1);
  auto open = h_.request_connect(c, "/", R"({"token":"abc"})");
  auto parts = parse_id(open.socket_id());
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->edge_tag, h_.tag);
  EXPECT_EQ(parts->shard, 1u);
  EXPECT_NE(open.socket_id(), c.session->id());  // never reuse the Engine.IO id
  EXPECT_EQ(open.engine_sid(), c.session->id());
  EXPECT_EQ(open.ns(), "/");
  EXPECT_EQ(open.auth_json(), R"({"token":"abc"})");
  EXPECT_EQ(open.handshake().headers().at("user-agent"), "test");
  EXPECT_EQ(open.handshake().query().at("EIO"), "4");
  EXPECT_EQ(open.handshake().remote_address(), "127.0.0.1:5555");
  EXPECT_EQ(open.handshake().transport(), "websocket");
  EXPECT_TRUE(c.session->sent.empty());  // nothing until the broker decides

  internal::BrokerToEdge m;
  m.mutable_accepted()->set_socket_id(open.socket_id());
  m.mutable_accepted()->set_user_id("42");
  m.mutable_accepted()->add_rooms("user:42");
  h_.from_broker(m);
  EXPECT_EQ(c.session->texts(),
            (std::vector<std::string>{"0{\"sid\":\"" + open.socket_id() + "\"}"}));
  const auto& index = h_.adapter->shard(1).index();
  auto* socket = index.find(open.socket_id());
  ASSERT_NE(socket, nullptr);
  EXPECT_TRUE(index.in_namespace(*socket));
  EXPECT_TRUE(index.in_room(*socket, "user:42"));
  EXPECT_TRUE(index.in_room(*socket, open.socket_id()));
  EXPECT_EQ(socket->user_id(), "42");
  EXPECT_EQ(h_.server->counters().connects_accepted.load(), 1u);
}

TEST_F(ConnectionTest, ConnectRejectedSendsConnectErrorWithCodeAndAllowsRetry) {
  Client& c = h_.open();
  auto open = h_.request_connect(c, "/chat");
  internal::BrokerToEdge m;
  m.mutable_rejected()->set_socket_id(open.socket_id());
  m.mutable_rejected()->mutable_error()->set_code("INVALID_TOKEN");
  m.mutable_rejected()->mutable_error()->set_message("token signature is invalid");
  h_.from_broker(m);
  EXPECT_EQ(c.session->last_text(),
            R"(4/chat,{"data":{"code":"INVALID_TOKEN"},"message":"token signature is invalid"})");
  EXPECT_EQ(h_.adapter->shard(0).index().find(open.socket_id()), nullptr);
  EXPECT_FALSE(c.session->closed);
  EXPECT_TRUE(h_.link.take().empty());  // no SessionClose for a refused socket

  // Details ride along in data; a new CONNECT is a fresh attempt with a fresh id.
  auto again = h_.request_connect(c, "/chat");
  EXPECT_NE(again.socket_id(), open.socket_id());
  m.mutable_rejected()->set_socket_id(again.socket_id());
  m.mutable_rejected()->mutable_error()->set_code("FORBIDDEN");
  m.mutable_rejected()->mutable_error()->set_message("no");
  m.mutable_rejected()->mutable_error()->set_details_json(R"({"why":"policy"})");
  h_.from_broker(m);
  auto payload = nlohmann::json::parse(c.session->last_text().substr(7));
  EXPECT_EQ(payload["data"]["code"], "FORBIDDEN");
  EXPECT_EQ(payload["data"]["details"]["why"], "policy");
}

TEST_F(ConnectionTest, InvalidNamespaceMatchesNodeExactly) {
  Client& c = h_.open();
  auto open = h_.request_connect(c, "/nope");
  internal::BrokerToEdge m;
  m.mutable_rejected()->set_socket_id(open.socket_id());
  m.mutable_rejected()->mutable_error()->set_code("INVALID_NAMESPACE");
  m.mutable_rejected()->mutable_error()->set_message("Invalid namespace");
  h_.from_broker(m);
  EXPECT_EQ(c.session->last_text(), R"(4/nope,{"message":"Invalid namespace"})");
}

TEST_F(ConnectionTest, NamespacesAreMultiplexedOnOneConnection) {
  Client& c = h_.open();
  const std::string root = h_.connect(c, "/");
  const std::string chat = h_.connect(c, "/chat");
  EXPECT_NE(root, chat);
  c.text(R"(2["a",1])");
  c.text(R"(2/chat,["b",2])");
  auto sent = h_.link.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].event().socket_id(), root);
  EXPECT_EQ(sent[0].event().ns(), "/");
  EXPECT_EQ(sent[1].event().socket_id(), chat);
  EXPECT_EQ(sent[1].event().ns(), "/chat");
  EXPECT_EQ(sent[1].event().event(), "b");

  // Leaving one namespace keeps the other and the connection.
  c.text("1/chat,");
  sent = h_.link.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].close().socket_id(), chat);
  EXPECT_EQ(sent[0].close().reason(), "client namespace disconnect");
  EXPECT_FALSE(c.session->closed);
  c.text(R"(2["still",true])");
  EXPECT_EQ(h_.link.take().size(), 1u);
  // ... and /chat can be joined again.
  EXPECT_NE(h_.connect(c, "/chat"), chat);
}

TEST_F(ConnectionTest, EventsWithAndWithoutAck) {
  Client& c = h_.open();
  const std::string id = h_.connect(c);
  const std::string plain = R"(2["msg",1,{"a":[2,3]},"x"])";
  c.text(plain);
  auto sent = h_.link.take();
  ASSERT_EQ(sent.size(), 1u);
  const auto& ev = sent[0].event();
  EXPECT_EQ(ev.socket_id(), id);
  EXPECT_EQ(ev.event(), "msg");
  EXPECT_EQ(ev.args_json(), R"([1,{"a":[2,3]},"x"])");
  EXPECT_FALSE(ev.wants_ack());
  EXPECT_EQ(ev.payload_bytes(), plain.size());

  Client& d = h_.open();
  h_.connect(d);
  d.text(R"(212["ask"])");
  sent = h_.link.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].event().wants_ack());
  EXPECT_EQ(sent[0].event().ack_id(), 12u);
  EXPECT_EQ(sent[0].event().args_json(), "[]");
}

TEST_F(ConnectionTest, BinaryEventWithNestedPlaceholders) {
  Client& c = h_.open();
  const std::string id = h_.connect(c, "/files");
  const std::string header =
      R"(52-/files,3["upload",{"meta":{"parts":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]}}])";
  c.text(header);
  EXPECT_TRUE(h_.link.take().empty());
  c.binary(std::string("\x00\x01", 2));
  EXPECT_TRUE(h_.link.take().empty());
  c.binary("second");
  auto sent = h_.link.take();
  ASSERT_EQ(sent.size(), 1u);
  const auto& ev = sent[0].event();
  EXPECT_EQ(ev.socket_id(), id);
  EXPECT_EQ(ev.event(), "upload");
  EXPECT_EQ(
      ev.args_json(),
      R"([{"meta":{"parts":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]}}])");
  ASSERT_EQ(ev.attachments_size(), 2);
  EXPECT_EQ(ev.attachments(0), std::string("\x00\x01", 2));
  EXPECT_EQ(ev.attachments(1), "second");
  EXPECT_TRUE(ev.wants_ack());
  EXPECT_EQ(ev.ack_id(), 3u);
  EXPECT_EQ(ev.payload_bytes(), header.size() + 2 + 6);
  // The next text frame starts a new packet.
  c.text(R"(2/files,["after"])");
  EXPECT_EQ(h_.link.take().size(), 1u);
  EXPECT_FALSE(c.session->closed);
}

TEST_F(ConnectionTest, VerdictBecomesAckOrBinaryAckOrErrorAck) {
  Client& c = h_.open();
  const std::string id = h_.connect(c, "/chat");
  auto ok = verdict(id, "/chat");
  ok.mutable_verdict()->set_has_ack(true);
  ok.mutable_verdict()->set_ack_id(5);
  ok.mutable_verdict()->set_args_json(R"(["ok",{"n":1}])");
  h_.from_broker(ok);
  EXPECT_EQ(c.session->last_text(), R"(3/chat,5["ok",{"n":1}])");

  auto bin = verdict(id, "/chat");
  bin.mutable_verdict()->set_has_ack(true);
  bin.mutable_verdict()->set_ack_id(6);
  bin.mutable_verdict()->set_args_json(R"([{"_placeholder":true,"num":0}])");
  bin.mutable_verdict()->add_attachments("blob");
  h_.from_broker(bin);
  EXPECT_EQ(c.session->last_text(), R"(61-/chat,6[{"_placeholder":true,"num":0}])");
  EXPECT_EQ(c.session->sent.back()->binaries, (std::vector<std::string>{"blob"}));

  auto refused = verdict(id, "/chat");
  refused.mutable_verdict()->set_has_ack(true);
  refused.mutable_verdict()->set_ack_id(7);
  refused.mutable_verdict()->mutable_error()->set_code("VALIDATION_FAILED");
  refused.mutable_verdict()->mutable_error()->set_message("bad args");
  refused.mutable_verdict()->mutable_error()->set_details_json(R"([{"field":"text"}])");
  h_.from_broker(refused);
  EXPECT_EQ(
      c.session->last_text(),
      R"(3/chat,7[{"error":{"code":"VALIDATION_FAILED","details":[{"field":"text"}],"message":"bad args"}}])");
  EXPECT_EQ(h_.server->counters().acks_out.load(), 3u);
}

// Found by broker_message_fuzz: ack arguments were spliced unchecked, so a verdict whose
// args_json is not a JSON array gave the client a packet it cannot parse (socket.io-client then
// closes the whole connection). Like emits, it is refused; the client's ack gets an error.
TEST_F(ConnectionTest, VerdictWhoseArgumentsAreNotAnArrayGivesAnErrorAck) {
  Client& c = h_.open();
  const std::string id = h_.connect(c, "/chat");
  for (const char* args : {R"(Z"ok",{"n":1}])", R"({"a":1})", "[1", "1]"}) {
    auto bad = verdict(id, "/chat");
    bad.mutable_verdict()->set_has_ack(true);
    bad.mutable_verdict()->set_ack_id(9);
    bad.mutable_verdict()->set_args_json(args);
    bad.mutable_verdict()->add_attachments("blob");
    h_.from_broker(bad);
    EXPECT_EQ(
        c.session->last_text(),
        R"(3/chat,9[{"error":{"code":"INTERNAL","message":"invalid acknowledgement from the server"}}])")
        << args;
    EXPECT_TRUE(c.session->sent.back()->binaries.empty());
    EXPECT_TRUE(decode_packet(c.session->last_text()).ok());
  }
  EXPECT_EQ(h_.server->counters().encode_failures.load(), 4u);
  EXPECT_FALSE(c.session->closed);
}

TEST_F(ConnectionTest, VerdictErrorWithoutAckIsAnErrorEvent) {
  Client& c = h_.open();
  const std::string id = h_.connect(c);
  auto v = verdict(id, "/");
  v.mutable_verdict()->mutable_error()->set_code("RATE_LIMITED");
  v.mutable_verdict()->mutable_error()->set_message("slow down");
  h_.from_broker(v);
  const std::string text = c.session->last_text();
  ASSERT_EQ(text.substr(0, 1), "2");
  auto payload = nlohmann::json::parse(text.substr(1));
  ASSERT_EQ(payload.size(), 2u);
  EXPECT_EQ(payload[0], "error");
  EXPECT_EQ(payload[1]["code"], "RATE_LIMITED");
  EXPECT_EQ(payload[1]["message"], "slow down");
  EXPECT_FALSE(payload[1].contains("details"));
  EXPECT_GT(payload[1]["timestamp"].get<int64_t>(), 1600000000000);

  // No ack, no error: nothing to say.
  const size_t before = c.session->sent.size();
  h_.from_broker(verdict(id, "/"));
  EXPECT_EQ(c.session->sent.size(), before);
}

TEST_F(ConnectionTest, ServerEmitWithAckRoundTrip) {
  Client& c = h_.open();
  const std::string id = h_.connect(c);
  h_.from_broker(emit(id, "/", "news", R"([{"x":1}])"));
  EXPECT_EQ(c.session->last_text(), R"(2["news",{"x":1}])");

  h_.from_broker(emit(id, "/", "ping", "[1]", 77));
  EXPECT_EQ(c.session->last_text(), R"(20["ping",1])");
  h_.from_broker(emit(id, "/", "ping", "[2]", 78));
  EXPECT_EQ(c.session->last_text(), R"(21["ping",2])");

  c.text(R"(31["pong",2])");
  auto sent = h_.link.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack().socket_id(), id);
  EXPECT_EQ(sent[0].ack().request_id(), 78u);
  EXPECT_EQ(sent[0].ack().args_json(), R"(["pong",2])");
  EXPECT_FALSE(sent[0].ack().timed_out());

  // A second ACK for the same id, or one for an id never used, is ignored (socket.ts onack).
  c.text(R"(31["again"])");
  c.text(R"(399["never"])");
  EXPECT_TRUE(h_.link.take().empty());
  EXPECT_EQ(h_.server->counters().unknown_acks.load(), 2u);
  EXPECT_FALSE(c.session->closed);

  // Binary ack from the client.
  c.text(R"(61-0[{"_placeholder":true,"num":0}])");
  c.binary("bytes");
  sent = h_.link.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack().request_id(), 77u);
  ASSERT_EQ(sent[0].ack().attachments_size(), 1);
  EXPECT_EQ(sent[0].ack().attachments(0), "bytes");
}

TEST_F(ConnectionTest, ServerEmitAckTimesOutOnTheShardSweep) {
  SocketServerOptions options;
  options.ack_timeout_ms = 1000;
  SioHarness h(options);
  Client& c = h.open(1);
  const std::string id = h.connect(c);
  h.from_broker(emit(id, "/", "q", "[]", 9));
  EXPECT_EQ(h.server->shard(1).pending_ack_timeouts(), 1u);
  h.server->shard(1).sweep(h.now + std::chrono::milliseconds(999));
  EXPECT_TRUE(h.link.take().empty());
  h.server->shard(1).sweep(h.now + std::chrono::milliseconds(1000));
  auto sent = h.link.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack().request_id(), 9u);
  EXPECT_TRUE(sent[0].ack().timed_out());
  EXPECT_EQ(sent[0].ack().args_json(), "");
  EXPECT_EQ(h.server->counters().ack_timeouts.load(), 1u);
  // The late ACK is ignored.
  c.text(R"(30["late"])");
  EXPECT_TRUE(h.link.take().empty());

  // An answered ack leaves a stale queue entry that the sweep skips.
  h.from_broker(emit(id, "/", "q", "[]", 10));
  c.text(R"(31[])");
  EXPECT_EQ(h.link.take().size(), 1u);
  h.server->shard(1).sweep(h.now + std::chrono::hours(1));
  EXPECT_TRUE(h.link.take().empty());
}

TEST_F(ConnectionTest, PendingAcksAreAnsweredWhenTheSocketGoes) {
  Client& c = h_.open();
  const std::string id = h_.connect(c);
  h_.from_broker(emit(id, "/", "q", "[]", 5));
  c.transport_close("transport close");
  auto sent = h_.link.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[0].ack().timed_out());
  EXPECT_EQ(sent[0].ack().request_id(), 5u);
  EXPECT_EQ(sent[1].close().reason(), "transport close");
}

TEST_F(ConnectionTest, TransportCloseClosesEveryNamespaceIncludingPending) {
  Client& c = h_.open();
  const std::string root = h_.connect(c);
  const std::string chat = h_.connect(c, "/chat");
  auto pending = h_.request_connect(c, "/admin");
  c.transport_close("ping timeout");
  auto sent = h_.link.take();
  std::set<std::string> closed;
  for (const auto& m : sent) {
    ASSERT_TRUE(m.has_close());
    EXPECT_EQ(m.close().reason(), "ping timeout");
    closed.insert(m.close().socket_id());
  }
  EXPECT_EQ(closed, (std::set<std::string>{root, chat, pending.socket_id()}));
  EXPECT_EQ(h_.adapter->shard(0).index().socket_count(), 0u);
  // The broker's late answer for the pending one finds nothing.
  internal::BrokerToEdge m;
  m.mutable_accepted()->set_socket_id(pending.socket_id());
  h_.from_broker(m);
  EXPECT_EQ(h_.server->counters().stale_broker_messages.load(), 1u);
}

TEST_F(ConnectionTest, BrokerDisconnectKeepsTheConnectionUnlessAsked) {
  Client& c = h_.open();
  const std::string root = h_.connect(c);
  const std::string chat = h_.connect(c, "/chat");
  internal::BrokerToEdge m;
  m.mutable_disconnect()->set_socket_id(chat);
  m.mutable_disconnect()->set_reason("kicked");
  h_.from_broker(m);
  EXPECT_EQ(c.session->last_text(), "1/chat,");
  auto sent = h_.link.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].close().socket_id(), chat);
  EXPECT_EQ(sent[0].close().reason(), "server namespace disconnect");
  EXPECT_FALSE(c.session->closed);

  const std::string chat2 = h_.connect(c, "/chat");
  m.mutable_disconnect()->set_socket_id(root);
  m.mutable_disconnect()->set_close_connection(true);
  h_.from_broker(m);
  auto texts = c.session->texts();
  ASSERT_GE(texts.size(), 2u);
  std::set<std::string> last_two{texts[texts.size() - 1], texts[texts.size() - 2]};
  EXPECT_EQ(last_two, (std::set<std::string>{"1", "1/chat,"}));
  EXPECT_TRUE(c.session->closed);
  EXPECT_EQ(c.session->close_reason, "forced server close");
  sent = h_.link.take();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& s : sent) EXPECT_EQ(s.close().reason(), "server namespace disconnect");
}

TEST_F(ConnectionTest, RoomChangeJoinsAndLeavesWithinTheLimit) {
  SioHarness h({}, /*max_rooms=*/2);
  Client& a = h.open(0);
  Client& b = h.open(1);
  const std::string ida = h.connect(a, "/", {"user:1"});
  const std::string idb = h.connect(b);
  internal::BrokerToEdge m;
  m.mutable_rooms()->add_socket_ids(ida);
  m.mutable_rooms()->add_socket_ids(idb);
  m.mutable_rooms()->add_join("team");
  m.mutable_rooms()->add_join("extra");
  m.mutable_rooms()->add_leave("user:1");
  h.from_broker(m);
  const auto& ia = h.adapter->shard(0).index();
  const auto& ib = h.adapter->shard(1).index();
  // a had user:1 (limit 2): "team" fits, "extra" is refused, then user:1 is left.
  EXPECT_TRUE(ia.in_room(*ia.find(ida), "team"));
  EXPECT_FALSE(ia.in_room(*ia.find(ida), "extra"));
  EXPECT_FALSE(ia.in_room(*ia.find(ida), "user:1"));
  EXPECT_TRUE(ib.in_room(*ib.find(idb), "team"));
  EXPECT_TRUE(ib.in_room(*ib.find(idb), "extra"));
  EXPECT_EQ(h.adapter->counters().joins_refused.load(), 1u);
}

TEST_F(ConnectionTest, ConnectTimeoutClosesConnectionsWithoutANamespace) {
  SocketServerOptions options;
  options.connect_timeout_ms = 5000;
  SioHarness h(options);
  Client& idle = h.open();
  Client& pending = h.open();
  Client& joined = h.open();
  auto open = h.request_connect(pending, "/");
  h.connect(joined);
  h.server->shard(0).sweep(h.now + std::chrono::milliseconds(4999));
  EXPECT_FALSE(idle.session->closed);
  h.server->shard(0).sweep(h.now + std::chrono::milliseconds(5000));
  EXPECT_TRUE(idle.session->closed);
  EXPECT_EQ(idle.session->close_reason, "forced server close");
  EXPECT_TRUE(pending.session->closed);  // like Node: only a connected namespace counts
  EXPECT_FALSE(joined.session->closed);
  auto sent = h.link.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].close().socket_id(), open.socket_id());
  EXPECT_EQ(h.server->counters().connect_timeouts.load(), 2u);
}

TEST_F(ConnectionTest, NamespaceLimitRefusesTheExtraConnectOnly) {
  SocketServerOptions options;
  options.max_namespaces_per_connection = 2;
  SioHarness h(options);
  Client& c = h.open();
  h.connect(c, "/");
  h.request_connect(c, "/a");  // pending counts
  c.text("0/b,");
  EXPECT_TRUE(h.link.take().empty());
  auto payload = c.session->last_text();
  EXPECT_EQ(
      payload,
      R"(4/b,{"data":{"code":"FORBIDDEN"},"message":"Too many namespaces on this connection"})");
  EXPECT_FALSE(c.session->closed);
  EXPECT_EQ(h.server->counters().namespace_limit_refused.load(), 1u);
}

TEST_F(ConnectionTest, DuplicateConnectWhilePendingIsIgnored) {
  Client& c = h_.open();
  h_.request_connect(c, "/");
  c.text("0");
  EXPECT_TRUE(h_.link.take().empty());
  EXPECT_FALSE(c.session->closed);
  EXPECT_EQ(h_.server->counters().duplicate_connects.load(), 1u);
}

TEST_F(ConnectionTest, BrokerMessagesAreRoutedToTheOwningShard) {
  Client& c = h_.open(1);
  const std::string id = h_.connect(c);
  h_.link.receiver(emit(id, "/", "hello", "[]"));
  h_.io0.poll();
  h_.io0.restart();
  EXPECT_EQ(c.session->last_text(), "0{\"sid\":\"" + id + "\"}");  // not run on shard 0
  h_.io1.poll();
  h_.io1.restart();
  EXPECT_EQ(c.session->last_text(), R"(2["hello"])");
  // An id of another edge is not routable.
  h_.link.receiver(emit(make_id("ZZZZ", 0).str(), "/", "x", "[]"));
  EXPECT_EQ(h_.server->counters().unroutable_broker_messages.load(), 1u);
}

// --- Bad input: each closes the connection and is counted -------------------------------------

struct BadInput {
  std::string name;
  std::vector<std::string> frames;  // "b:" prefix: binary frame
  std::atomic<uint64_t> SioCounters::*counter;
  std::string reason;
};

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, ClosesTheConnectionAndCounts) {
  SocketServerOptions options;
  options.max_attachments = 2;
  SioHarness h(options);
  Client& c = h.open();
  const std::string id = h.connect(c);
  for (const auto& frame : GetParam().frames) {
    if (frame.rfind("b:", 0) == 0) {
      c.binary(frame.substr(2));
    } else {
      c.text(frame);
    }
  }
  EXPECT_TRUE(c.session->closed);
  EXPECT_EQ(c.session->close_reason, GetParam().reason);
  EXPECT_EQ((h.server->counters().*(GetParam().counter)).load(), 1u);
  auto sent = h.link.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().close().socket_id(), id);
  EXPECT_EQ(sent.back().close().reason(), GetParam().reason);
  // Frames after the close are ignored.
  c.text(R"(2["x"])");
  EXPECT_TRUE(h.link.take().empty());
}

const BadInput kBadInputs[] = {
    {"UnknownPacketType", {"7"}, &SioCounters::bad_packets, "parse error"},
    {"EmptyFrame", {""}, &SioCounters::bad_packets, "parse error"},
    {"BinaryWithoutDash",
     {R"(51["a",{"_placeholder":true,"num":0}])"},
     &SioCounters::bad_packets,
     "parse error"},
    {"InvalidJson", {R"(2["a")"}, &SioCounters::bad_packets, "parse error"},
    {"NonArrayEvent", {R"(2{"a":1})"}, &SioCounters::bad_packets, "parse error"},
    {"EventNameNotString", {R"(2[1,2])"}, &SioCounters::bad_packets, "parse error"},
    {"EmptyEventArray", {R"(2[])"}, &SioCounters::bad_packets, "parse error"},
    {"AckIdOverflow", {R"(29007199254740992["a"])"}, &SioCounters::bad_packets, "parse error"},
    {"TooManyAttachments",
     {R"(53-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}])"},
     &SioCounters::bad_packets,
     "parse error"},
    {"PlaceholderOutOfRange",
     {R"(51-["a",{"_placeholder":true,"num":1}])"},
     &SioCounters::bad_packets,
     "parse error"},
    {"TextWhileReconstructing",
     {R"(51-["a",{"_placeholder":true,"num":0}])", R"(2["b"])"},
     &SioCounters::binary_sequence_errors,
     "parse error"},
    {"BinaryWithoutHeader", {"b:stray"}, &SioCounters::binary_sequence_errors, "parse error"},
    {"ExtraAttachment",
     {R"(51-["a",{"_placeholder":true,"num":0}])", "b:one", "b:two"},
     &SioCounters::binary_sequence_errors,
     "parse error"},
    {"ReservedEventName", {R"(2["disconnect"])"}, &SioCounters::reserved_events, "parse error"},
    {"ReservedEventNewListener",
     {R"(2["newListener",1])"},
     &SioCounters::reserved_events,
     "parse error"},
    {"EventForUnconnectedNamespace",
     {R"(2/other,["a"])"},
     &SioCounters::invalid_state,
     "forced server close"},
    {"DisconnectForUnconnectedNamespace",
     {"1/other,"},
     &SioCounters::invalid_state,
     "forced server close"},
    {"ConnectErrorFromClient",
     {R"(4{"message":"x"})"},
     &SioCounters::invalid_state,
     "forced server close"},
    {"ConnectTwice", {"0"}, &SioCounters::invalid_state, "forced server close"},
};

INSTANTIATE_TEST_SUITE_P(All, BadInputTest, ::testing::ValuesIn(kBadInputs),
                         [](const ::testing::TestParamInfo<BadInput>& param_info) {
                           return param_info.param.name;
                         });

// Every idle websocket connection carries one Connection and one Socket per namespace (issue #7's
// 2 KiB target): a new field should be a decision, not an accident.
TEST(SioMemory, ConnectionAndSocketSizes) {
  std::printf("sizeof(Connection)=%zu sizeof(Socket)=%zu\n", sizeof(Connection), sizeof(Socket));
  EXPECT_LE(sizeof(Socket), 184u);
  EXPECT_LE(sizeof(Connection), 64u);
}

}  // namespace
}  // namespace herald::sio
