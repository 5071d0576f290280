// The public gRPC API over a real channel: unary calls, bearer-token refusal, HandleEvents.
#include "broker/api/api_server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "herald/v1/realtime.grpc.pb.h"
#include "tests/unit/broker/broker_test_util.h"

namespace herald::broker::api {
namespace {

using broker::testing::FakeEdge;
using nlohmann::json;

const std::string kApiToken = "test-api-token-0123456789";

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = bus::make_in_process_bus();
    auth::JwtConfig jwt;
    auth::KeySpec key;
    key.value = broker::testing::kSecret;
    jwt.keys.push_back(key);
    auto verifier = auth::JwtVerifier::create(jwt);
    ASSERT_TRUE(verifier.ok());
    BrokerOptions options;
    options.broker_id = "b1";
    options.policy = broker::testing::make_policy(broker::testing::kTestPolicy);
    options.verifier = std::shared_ptr<const auth::JwtVerifier>(std::move(verifier).value());
    broker_ = Broker::create(io_, *bus_, std::move(options));
    broker_->start();
    thread_ = std::thread([this] { io_.run(); });
    // start() subscribes on the broker thread; presence published before that would be lost.
    std::promise<void> started;
    boost::asio::post(io_, [&] { started.set_value(); });
    started.get_future().wait();

    ApiServerOptions api;
    api.listen = "127.0.0.1:0";
    api.bearer_tokens = {kApiToken};
    auto server = ApiServer::start(api, broker_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
    ASSERT_GT(server_->port(), 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Realtime::NewStub(channel_);
  }

  void TearDown() override {
    if (broker_) broker_->stop();
    if (server_) server_->shutdown();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::unique_ptr<grpc::ClientContext> context(const std::string& token = kApiToken) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  void presence(std::vector<std::tuple<std::string, std::string, std::string>> sockets) {
    auto envelope = std::make_shared<bus::Envelope>();
    auto* delta = envelope->mutable_presence();
    delta->set_edge_id("edge-1");
    delta->set_seq(++seq_);
    delta->set_boot_id(1);
    for (auto& [id, ns, user] : sockets) {
      auto* c = delta->add_changes();
      c->set_op(internal::PresenceChange::OP_CONNECT);
      c->set_socket_id(id);
      c->set_ns(ns);
      c->set_user_id(user);
    }
    // Posted to the broker thread before any later RPC, so RPCs see it.
    bus_->publish(bus::Subjects("herald").presence("edge-1"), std::move(envelope));
  }

  template <typename Pred>
  bool wait_for(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread thread_;
  std::unique_ptr<bus::Bus> bus_;
  std::shared_ptr<Broker> broker_;
  std::unique_ptr<ApiServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Realtime::Stub> stub_;
  uint64_t seq_ = 0;
};

TEST_F(ApiServerTest, PushToUserBroadcastPresenceAndStats) {
  presence({{"a", "/chat", "u1"}, {"b", "/chat", "u1"}, {"c", "/chat", "u2"}});
  // Appended on the broker thread; the test reads it after the gRPC reply, an ordering that
  // ThreadSanitizer cannot see through the uninstrumented gRPC library: hence the mutex.
  std::mutex subjects_mu;
  std::vector<std::string> subjects;
  auto sub = bus_->subscribe("herald.>",
                             [&](const std::string& subject, const bus::EnvelopePtr& envelope) {
                               std::lock_guard lock(subjects_mu);
                               if (envelope->has_delivery()) subjects.push_back(subject);
                             });

  v1::PushToUserRequest push;
  push.set_user_id("u1");
  push.set_ns("/chat");
  push.set_event("notice");
  push.set_args_json(R"([{"text":"hi"}])");
  v1::PushToUserResponse pushed;
  auto ctx = context();
  grpc::Status s = stub_->PushToUser(ctx.get(), push, &pushed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pushed.sockets(), 2u);

  v1::BroadcastRequest broadcast;
  broadcast.set_ns("/chat");
  broadcast.set_event("news");
  v1::BroadcastResponse broadcasted;
  ctx = context();
  s = stub_->Broadcast(ctx.get(), broadcast, &broadcasted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(broadcasted.sockets(), 3u);
  std::unique_lock subjects_lock(subjects_mu);
  EXPECT_EQ(subjects, (std::vector<std::string>{bus::Subjects("herald").room("/chat", "user:u1"),
                                                bus::Subjects("herald").ns("/chat")}));
  subjects_lock.unlock();

  v1::GetPresenceRequest gp;
  gp.set_user_id("u1");
  v1::GetPresenceResponse presence_out;
  ctx = context();
  s = stub_->GetPresence(ctx.get(), gp, &presence_out);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(presence_out.online());
  EXPECT_EQ(presence_out.sockets_size(), 2);

  v1::StatsResponse stats;
  ctx = context();
  s = stub_->Stats(ctx.get(), v1::StatsRequest(), &stats);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(stats.sockets(), 3u);
  EXPECT_EQ(stats.users(), 2u);
  EXPECT_EQ(stats.edges(), 1u);
  EXPECT_EQ(stats.sockets_per_namespace().at("/chat"), 3u);
}

TEST_F(ApiServerTest, InvalidArgumentsAreRefused) {
  v1::PushToUserRequest push;
  push.set_user_id("u1");
  push.set_ns("/chat");
  push.set_event("disconnect");
  v1::PushToUserResponse out;
  auto ctx = context();
  grpc::Status s = stub_->PushToUser(ctx.get(), push, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  push.set_event("ok");
  push.set_args_json("{}");
  ctx = context();
  s = stub_->PushToUser(ctx.get(), push, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ApiServerTest, MissingOrWrongBearerTokenIsUnauthenticated) {
  v1::StatsResponse stats;
  auto ctx = context("");
  grpc::Status s = stub_->Stats(ctx.get(), v1::StatsRequest(), &stats);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ctx = context("wrong-token-0123456789abc");
  s = stub_->Stats(ctx.get(), v1::StatsRequest(), &stats);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  ctx = context("");
  auto stream = stub_->HandleEvents(ctx.get());
  v1::ServerMessage msg;
  EXPECT_FALSE(stream->Read(&msg));
  s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ApiServerTest, HealthServiceAnswersServing) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);  // HealthCheckRequest{service: ""}
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status s = done.get_future().get();
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // HealthCheckResponse{status: SERVING}
}

TEST_F(ApiServerTest, HandleEventsRoundTrip) {
  auto edge = std::make_shared<FakeEdge>("edge-1");
  auto ctx = context();
  auto stream = stub_->HandleEvents(ctx.get());
  v1::HandlerMessage reg;
  auto* route = reg.mutable_register_()->add_routes();
  route->set_ns("/chat");
  route->set_event("markRead");
  reg.mutable_register_()->set_service_name("receipts");
  ASSERT_TRUE(stream->Write(reg));
  v1::ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_registered());
  EXPECT_EQ(msg.registered().routes(), 1u);

  // A client connects and sends a forwarded event that wants an ack.
  internal::EdgeToBroker open;
  open.mutable_open()->set_socket_id("s1");
  open.mutable_open()->set_ns("/chat");
  open.mutable_open()->set_auth_json(
      json({{"token",
             broker::testing::sign_token({{"sub", "u1"}, {"exp", std::time(nullptr) + 3600}})}})
          .dump());
  broker_->on_edge_message(edge, open);
  ASSERT_TRUE(wait_for([&] { return !edge->take().empty(); }));
  internal::EdgeToBroker event;
  event.mutable_event()->set_socket_id("s1");
  event.mutable_event()->set_ns("/chat");
  event.mutable_event()->set_event("markRead");
  event.mutable_event()->set_args_json(R"([{"id":7}])");
  event.mutable_event()->set_wants_ack(true);
  event.mutable_event()->set_ack_id(3);
  broker_->on_edge_message(edge, event);

  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_event());
  EXPECT_EQ(msg.event().event(), "markRead");
  EXPECT_EQ(msg.event().user_id(), "u1");
  v1::HandlerMessage reply;
  reply.mutable_reply()->set_call_id(msg.event().call_id());
  reply.mutable_reply()->set_args_json(R"([{"read":true}])");
  ASSERT_TRUE(stream->Write(reply));

  std::vector<internal::BrokerToEdge> got;
  ASSERT_TRUE(wait_for([&] {
    for (auto& m : edge->take()) got.push_back(std::move(m));
    return !got.empty();
  }));
  ASSERT_TRUE(got[0].has_verdict());
  EXPECT_EQ(got[0].verdict().ack_id(), 3u);
  EXPECT_EQ(json::parse(got[0].verdict().args_json()), json::parse(R"([{"read":true}])"));

  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&msg));
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(wait_for([&] {
    std::atomic<size_t> n{99};
    std::atomic<bool> done{false};
    boost::asio::post(io_, [&] {
      n = broker_->handler_count();
      done = true;
    });
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return n == 0;
  }));
}

// A service that registers with `batches` gets the events that queued during a write in one
// ServerMessage.batch (in order), and may answer with one HandlerMessage.batch of replies.
TEST_F(ApiServerTest, HandleEventsBatchesBothWays) {
  auto edge = std::make_shared<FakeEdge>("edge-1");
  // A fixed 64 KiB receive window (no BDP growth), so that writes stall while we do not read.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 65536);
  auto stub = v1::Realtime::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials(), args));
  auto ctx = context();
  auto stream = stub->HandleEvents(ctx.get());
  v1::HandlerMessage reg;
  auto* route = reg.mutable_register_()->add_routes();
  route->set_ns("/chat");
  route->set_event("markRead");
  reg.mutable_register_()->set_batches(true);
  ASSERT_TRUE(stream->Write(reg));
  v1::ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_registered());
  EXPECT_TRUE(msg.registered().batches());

  internal::EdgeToBroker open;
  open.mutable_open()->set_socket_id("s1");
  open.mutable_open()->set_ns("/chat");
  open.mutable_open()->set_auth_json(
      json({{"token",
             broker::testing::sign_token({{"sub", "u1"}, {"exp", std::time(nullptr) + 3600}})}})
          .dump());
  broker_->on_edge_message(edge, open);
  ASSERT_TRUE(wait_for([&] { return !edge->take().empty(); }));

  // 40 events of 8 KiB: more than the 64 KiB window while this client does not read, so writes
  // stall and the rest queue up in the broker.
  constexpr int kEvents = 40;
  const std::string pad(8192, 'x');
  for (int i = 0; i < kEvents; ++i) {
    internal::EdgeToBroker event;
    event.mutable_event()->set_socket_id("s1");
    event.mutable_event()->set_ns("/chat");
    event.mutable_event()->set_event("markRead");
    event.mutable_event()->set_args_json(json::array({{{"i", i}, {"pad", pad}}}).dump());
    event.mutable_event()->set_wants_ack(true);
    event.mutable_event()->set_ack_id(static_cast<uint64_t>(100 + i));
    broker_->on_edge_message(edge, event);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  std::vector<v1::ServerMessage::ClientEvent> events;
  int batches = 0;
  while (events.size() < static_cast<size_t>(kEvents)) {
    ASSERT_TRUE(stream->Read(&msg));
    if (msg.has_event()) events.push_back(msg.event());
    if (msg.has_batch()) {
      ++batches;
      EXPECT_GT(msg.batch().events_size(), 0);
      for (const auto& e : msg.batch().events()) events.push_back(e);
    }
  }
  EXPECT_GT(batches, 0);
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(json::parse(events[i].args_json())[0]["i"], i) << "events stay in order";
  }

  // All the replies in one message, in reverse order: each finds its call.
  v1::HandlerMessage replies;
  for (int i = kEvents - 1; i >= 0; --i) {
    v1::HandlerMessage reply;
    reply.mutable_reply()->set_call_id(events[i].call_id());
    reply.mutable_reply()->set_args_json(json::array({i}).dump());
    *replies.mutable_batch()->add_messages() = std::move(reply);
  }
  ASSERT_TRUE(stream->Write(replies));

  std::vector<internal::BrokerToEdge> got;
  ASSERT_TRUE(wait_for([&] {
    for (auto& m : edge->take()) got.push_back(std::move(m));
    return got.size() >= static_cast<size_t>(kEvents);
  }));
  ASSERT_EQ(got.size(), static_cast<size_t>(kEvents));
  for (int k = 0; k < kEvents; ++k) {
    const int i = kEvents - 1 - k;
    ASSERT_TRUE(got[k].has_verdict());
    EXPECT_EQ(got[k].verdict().ack_id(), static_cast<uint64_t>(100 + i));
    EXPECT_EQ(got[k].verdict().args_json(), json::array({i}).dump());
  }

  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&msg));
  EXPECT_TRUE(stream->Finish().ok());
}

// Without `batches` in Register, every event comes as its own ServerMessage.event.
TEST_F(ApiServerTest, HandleEventsWithoutBatchesGetsSingleEvents) {
  auto edge = std::make_shared<FakeEdge>("edge-1");
  auto ctx = context();
  auto stream = stub_->HandleEvents(ctx.get());
  v1::HandlerMessage reg;
  auto* route = reg.mutable_register_()->add_routes();
  route->set_ns("/chat");
  route->set_event("markRead");
  ASSERT_TRUE(stream->Write(reg));
  v1::ServerMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_registered());

  internal::EdgeToBroker open;
  open.mutable_open()->set_socket_id("s1");
  open.mutable_open()->set_ns("/chat");
  open.mutable_open()->set_auth_json(
      json({{"token",
             broker::testing::sign_token({{"sub", "u1"}, {"exp", std::time(nullptr) + 3600}})}})
          .dump());
  broker_->on_edge_message(edge, open);
  ASSERT_TRUE(wait_for([&] { return !edge->take().empty(); }));

  constexpr int kEvents = 20;
  const std::string pad(8192, 'x');
  for (int i = 0; i < kEvents; ++i) {
    internal::EdgeToBroker event;
    event.mutable_event()->set_socket_id("s1");
    event.mutable_event()->set_ns("/chat");
    event.mutable_event()->set_event("markRead");
    event.mutable_event()->set_args_json(json::array({{{"i", i}, {"pad", pad}}}).dump());
    broker_->on_edge_message(edge, event);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_event());
    EXPECT_EQ(json::parse(msg.event().args_json())[0]["i"], i);
  }
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&msg));
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace herald::broker::api
