// Tests for examples/echo-service: the echo rules, and EchoService against a fake Realtime server.
#include "examples/echo-service/echo_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace herald::echo {
namespace {

using namespace std::chrono_literals;
using ClientEvent = v1::ServerMessage::ClientEvent;

// Binary that must survive untouched: NUL, high bytes, a JSON-looking fragment.
const std::string kBinary("\x00\x01\xff\xfe{\"_placeholder\":true}\x00", 26);
const std::string kBinaryArgs = R"(["x",{"_placeholder":true,"num":0}])";

ClientEvent client_event(const std::string& event, uint64_t call_id = 0) {
  ClientEvent e;
  e.set_call_id(call_id);
  e.set_wants_ack(call_id != 0);
  e.set_ns("/custom");
  e.set_event(event);
  e.set_socket_id("AAAA0socket-id-00001");
  e.set_args_json("[]");
  return e;
}

// ---------------------------------------------------------------------------------------------
// The echo rules (pure).

TEST(EchoRules, RegisterListsMessageAckAndConnectPerNamespace) {
  EchoOptions options;
  options.namespaces = {"/", "/chat"};
  options.service_name = "echo-test";
  v1::HandlerMessage msg = make_register(options);
  ASSERT_TRUE(msg.has_register_());
  EXPECT_EQ(msg.register_().service_name(), "echo-test");
  std::vector<std::pair<std::string, std::string>> routes;
  for (const auto& r : msg.register_().routes()) routes.emplace_back(r.ns(), r.event());
  std::vector<std::pair<std::string, std::string>> expected = {
      {"/", "message"},     {"/", "message-with-ack"},     {"/", "$connect"},
      {"/chat", "message"}, {"/chat", "message-with-ack"}, {"/chat", "$connect"}};
  EXPECT_EQ(routes, expected);
}

TEST(EchoRules, RegisterAsksForBatches) {
  EXPECT_TRUE(make_register(EchoOptions{}).register_().batches());
}

TEST(EchoRules, DefaultNamespacesAreTheCompatContracts) {
  EXPECT_EQ(EchoOptions{}.namespaces, (std::vector<std::string>{"/", "/custom", "/anon"}));
  EXPECT_EQ(make_register(EchoOptions{}).register_().routes_size(), 9);
}

TEST(EchoRules, ConnectEmitsTheHandshakeAuthObject) {
  ClientEvent e = client_event("$connect");
  e.set_auth_json(R"({"token":"t","n":1})");
  auto out = respond(e);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_emit());
  EXPECT_EQ(out[0].emit().socket_id(), e.socket_id());
  EXPECT_EQ(out[0].emit().ns(), "/custom");
  EXPECT_EQ(out[0].emit().event(), "auth");
  EXPECT_EQ(out[0].emit().args_json(), R"([{"token":"t","n":1}])");
}

TEST(EchoRules, ConnectWithoutAuthEmitsAnEmptyObject) {
  auto out = respond(client_event("$connect"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].emit().args_json(), "[{}]");
}

TEST(EchoRules, MessageEmitsMessageBackWithBinaryUntouched) {
  ClientEvent e = client_event("message");
  e.set_args_json(kBinaryArgs);
  e.add_attachments(kBinary);
  auto out = respond(e);
  ASSERT_EQ(out.size(), 1u);  // no ack asked: no Reply
  ASSERT_TRUE(out[0].has_emit());
  EXPECT_EQ(out[0].emit().event(), "message-back");
  EXPECT_EQ(out[0].emit().socket_id(), e.socket_id());
  EXPECT_EQ(out[0].emit().ns(), "/custom");
  EXPECT_EQ(out[0].emit().args_json(), kBinaryArgs);
  ASSERT_EQ(out[0].emit().attachments_size(), 1);
  EXPECT_EQ(out[0].emit().attachments(0), kBinary);
}

TEST(EchoRules, MessageWithAnAckAskedAlsoRepliesEmpty) {
  auto out = respond(client_event("message", 42));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].has_emit());
  ASSERT_TRUE(out[1].has_reply());
  EXPECT_EQ(out[1].reply().call_id(), 42u);
  EXPECT_EQ(out[1].reply().args_json(), "[]");
  EXPECT_EQ(out[1].reply().error_code(), "");
}

TEST(EchoRules, MessageWithAckRepliesWithTheSameArguments) {
  ClientEvent e = client_event("message-with-ack", 7);
  e.set_args_json(kBinaryArgs);
  e.add_attachments(kBinary);
  auto out = respond(e);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].has_reply());
  EXPECT_EQ(out[0].reply().call_id(), 7u);
  EXPECT_EQ(out[0].reply().args_json(), kBinaryArgs);
  ASSERT_EQ(out[0].reply().attachments_size(), 1);
  EXPECT_EQ(out[0].reply().attachments(0), kBinary);
}

TEST(EchoRules, MessageWithAckButNoAckAskedSendsNothing) {
  EXPECT_TRUE(respond(client_event("message-with-ack")).empty());
}

TEST(EchoRules, EmptyArgsAreEchoedAsAnEmptyArray) {
  ClientEvent e = client_event("message-with-ack", 3);
  e.set_args_json("");
  auto out = respond(e);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].reply().args_json(), "[]");
}

TEST(EchoRules, AnUnregisteredEventWithAnAckIsRefused) {
  auto out = respond(client_event("other", 9));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].reply().call_id(), 9u);
  EXPECT_EQ(out[0].reply().error_code(), "UNKNOWN_EVENT");
  EXPECT_TRUE(respond(client_event("other")).empty());
  EXPECT_TRUE(respond(client_event("$disconnect")).empty());
}

// ---------------------------------------------------------------------------------------------
// A fake herald.v1.Realtime: records what the service sends, answers Register with Registered, and
// lets the test push ServerMessages down the newest stream.

class FakeRealtime final : public v1::Realtime::CallbackService {
 public:
  grpc::ServerBidiReactor<v1::HandlerMessage, v1::ServerMessage>* HandleEvents(
      grpc::CallbackServerContext* context) override {
    return new Stream(this, context);
  }

  // Sends `msg` on the newest live stream; false when there is none.
  bool send(v1::ServerMessage msg) {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ == nullptr) return false;
    current_->send(std::move(msg));
    return true;
  }
  bool send_event(const ClientEvent& event) {
    v1::ServerMessage msg;
    *msg.mutable_event() = event;
    return send(std::move(msg));
  }

  // The next message the service sent (on any stream), in order.
  std::optional<v1::HandlerMessage> next(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !received_.empty(); })) return std::nullopt;
    v1::HandlerMessage msg = std::move(received_.front());
    received_.pop_front();
    return msg;
  }

  // Whether Registered tells the service that HandlerMessage.batch is accepted (set before the
  // service connects).
  void set_takes_batches(bool on) { takes_batches_ = on; }

  std::string authorization() {
    std::lock_guard<std::mutex> lock(mu_);
    return authorization_;
  }

  // Waits until no stream is live (the client went away).
  bool wait_no_stream(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return current_ == nullptr; });
  }

 private:
  class Stream final : public grpc::ServerBidiReactor<v1::HandlerMessage, v1::ServerMessage> {
   public:
    Stream(FakeRealtime* owner, grpc::CallbackServerContext* context) : owner_(owner) {
      auto auth = context->client_metadata().find("authorization");
      std::lock_guard<std::mutex> lock(owner_->mu_);
      if (auth != context->client_metadata().end()) {
        owner_->authorization_.assign(auth->second.data(), auth->second.size());
      }
      owner_->current_ = this;
      StartRead(&in_);
    }

    // One write in flight; the rest wait in outbox_.
    void send(v1::ServerMessage msg) {
      const v1::ServerMessage* next = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (finished_) return;
        outbox_.push_back(std::move(msg));
        if (outbox_.size() > 1) return;
        next = &outbox_.front();
      }
      StartWrite(next);
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          finished_ = true;
        }
        Finish(grpc::Status::OK);
        return;
      }
      if (in_.has_register_()) {
        v1::ServerMessage registered;
        registered.mutable_registered()->set_routes(
            static_cast<uint32_t>(in_.register_().routes_size()));
        registered.mutable_registered()->set_batches(owner_->takes_batches_);
        send(std::move(registered));
      }
      {
        std::lock_guard<std::mutex> lock(owner_->mu_);
        owner_->received_.push_back(in_);
        owner_->cv_.notify_all();
      }
      StartRead(&in_);
    }

    void OnWriteDone(bool ok) override {
      const v1::ServerMessage* next = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        outbox_.pop_front();
        if (!ok || outbox_.empty()) return;
        next = &outbox_.front();
      }
      StartWrite(next);
    }

    void OnDone() override {
      {
        std::lock_guard<std::mutex> lock(owner_->mu_);
        if (owner_->current_ == this) owner_->current_ = nullptr;
        owner_->cv_.notify_all();
      }
      delete this;
    }

   private:
    FakeRealtime* const owner_;
    v1::HandlerMessage in_;
    std::mutex mu_;
    std::deque<v1::ServerMessage> outbox_;  // front() is in flight
    bool finished_ = false;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::HandlerMessage> received_;
  std::string authorization_;
  Stream* current_ = nullptr;
  std::atomic<bool> takes_batches_{false};
};

// A FakeRealtime served on 127.0.0.1; port 0 picks a free port, read back with port().
class FakeServer {
 public:
  explicit FakeServer(int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { stop(); }

  // Cancels live streams (as a crashing broker would) and stops listening.
  void stop() {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now() + 100ms);
    server_->Wait();
    server_.reset();
  }

  bool ok() const { return server_ != nullptr && port_ > 0; }
  int port() const { return port_; }
  FakeRealtime& service() { return service_; }

 private:
  FakeRealtime service_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Runs an EchoService on its own thread and collects its log lines.
class EchoRunner {
 public:
  explicit EchoRunner(int port, std::string token = "") {
    EchoOptions options;
    options.server = "127.0.0.1:" + std::to_string(port);
    options.token = std::move(token);
    options.service_name = "echo-test";
    options.initial_backoff = 20ms;  // keeps reconnect tests short
    options.max_backoff = 200ms;
    service_ = std::make_unique<EchoService>(options, [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
      cv_.notify_all();
    });
    thread_ = std::thread([this] { service_->run(); });
  }
  ~EchoRunner() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    service_->stop();
    thread_.join();
  }

  // Waits until `count` log lines equal `line`.
  bool wait_line(const std::string& line, size_t count = 1,
                 std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return static_cast<size_t>(std::count(lines_.begin(), lines_.end(), line)) >= count;
    });
  }
  // Waits for a log line that starts with `prefix`.
  bool wait_prefix(const std::string& prefix, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& l : lines_) {
        if (l.rfind(prefix, 0) == 0) return true;
      }
      return false;
    });
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::unique_ptr<EchoService> service_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

const std::string kRegisteredLine = R"({"msg":"echo-service registered","routes":9})";

// Waits for the service's Register on `fake` and checks it.
void expect_register(FakeRealtime& fake) {
  std::optional<v1::HandlerMessage> reg = fake.next();
  ASSERT_TRUE(reg.has_value()) << "no Register";
  ASSERT_TRUE(reg->has_register_());
  EXPECT_EQ(reg->register_().service_name(), "echo-test");
  EXPECT_EQ(reg->register_().routes_size(), 9);
}

TEST(EchoService, RegistersWithTokenAndLogsTheRouteCount) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  EchoRunner echo(server.port(), "api-token");
  expect_register(server.service());
  EXPECT_EQ(server.service().authorization(), "Bearer api-token");
  EXPECT_TRUE(echo.wait_line(kRegisteredLine)) << ::testing::PrintToString(echo.lines());
}

TEST(EchoService, AnswersConnectMessageAndMessageWithAckOverTheStream) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  EchoRunner echo(server.port());
  FakeRealtime& fake = server.service();
  expect_register(fake);
  ASSERT_TRUE(echo.wait_line(kRegisteredLine));

  ClientEvent connect = client_event("$connect");
  connect.set_auth_json(R"({"hello":"world"})");
  ASSERT_TRUE(fake.send_event(connect));
  auto auth = fake.next();
  ASSERT_TRUE(auth && auth->has_emit());
  EXPECT_EQ(auth->emit().event(), "auth");
  EXPECT_EQ(auth->emit().args_json(), R"([{"hello":"world"}])");
  EXPECT_EQ(auth->emit().socket_id(), connect.socket_id());

  ClientEvent message = client_event("message");
  message.set_args_json(kBinaryArgs);
  message.add_attachments(kBinary);
  ASSERT_TRUE(fake.send_event(message));
  auto back = fake.next();
  ASSERT_TRUE(back && back->has_emit());
  EXPECT_EQ(back->emit().event(), "message-back");
  EXPECT_EQ(back->emit().args_json(), kBinaryArgs);
  ASSERT_EQ(back->emit().attachments_size(), 1);
  EXPECT_EQ(back->emit().attachments(0), kBinary);

  ClientEvent ack = client_event("message-with-ack", 77);
  ack.set_args_json(kBinaryArgs);
  ack.add_attachments(kBinary);
  ASSERT_TRUE(fake.send_event(ack));
  auto reply = fake.next();
  ASSERT_TRUE(reply && reply->has_reply());
  EXPECT_EQ(reply->reply().call_id(), 77u);
  EXPECT_EQ(reply->reply().args_json(), kBinaryArgs);
  ASSERT_EQ(reply->reply().attachments_size(), 1);
  EXPECT_EQ(reply->reply().attachments(0), kBinary);
}

// A batch of events to a broker that takes batches: every answer, in order, in one Batch.
TEST(EchoService, AnswersABatchWithOneBatch) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  FakeRealtime& fake = server.service();
  fake.set_takes_batches(true);
  EchoRunner echo(server.port());
  expect_register(fake);
  ASSERT_TRUE(echo.wait_line(kRegisteredLine));

  v1::ServerMessage msg;
  *msg.mutable_batch()->add_events() = client_event("message-with-ack", 5);
  *msg.mutable_batch()->add_events() = client_event("message", 6);  // message-back + empty ack
  ClientEvent last = client_event("message-with-ack", 7);
  last.set_args_json(R"([{"n":7}])");
  *msg.mutable_batch()->add_events() = last;
  ASSERT_TRUE(fake.send(std::move(msg)));

  auto got = fake.next();
  ASSERT_TRUE(got && got->has_batch());
  const auto& out = got->batch().messages();
  ASSERT_EQ(out.size(), 4);
  EXPECT_EQ(out[0].reply().call_id(), 5u);
  EXPECT_EQ(out[1].emit().event(), "message-back");
  EXPECT_EQ(out[2].reply().call_id(), 6u);
  EXPECT_EQ(out[2].reply().args_json(), "[]");
  EXPECT_EQ(out[3].reply().call_id(), 7u);
  EXPECT_EQ(out[3].reply().args_json(), R"([{"n":7}])");
}

// A broker that does not take batches (Registered.batches unset) gets the answers one by one.
TEST(EchoService, AnswersABatchMessageByMessageToAnOlderBroker) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  FakeRealtime& fake = server.service();
  EchoRunner echo(server.port());
  expect_register(fake);
  ASSERT_TRUE(echo.wait_line(kRegisteredLine));

  v1::ServerMessage msg;
  *msg.mutable_batch()->add_events() = client_event("message-with-ack", 5);
  *msg.mutable_batch()->add_events() = client_event("message-with-ack", 6);
  ASSERT_TRUE(fake.send(std::move(msg)));
  for (uint64_t id : {5u, 6u}) {
    auto reply = fake.next();
    ASSERT_TRUE(reply && reply->has_reply());
    EXPECT_EQ(reply->reply().call_id(), id);
  }
}

TEST(EchoService, AnswersManyEventsInOrder) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  EchoRunner echo(server.port());
  FakeRealtime& fake = server.service();
  expect_register(fake);
  constexpr int kCount = 200;
  for (int i = 1; i <= kCount; ++i) {
    ClientEvent e = client_event("message-with-ack", static_cast<uint64_t>(i));
    e.set_args_json("[" + std::to_string(i) + "]");
    ASSERT_TRUE(fake.send_event(e));
  }
  for (int i = 1; i <= kCount; ++i) {
    auto reply = fake.next();
    ASSERT_TRUE(reply && reply->has_reply()) << i;
    EXPECT_EQ(reply->reply().call_id(), static_cast<uint64_t>(i));
    EXPECT_EQ(reply->reply().args_json(), "[" + std::to_string(i) + "]");
  }
}

TEST(EchoService, ReconnectsAndRegistersAgainAfterTheServerRestarts) {
  auto server = std::make_unique<FakeServer>();
  ASSERT_TRUE(server->ok());
  const int port = server->port();
  EchoRunner echo(port);
  expect_register(server->service());
  ASSERT_TRUE(echo.wait_line(kRegisteredLine));

  server->stop();  // the broker goes away
  EXPECT_TRUE(echo.wait_prefix(R"({"msg":"echo-service disconnected")"))
      << ::testing::PrintToString(echo.lines());
  server = std::make_unique<FakeServer>(port);  // and comes back on the same address
  ASSERT_TRUE(server->ok());
  expect_register(server->service());
  EXPECT_TRUE(echo.wait_line(kRegisteredLine, 2));

  // The new stream serves events.
  ASSERT_TRUE(server->service().send_event(client_event("message-with-ack", 5)));
  auto reply = server->service().next();
  ASSERT_TRUE(reply && reply->has_reply());
  EXPECT_EQ(reply->reply().call_id(), 5u);
}

TEST(EchoService, WaitsForABrokerThatIsNotUpYet) {
  int port = 0;
  {
    FakeServer probe;  // finds a free port, then frees it
    ASSERT_TRUE(probe.ok());
    port = probe.port();
  }
  EchoRunner echo(port);
  ASSERT_TRUE(echo.wait_prefix(R"({"msg":"echo-service unavailable","code":14)"))
      << ::testing::PrintToString(echo.lines());
  FakeServer server(port);
  ASSERT_TRUE(server.ok());
  expect_register(server.service());
  EXPECT_TRUE(echo.wait_line(kRegisteredLine));
}

TEST(EchoService, StopEndsTheStreamAndRun) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  EchoRunner echo(server.port());
  expect_register(server.service());
  ASSERT_TRUE(echo.wait_line(kRegisteredLine));
  echo.stop();  // joins run()
  EXPECT_TRUE(server.service().wait_no_stream());
  auto lines = echo.lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), R"({"msg":"echo-service stopped"})");
}

TEST(EchoService, StopDuringBackoffReturnsPromptly) {
  int port = 0;
  {
    FakeServer probe;
    ASSERT_TRUE(probe.ok());
    port = probe.port();
  }
  EchoRunner echo(port);
  ASSERT_TRUE(echo.wait_prefix(R"({"msg":"echo-service unavailable")"));
  auto start = std::chrono::steady_clock::now();
  echo.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace herald::echo
