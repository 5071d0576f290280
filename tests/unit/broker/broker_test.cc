// Broker core: connect/auth, client event actions, HandleEvents routing, EmitWithAck, token expiry
// and refresh, driven through a fake edge and the in-process bus on a hand-run io_context.
#include "broker/core/broker.h"

#include <gtest/gtest.h>

#include "tests/unit/broker/broker_test_util.h"

namespace herald::broker {
namespace {

using nlohmann::json;
using testing::BrokerFixture;
using testing::FakeEdge;
using testing::FakeHandler;

class BrokerTest : public BrokerFixture {
 protected:
  // Registers a fake handler for routes and returns it (Registered consumed).
  std::shared_ptr<FakeHandler> handler(std::vector<std::pair<std::string, std::string>> routes) {
    auto h = std::make_shared<FakeHandler>();
    v1::HandlerMessage msg;
    auto* reg = msg.mutable_register_();
    reg->set_service_name("svc");
    for (auto& [ns, event] : routes) {
      auto* r = reg->add_routes();
      r->set_ns(ns);
      r->set_event(event);
    }
    broker_->on_handler_message(h, std::move(msg));
    run();
    auto got = h->take();
    EXPECT_EQ(got.size(), 1u);
    if (!got.empty()) {
      EXPECT_TRUE(got[0].has_registered());
      EXPECT_EQ(got[0].registered().routes(), routes.size());
    }
    return h;
  }

  void reply(const std::shared_ptr<FakeHandler>& h, uint64_t call_id, const std::string& args,
             const std::string& error_code = "", const std::string& error_message = "") {
    v1::HandlerMessage msg;
    auto* r = msg.mutable_reply();
    r->set_call_id(call_id);
    r->set_args_json(args);
    r->set_error_code(error_code);
    r->set_error_message(error_message);
    broker_->on_handler_message(h, std::move(msg));
    run();
  }
};

// --- connect ----------------------------------------------------------------------------------

TEST_F(BrokerTest, ConnectWithAuthTokenIsAccepted) {
  auto out = open("s1", "/chat", json({{"token", token("u1", {{"team", "t1"}})}}).dump());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_accepted()) << out[0].DebugString();
  const auto& a = out[0].accepted();
  EXPECT_EQ(a.socket_id(), "s1");
  EXPECT_EQ(a.user_id(), "u1");
  std::vector<std::string> rooms(a.rooms().begin(), a.rooms().end());
  EXPECT_EQ(rooms, (std::vector<std::string>{"user:u1", "team:t1"}));
  EXPECT_EQ(a.token_expires_at_ms(), (now_ms_ / 1000 + 3600) * 1000);
  json data = json::parse(a.data_json());
  EXPECT_EQ(data["sub"], "u1");
  EXPECT_EQ(broker_->session_count(), 1u);
  EXPECT_EQ(broker_->session_rooms("s1"), rooms);
}

TEST_F(BrokerTest, ConnectTokenFromQueryThenAuthorizationHeader) {
  internal::EdgeToBroker msg;
  auto* o = msg.mutable_open();
  o->set_socket_id("q1");
  o->set_ns("/chat");
  (*o->mutable_handshake()->mutable_query())["token"] = token("uq");
  broker_->on_edge_message(edge_, msg);
  run();
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_accepted());
  EXPECT_EQ(out[0].accepted().user_id(), "uq");

  internal::EdgeToBroker msg2;
  auto* o2 = msg2.mutable_open();
  o2->set_socket_id("h1");
  o2->set_ns("/chat");
  (*o2->mutable_handshake()->mutable_headers())["authorization"] = "Bearer " + token("uh");
  broker_->on_edge_message(edge_, msg2);
  run();
  out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_accepted());
  EXPECT_EQ(out[0].accepted().user_id(), "uh");
}

TEST_F(BrokerTest, ConnectWithoutTokenIsMissingToken) {
  auto out = open("s1", "/chat", "");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_rejected());
  EXPECT_EQ(out[0].rejected().socket_id(), "s1");
  EXPECT_EQ(out[0].rejected().error().code(), "MISSING_TOKEN");
  EXPECT_EQ(broker_->session_count(), 0u);
  EXPECT_EQ(broker_->counters().sessions_rejected.load(), 1u);
}

TEST_F(BrokerTest, ConnectWithExpiredTokenIsExpiredToken) {
  auto out = open("s1", "/chat", json({{"token", token("u1", {}, -10)}}).dump());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_rejected());
  EXPECT_EQ(out[0].rejected().error().code(), "EXPIRED_TOKEN");
}

TEST_F(BrokerTest, ConnectWithBadSignatureIsInvalidToken) {
  std::string bad = testing::sign_token({{"sub", "u1"}}, std::string(32, 'x'));
  auto out = open("s1", "/chat", json({{"token", bad}}).dump());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_rejected());
  EXPECT_EQ(out[0].rejected().error().code(), "INVALID_TOKEN");
  out = open("s2", "/chat", json({{"token", "not.a.jwt"}}).dump());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rejected().error().code(), "INVALID_TOKEN");
}

TEST_F(BrokerTest, UnknownNamespaceIsInvalidNamespace) {
  auto out = open("s1", "/nope", "");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_rejected());
  EXPECT_EQ(out[0].rejected().error().code(), "INVALID_NAMESPACE");
  EXPECT_EQ(out[0].rejected().error().message(), "Invalid namespace");
}

TEST_F(BrokerTest, PolicyRefusalIsForbidden) {
  auto out = open("s1", "/admin", json({{"token", token("u1", {{"role", "user"}})}}).dump());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_rejected());
  EXPECT_EQ(out[0].rejected().error().code(), "FORBIDDEN");
  out = open("s2", "/admin", json({{"token", token("u1", {{"role", "admin"}})}}).dump());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has_accepted());
}

TEST_F(BrokerTest, AnonymousNamespaceNeedsNoToken) {
  auto out = open("s1", "/open", "");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_accepted());
  EXPECT_EQ(out[0].accepted().user_id(), "");
  EXPECT_EQ(out[0].accepted().rooms_size(), 0);
  EXPECT_EQ(out[0].accepted().token_expires_at_ms(), 0);
}

TEST_F(BrokerTest, ResumedSessionKeepsItsRoomsAndSkipsConnectNotification) {
  auto h = handler({{"/chat", "$connect"}});
  internal::EdgeToBroker msg;
  auto* o = msg.mutable_open();
  o->set_socket_id("s1");
  o->set_ns("/chat");
  o->set_auth_json(json({{"token", token("u1", {{"team", "t1"}})}}).dump());
  o->mutable_resume()->set_user_id("u1");
  o->mutable_resume()->add_rooms("team:t1:general");
  o->mutable_resume()->set_attempt(1);
  broker_->on_edge_message(edge_, msg);
  run();
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_accepted());
  auto rooms = broker_->session_rooms("s1");
  EXPECT_NE(std::find(rooms.begin(), rooms.end(), "team:t1:general"), rooms.end());
  EXPECT_TRUE(h->take().empty());

  // A resume whose token names someone else is refused.
  o->set_socket_id("s2");
  o->mutable_resume()->set_user_id("u2");
  broker_->on_edge_message(edge_, msg);
  run();
  out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_rejected());
  EXPECT_EQ(out[0].rejected().error().code(), "FORBIDDEN");
}

// --- client events ----------------------------------------------------------------------------

TEST_F(BrokerTest, RelayPublishesDeliveryOnRoomSubjectAndAcks) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", "message", R"([{"room":"team:t1","text":"hi"}])", true, 5);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_verdict());
  EXPECT_TRUE(out[0].verdict().has_ack());
  EXPECT_EQ(out[0].verdict().ack_id(), 5u);
  EXPECT_EQ(json::parse(out[0].verdict().args_json()), json::parse(R"([{"ok":true}])"));
  EXPECT_FALSE(out[0].verdict().has_error());

  auto published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").room("/chat", "team:t1"));
  const auto& d = published[0].second->delivery();
  EXPECT_EQ(d.ns(), "/chat");
  EXPECT_EQ(d.event(), "message");
  EXPECT_EQ(json::parse(d.args_json()), json::parse(R"([{"room":"team:t1","text":"hi"}])"));
  EXPECT_EQ(d.except_socket_ids_size(), 0);
  EXPECT_FALSE(d.volatile_());
  EXPECT_EQ(d.origin_broker(), "b1");
  EXPECT_NE(d.id(), 0u);
  EXPECT_EQ(broker_->counters().relays.load(), 1u);
  EXPECT_EQ(broker_->counters().sessions.load(), 1u);
  EXPECT_EQ(broker_->deliveries_published(), 1u);
}

TEST_F(BrokerTest, RelayExceptSenderAndVolatileWithoutAckSendsNoVerdict) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", "typing", R"([{"room":"team:t1"}])");
  EXPECT_TRUE(out.empty());
  auto published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 1u);
  const auto& d = published[0].second->delivery();
  ASSERT_EQ(d.except_socket_ids_size(), 1);
  EXPECT_EQ(d.except_socket_ids(0), "s1");
  EXPECT_TRUE(d.volatile_());
}

TEST_F(BrokerTest, RelayToRoomNotJoinedIsForbidden) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", "message", R"([{"room":"team:t2","text":"hi"}])", true, 1);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].verdict().has_error());
  EXPECT_EQ(out[0].verdict().error().code(), "FORBIDDEN");
  EXPECT_TRUE(recorder_->take(bus::Envelope::kDelivery).empty());
}

TEST_F(BrokerTest, ErrorWithoutAckGoesBackAsErrorVerdict) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", "nosuch", "[]");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_verdict());
  EXPECT_FALSE(out[0].verdict().has_ack());
  EXPECT_EQ(out[0].verdict().error().code(), "UNKNOWN_EVENT");
}

TEST_F(BrokerTest, JoinAllowedSendsRoomChangeAndUpdatesRooms) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", "join", R"([{"room":"team:t1:general"}])", true, 2);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(out[0].has_rooms());
  EXPECT_EQ(out[0].rooms().socket_ids(0), "s1");
  ASSERT_EQ(out[0].rooms().join_size(), 1);
  EXPECT_EQ(out[0].rooms().join(0), "team:t1:general");
  ASSERT_TRUE(out[1].has_verdict());
  EXPECT_EQ(json::parse(out[1].verdict().args_json()),
            json::parse(R"([{"ok":true,"rooms":["team:t1:general"]}])"));
  auto rooms = broker_->session_rooms("s1");
  EXPECT_NE(std::find(rooms.begin(), rooms.end(), "team:t1:general"), rooms.end());

  // Now a member: relaying there is allowed.
  out = event("s1", "/chat", "message", R"([{"room":"team:t1:general","text":"x"}])", true, 3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].verdict().has_error());

  out = event("s1", "/chat", "leave", R"([{"room":"team:t1:general"}])", true, 4);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(out[0].has_rooms());
  ASSERT_EQ(out[0].rooms().leave_size(), 1);
  EXPECT_EQ(out[0].rooms().leave(0), "team:t1:general");
  rooms = broker_->session_rooms("s1");
  EXPECT_EQ(std::find(rooms.begin(), rooms.end(), "team:t1:general"), rooms.end());
}

TEST_F(BrokerTest, JoinOutsideAclIsForbidden) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", "join", R"([{"room":"team:t2:general"}])", true, 2);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_verdict());
  EXPECT_EQ(out[0].verdict().error().code(), "FORBIDDEN");
}

TEST_F(BrokerTest, EventFromUnknownSessionIsUnavailable) {
  auto out = event("ghost", "/chat", "message", "[]", true, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().error().code(), "UNAVAILABLE");
}

// --- HandleEvents -----------------------------------------------------------------------------

TEST_F(BrokerTest, ForwardWithoutHandlerIsUnavailable) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", "markRead", R"([{"id":1}])", true, 9);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_verdict());
  EXPECT_TRUE(out[0].verdict().has_ack());
  EXPECT_EQ(out[0].verdict().error().code(), "UNAVAILABLE");
}

TEST_F(BrokerTest, ForwardToHandlerAndReplyBecomesAck) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  auto out = event("s1", "/chat", "markRead", R"([{"id":1}])", true, 9);
  EXPECT_TRUE(out.empty());
  auto got = h->take();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].has_event());
  const auto& ev = got[0].event();
  EXPECT_NE(ev.call_id(), 0u);
  EXPECT_EQ(ev.ns(), "/chat");
  EXPECT_EQ(ev.event(), "markRead");
  EXPECT_EQ(ev.socket_id(), "s1");
  EXPECT_EQ(ev.user_id(), "u1");
  EXPECT_EQ(json::parse(ev.claims_json())["team"], "t1");
  EXPECT_EQ(json::parse(ev.args_json()), json::parse(R"([{"id":1}])"));
  EXPECT_TRUE(ev.wants_ack());

  reply(h, ev.call_id(), R"([{"done":true}])");
  out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_verdict());
  EXPECT_EQ(out[0].verdict().ack_id(), 9u);
  EXPECT_EQ(json::parse(out[0].verdict().args_json()), json::parse(R"([{"done":true}])"));

  // A second reply to the same call is ignored.
  reply(h, ev.call_id(), "[]");
  EXPECT_TRUE(edge_->take().empty());
}

TEST_F(BrokerTest, HandlerErrorReplyBecomesErrorAck) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  event("s1", "/chat", "markRead", "[]", true, 1);
  auto got = h->take();
  ASSERT_EQ(got.size(), 1u);
  reply(h, got[0].event().call_id(), "", "FORBIDDEN", "not yours");
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().error().code(), "FORBIDDEN");
  EXPECT_EQ(out[0].verdict().error().message(), "not yours");
}

// A forward without a schema passes the arguments through unparsed; what an edge never sends (not
// an array) is still refused, for forwards and for relays (which parse them).
TEST_F(BrokerTest, ArgumentsThatAreNotAnArrayAreRefused) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  for (const char* args : {R"({"id":1})", "7", "[", "]"}) {
    auto out = event("s1", "/chat", "markRead", args, true, 4);
    ASSERT_EQ(out.size(), 1u) << args;
    EXPECT_EQ(out[0].verdict().error().code(), "VALIDATION_FAILED") << args;
  }
  auto out = event("s1", "/chat", "message", R"({"room":"team:t1"})", true, 5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().error().code(), "VALIDATION_FAILED");
  EXPECT_TRUE(h->take().empty());

  event("s1", "/chat", "markRead", " [1, {\"a\": [2]}]\n", true, 6);
  auto got = h->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event().args_json(), " [1, {\"a\": [2]}]\n");
}

TEST_F(BrokerTest, ForwardWithoutAckHasCallIdZero) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  auto out = event("s1", "/chat", "markRead", "[]");
  EXPECT_TRUE(out.empty());
  auto got = h->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event().call_id(), 0u);
  EXPECT_FALSE(got[0].event().wants_ack());
}

TEST_F(BrokerTest, HandlersShareLoadRoundRobin) {
  connect("s1", "/chat", "u1");
  auto h1 = handler({{"/chat", "markRead"}});
  auto h2 = handler({{"/chat", "markRead"}});
  for (int i = 0; i < 4; ++i) event("s1", "/chat", "markRead", "[]", true, i + 1);
  EXPECT_EQ(h1->take().size(), 2u);
  EXPECT_EQ(h2->take().size(), 2u);
}

TEST_F(BrokerTest, HandlerGoneFailsPendingCallsButKeepsAnswered) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  event("s1", "/chat", "markRead", "[]", true, 1);
  event("s1", "/chat", "markRead", "[]", true, 2);
  auto got = h->take();
  ASSERT_EQ(got.size(), 2u);
  reply(h, got[0].event().call_id(), R"(["first"])");
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().ack_id(), 1u);

  broker_->on_handler_closed(h);
  run();
  out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().ack_id(), 2u);
  EXPECT_EQ(out[0].verdict().error().code(), "UNAVAILABLE");
  EXPECT_EQ(broker_->handler_count(), 0u);

  // Routes are gone too.
  out = event("s1", "/chat", "markRead", "[]", true, 3);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().error().code(), "UNAVAILABLE");
}

TEST_F(BrokerTest, HandlerThatNeverAnswersTimesOut) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  event("s1", "/chat", "markRead", "[]", true, 1);
  advance(4999);
  EXPECT_TRUE(edge_->take().empty());
  advance(1);
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().error().code(), "UNAVAILABLE");
}

TEST_F(BrokerTest, LifecycleNotificationsCarryAuthClaimsAndReason) {
  auto h = handler({{"/chat", "$connect"}, {"/chat", "$disconnect"}});
  auto tok = token("u1", {{"team", "t1"}});
  open("s1", "/chat", json({{"token", tok}, {"device", "ios"}}).dump());
  auto got = h->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event().event(), "$connect");
  EXPECT_EQ(got[0].event().call_id(), 0u);
  EXPECT_EQ(json::parse(got[0].event().auth_json()), json({{"token", tok}, {"device", "ios"}}));
  EXPECT_EQ(json::parse(got[0].event().claims_json())["sub"], "u1");

  internal::EdgeToBroker close;
  close.mutable_close()->set_socket_id("s1");
  close.mutable_close()->set_ns("/chat");
  close.mutable_close()->set_reason("client namespace disconnect");
  broker_->on_edge_message(edge_, close);
  run();
  got = h->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event().event(), "$disconnect");
  EXPECT_EQ(got[0].event().reason(), "client namespace disconnect");
  EXPECT_EQ(broker_->session_count(), 0u);
}

TEST_F(BrokerTest, HandlerEmitReachesTheSocketsEdge) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  v1::HandlerMessage msg;
  auto* e = msg.mutable_emit();
  e->set_socket_id("s1");
  e->set_event("receipt");
  e->set_args_json(R"([{"id":1}])");
  broker_->on_handler_message(h, msg);
  run();
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_emit());
  EXPECT_EQ(out[0].emit().socket_id(), "s1");
  EXPECT_EQ(out[0].emit().ns(), "/chat");
  EXPECT_EQ(out[0].emit().event(), "receipt");
  EXPECT_EQ(out[0].emit().request_id(), 0u);

  // Reserved names are refused.
  e->set_event("disconnect");
  broker_->on_handler_message(h, msg);
  run();
  EXPECT_TRUE(edge_->take().empty());
}

TEST_F(BrokerTest, EdgeClosedDropsItsSessions) {
  auto h = handler({{"/chat", "$disconnect"}});
  connect("s1", "/chat", "u1");
  broker_->on_edge_closed(edge_);
  run();
  EXPECT_EQ(broker_->session_count(), 0u);
  auto got = h->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event().reason(), "transport close");
}

// --- EmitWithAck ------------------------------------------------------------------------------

TEST_F(BrokerTest, EmitWithAckCollectsAcksAndTimeouts) {
  connect("s1", "/chat", "u1");
  connect("s2", "/chat", "u1");
  presence("edge-1", {connect_change("s1", "/chat", "u1"), connect_change("s2", "/chat", "u1")});

  v1::EmitWithAckRequest req;
  req.set_ns("/chat");
  req.mutable_target()->set_user_id("u1");
  req.set_event("ping");
  req.set_args_json(R"([1])");
  req.set_timeout_ms(1000);
  bool called = false;
  v1::EmitWithAckResponse response;
  broker_->emit_with_ack(req, [&](Status s, v1::EmitWithAckResponse r) {
    EXPECT_TRUE(s.ok()) << s.to_string();
    response = std::move(r);
    called = true;
  });
  run();
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 2u);
  uint64_t request_id = out[0].emit().request_id();
  EXPECT_NE(request_id, 0u);
  EXPECT_EQ(out[0].emit().event(), "ping");
  EXPECT_FALSE(called);

  internal::EdgeToBroker ack;
  ack.mutable_ack()->set_socket_id("s1");
  ack.mutable_ack()->set_request_id(request_id);
  ack.mutable_ack()->set_args_json(R"(["pong"])");
  broker_->on_edge_message(edge_, ack);
  run();
  EXPECT_FALSE(called);

  advance(1000);
  ASSERT_TRUE(called);
  ASSERT_EQ(response.acks_size(), 2);
  EXPECT_EQ(response.acks(0).socket_id(), "s1");
  EXPECT_FALSE(response.acks(0).timed_out());
  EXPECT_EQ(response.acks(0).args_json(), R"(["pong"])");
  EXPECT_EQ(response.acks(1).socket_id(), "s2");
  EXPECT_TRUE(response.acks(1).timed_out());
}

TEST_F(BrokerTest, EmitWithAckToOneSocketFinishesOnAck) {
  connect("s1", "/chat", "u1");
  v1::EmitWithAckRequest req;
  req.set_ns("/chat");
  req.mutable_target()->set_socket_id("s1");
  req.set_event("ping");
  req.set_timeout_ms(1000);
  bool called = false;
  v1::EmitWithAckResponse response;
  broker_->emit_with_ack(req, [&](Status s, v1::EmitWithAckResponse r) {
    EXPECT_TRUE(s.ok());
    response = std::move(r);
    called = true;
  });
  run();
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  internal::EdgeToBroker ack;
  ack.mutable_ack()->set_socket_id("s1");
  ack.mutable_ack()->set_request_id(out[0].emit().request_id());
  broker_->on_edge_message(edge_, ack);
  run();
  ASSERT_TRUE(called);
  ASSERT_EQ(response.acks_size(), 1);
  EXPECT_FALSE(response.acks(0).timed_out());
  EXPECT_EQ(response.acks(0).args_json(), "[]");
}

TEST_F(BrokerTest, EmitWithAckValidation) {
  v1::EmitWithAckRequest req;
  req.set_ns("/chat");
  req.mutable_target()->set_socket_id("s1");
  req.set_event("ping");
  req.set_timeout_ms(0);
  auto [s, r] = call<v1::EmitWithAckResponse>(&Broker::emit_with_ack, req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  req.set_timeout_ms(10);
  req.set_event("connect");
  std::tie(s, r) = call<v1::EmitWithAckResponse>(&Broker::emit_with_ack, req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  req.set_event("ping");
  req.clear_target();
  std::tie(s, r) = call<v1::EmitWithAckResponse>(&Broker::emit_with_ack, req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  // No such socket: empty answer at once.
  req.mutable_target()->set_socket_id("nobody");
  std::tie(s, r) = call<v1::EmitWithAckResponse>(&Broker::emit_with_ack, req);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(r.acks_size(), 0);
}

// --- token refresh and expiry -----------------------------------------------------------------

TEST_F(BrokerTest, RefreshTokenExtendsExpiry) {
  connect("s1", "/chat", "u1");
  const int64_t first = broker_->session_token_expiry("s1");
  now_ms_ += 60'000;
  std::string fresh = token("u1", {{"team", "t1"}}, 7200);
  auto out = event("s1", "/chat", std::string(kRefreshTokenEvent),
                   json::array({{{"token", fresh}}}).dump(), true, 1);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_FALSE(out[0].verdict().has_error()) << out[0].DebugString();
  json ack = json::parse(out[0].verdict().args_json());
  EXPECT_EQ(ack[0]["ok"], true);
  const int64_t second = broker_->session_token_expiry("s1");
  EXPECT_GT(second, first);
  EXPECT_EQ(ack[0]["expires_at_ms"], second);

  // The old expiry passes: nothing happens.
  advance(first - now_ms_ + 1);
  EXPECT_TRUE(edge_->take().empty());
  EXPECT_EQ(broker_->session_count(), 1u);
}

TEST_F(BrokerTest, RefreshTokenRefusals) {
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", std::string(kRefreshTokenEvent),
                   json::array({{{"token", token("someone-else")}}}).dump(), true, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict().error().code(), "FORBIDDEN");
  out = event("s1", "/chat", std::string(kRefreshTokenEvent),
              json::array({{{"token", "garbage"}}}).dump(), true, 2);
  EXPECT_EQ(out[0].verdict().error().code(), "INVALID_TOKEN");
  out = event("s1", "/chat", std::string(kRefreshTokenEvent),
              json::array({{{"token", token("u1", {}, -5)}}}).dump(), true, 3);
  EXPECT_EQ(out[0].verdict().error().code(), "EXPIRED_TOKEN");
  out = event("s1", "/chat", std::string(kRefreshTokenEvent), "[]", true, 4);
  EXPECT_EQ(out[0].verdict().error().code(), "MISSING_TOKEN");
}

// Found by scripts/soak: a closed socket's token-expiry deadline stayed queued until the token's
// expiry, so the broker's memory grew with connection churn × token lifetime.
TEST_F(BrokerTest, ClosedSessionsLeaveNoExpiryDeadlineBehind) {
  const size_t before = broker_->pending_deadlines();
  for (int i = 0; i < 50; ++i) connect("churn" + std::to_string(i), "/chat", "u1");
  EXPECT_EQ(broker_->pending_deadlines(), before + 50);
  for (int i = 0; i < 50; ++i) {
    internal::EdgeToBroker msg;
    msg.mutable_close()->set_socket_id("churn" + std::to_string(i));
    msg.mutable_close()->set_reason("transport close");
    broker_->on_edge_message(edge_, std::move(msg));
  }
  run();
  EXPECT_EQ(broker_->session_count(), 0u);
  EXPECT_EQ(broker_->pending_deadlines(), before);

  // A refresh replaces the session's expiry instead of adding one; the edge going away drops it.
  connect("s1", "/chat", "u1");
  auto out = event("s1", "/chat", std::string(kRefreshTokenEvent),
                   json::array({{{"token", token("u1", {{"team", "t1"}}, 7200)}}}).dump(), true, 1);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(broker_->pending_deadlines(), before + 1);
  broker_->on_edge_closed(edge_);
  run();
  EXPECT_EQ(broker_->pending_deadlines(), before);
}

TEST_F(BrokerTest, ExpiredTokenDisconnects) {
  auto h = handler({{"/chat", "$disconnect"}});
  connect("s1", "/chat", "u1");
  const int64_t exp = broker_->session_token_expiry("s1");
  advance(exp - now_ms_ - 1);
  EXPECT_TRUE(edge_->take().empty());
  advance(1);
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_disconnect());
  EXPECT_EQ(out[0].disconnect().socket_id(), "s1");
  EXPECT_EQ(out[0].disconnect().reason(), "token expired");
  EXPECT_EQ(broker_->session_count(), 0u);
  auto got = h->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event().reason(), "token expired");
}

class BrokerGraceTest : public BrokerTest {
 protected:
  void SetUp() override { build(OnExpiry::kGrace, 30); }
};

TEST_F(BrokerGraceTest, ExpiredTokenWarnsThenDisconnectsAfterGrace) {
  connect("s1", "/chat", "u1");
  const int64_t exp = broker_->session_token_expiry("s1");
  advance(exp - now_ms_);
  auto out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_emit());
  EXPECT_EQ(out[0].emit().event(), kTokenExpiredEvent);
  EXPECT_EQ(json::parse(out[0].emit().args_json())[0]["disconnect_at_ms"], exp + 30'000);
  advance(29'999);
  EXPECT_TRUE(edge_->take().empty());
  advance(1);
  out = edge_->take();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_disconnect());
  EXPECT_EQ(out[0].disconnect().reason(), "token expired");
}

TEST_F(BrokerGraceTest, RefreshDuringGraceKeepsTheSocket) {
  connect("s1", "/chat", "u1");
  const int64_t exp = broker_->session_token_expiry("s1");
  advance(exp - now_ms_);
  edge_->take();
  auto out = event("s1", "/chat", std::string(kRefreshTokenEvent),
                   json::array({{{"token", token("u1", {{"team", "t1"}}, 600)}}}).dump(), true, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].verdict().has_error());
  advance(30'000);
  EXPECT_TRUE(edge_->take().empty());
  EXPECT_EQ(broker_->session_count(), 1u);
}

class BrokerPresenceEventsTest : public BrokerTest {
 protected:
  void SetUp() override {
    presence_rules_ = {{"/chat", {"team:*"}}};
    build(OnExpiry::kDisconnect, 0);
  }
};

TEST_F(BrokerPresenceEventsTest, JoinsAndLeavesOfMatchingRoomsAreAnnounced) {
  connect("s1", "/chat", "u1");
  auto published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 1u);  // team:t1 matches, user:u1 does not
  EXPECT_EQ(published[0].first, bus::Subjects("herald").room("/chat", "team:t1"));
  const auto& d = published[0].second->delivery();
  EXPECT_EQ(d.event(), kPresenceJoinEvent);
  EXPECT_EQ(d.except_socket_ids(0), "s1");
  EXPECT_TRUE(d.volatile_());
  EXPECT_EQ(json::parse(d.args_json()),
            json::parse(R"([{"room":"team:t1","user_id":"u1","socket_id":"s1"}])"));

  event("s1", "/chat", "join", R"([{"room":"team:t1:x"}])", true, 1);
  published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].second->delivery().rooms(0), "team:t1:x");

  internal::EdgeToBroker close;
  close.mutable_close()->set_socket_id("s1");
  broker_->on_edge_message(edge_, close);
  run();
  published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].second->delivery().event(), kPresenceLeaveEvent);
  EXPECT_EQ(published[1].second->delivery().event(), kPresenceLeaveEvent);
}

// --- public API operations --------------------------------------------------------------------

TEST_F(BrokerTest, PushToUserPublishesOnUserRoomAndCountsFromPresence) {
  presence("edge-1", {connect_change("a", "/chat", "u1"), connect_change("b", "/chat", "u1"),
                      connect_change("c", "/chat", "u2")});
  recorder_->take();
  v1::PushToUserRequest req;
  req.set_user_id("u1");
  req.set_ns("/chat");
  req.set_event("notice");
  auto [s, r] = call<v1::PushToUserResponse>(&Broker::push_to_user, req);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(r.sockets(), 2u);
  auto published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").room("/chat", "user:u1"));
  EXPECT_EQ(published[0].second->delivery().args_json(), "[]");
}

TEST_F(BrokerTest, BroadcastPublishesPerRoomWithExcepts) {
  presence("edge-1", {connect_change("a", "/chat", "u1"), join_change("a", "/chat", "r1"),
                      connect_change("b", "/chat", "u2"), join_change("b", "/chat", "r2"),
                      join_change("b", "/chat", "r1"), connect_change("c", "/chat", "u3"),
                      join_change("c", "/chat", "r2"), join_change("c", "/chat", "muted")});
  recorder_->take();
  v1::BroadcastRequest req;
  req.set_ns("/chat");
  req.add_rooms("r1");
  req.add_rooms("r2");
  req.add_except_rooms("muted");
  req.add_except_socket_ids("a");
  req.set_event("news");
  req.set_args_json(R"([{"x":{"_placeholder":true,"num":0}}])");
  req.add_attachments("\x01\x02");
  auto [s, r] = call<v1::BroadcastResponse>(&Broker::broadcast, req);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(r.sockets(), 1u);  // b
  auto published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").room("/chat", "r1"));
  EXPECT_EQ(published[1].first, bus::Subjects("herald").room("/chat", "r2"));
  EXPECT_EQ(published[0].second, published[1].second);  // one immutable envelope
  const auto& d = published[0].second->delivery();
  ASSERT_EQ(d.rooms_size(), 2);
  EXPECT_EQ(d.except_rooms(0), "muted");
  EXPECT_EQ(d.except_socket_ids(0), "a");
  EXPECT_EQ(d.attachments_size(), 1);

  // Whole namespace.
  v1::BroadcastRequest all;
  all.set_ns("/chat");
  all.set_event("news");
  std::tie(s, r) = call<v1::BroadcastResponse>(&Broker::broadcast, all);
  EXPECT_EQ(r.sockets(), 3u);
  published = recorder_->take(bus::Envelope::kDelivery);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").ns("/chat"));

  // Placeholder/attachment mismatch and unknown namespaces are refused.
  req.clear_attachments();
  std::tie(s, r) = call<v1::BroadcastResponse>(&Broker::broadcast, req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  all.set_ns("/unknown");
  std::tie(s, r) = call<v1::BroadcastResponse>(&Broker::broadcast, all);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST_F(BrokerTest, RoomCommandsGoToRoomOrEdgeSubjects) {
  connect("s1", "/chat", "u1");
  presence("edge-1", {connect_change("s1", "/chat", "u1"), join_change("s1", "/chat", "r1")});
  recorder_->take();

  v1::RoomsRequest req;
  req.set_ns("/chat");
  req.mutable_target()->set_room("r1");
  req.add_rooms("extra");
  auto [s, r] = call<v1::RoomsResponse>(&Broker::join_rooms, req);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(r.sockets(), 1u);
  auto published = recorder_->take(bus::Envelope::kCommand);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").room("/chat", "r1"));
  EXPECT_EQ(published[0].second->command().join(0), "extra");
  auto rooms = broker_->session_rooms("s1");
  EXPECT_NE(std::find(rooms.begin(), rooms.end(), "extra"), rooms.end());

  req.mutable_target()->set_socket_id("s1");
  std::tie(s, r) = call<v1::RoomsResponse>(&Broker::leave_rooms, req);
  EXPECT_EQ(r.sockets(), 1u);
  published = recorder_->take(bus::Envelope::kCommand);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").edge("edge-1"));
  EXPECT_EQ(published[0].second->command().socket_ids(0), "s1");
  EXPECT_EQ(published[0].second->command().leave(0), "extra");

  v1::DisconnectRequest d;
  d.set_ns("/chat");
  d.mutable_target()->set_user_id("u1");
  auto [ds, dr] = call<v1::DisconnectResponse>(&Broker::disconnect, d);
  EXPECT_EQ(dr.sockets(), 1u);
  published = recorder_->take(bus::Envelope::kCommand);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").room("/chat", "user:u1"));
  EXPECT_TRUE(published[0].second->command().disconnect());
  EXPECT_EQ(published[0].second->command().reason(), "server disconnect");

  d.mutable_target()->set_all(true);
  std::tie(ds, dr) = call<v1::DisconnectResponse>(&Broker::disconnect, d);
  published = recorder_->take(bus::Envelope::kCommand);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, bus::Subjects("herald").ns("/chat"));
}

TEST_F(BrokerTest, PresenceQueriesAndStats) {
  presence("edge-1", {connect_change("a", "/chat", "u1"), join_change("a", "/chat", "r1"),
                      connect_change("b", "/open", "u1"), connect_change("c", "/chat", ""),
                      join_change("c", "/chat", "r1")});
  v1::GetPresenceRequest gp;
  gp.set_user_id("u1");
  auto [s, p] = call<v1::GetPresenceResponse>(&Broker::get_presence, gp);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(p.online());
  EXPECT_EQ(p.sockets_size(), 2);
  gp.set_ns("/chat");
  std::tie(s, p) = call<v1::GetPresenceResponse>(&Broker::get_presence, gp);
  ASSERT_EQ(p.sockets_size(), 1);
  EXPECT_EQ(p.sockets(0).socket_id(), "a");
  EXPECT_EQ(p.sockets(0).edge_id(), "edge-1");
  EXPECT_EQ(p.sockets(0).rooms(0), "r1");
  gp.set_user_id("nobody");
  std::tie(s, p) = call<v1::GetPresenceResponse>(&Broker::get_presence, gp);
  EXPECT_FALSE(p.online());

  v1::ListRoomMembersRequest lr;
  lr.set_ns("/chat");
  lr.set_room("r1");
  auto [ls, l] = call<v1::ListRoomMembersResponse>(&Broker::list_room_members, lr);
  ASSERT_TRUE(ls.ok());
  ASSERT_EQ(l.user_ids_size(), 1);
  EXPECT_EQ(l.user_ids(0), "u1");
  EXPECT_EQ(l.sockets_size(), 2);

  auto [ss, st] = call<v1::StatsResponse>(&Broker::stats, v1::StatsRequest());
  EXPECT_EQ(st.sockets(), 3u);
  EXPECT_EQ(st.users(), 1u);
  EXPECT_EQ(st.rooms(), 1u);
  EXPECT_EQ(st.edges(), 1u);
  EXPECT_EQ(st.brokers(), 1u);
  EXPECT_EQ(st.sockets_per_namespace().at("/chat"), 2u);
  EXPECT_EQ(st.sockets_per_namespace().at("/open"), 1u);
}

TEST_F(BrokerTest, StopFailsPendingEmitsAndClosesHandlers) {
  connect("s1", "/chat", "u1");
  auto h = handler({{"/chat", "markRead"}});
  v1::EmitWithAckRequest req;
  req.set_ns("/chat");
  req.mutable_target()->set_socket_id("s1");
  req.set_event("ping");
  req.set_timeout_ms(1000);
  Status result;
  bool called = false;
  broker_->emit_with_ack(req, [&](Status s, v1::EmitWithAckResponse) {
    result = s;
    called = true;
  });
  run();
  broker_->stop();
  run();
  ASSERT_TRUE(called);
  EXPECT_EQ(result.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(h->closed());
}

}  // namespace
}  // namespace herald::broker
