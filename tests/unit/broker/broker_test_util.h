// Test doubles for the broker: a fake edge connection, a fake HandleEvents stream, a bus recorder,
// token signing, and a fixture that runs the broker's io_context by hand with a fake clock.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/auth/jwt_signer.h"
#include "broker/auth/jwt_verifier.h"
#include "broker/auth/key.h"
#include "broker/core/broker.h"
#include "broker/core/edge_connection.h"
#include "broker/core/handler_stream.h"
#include "broker/policy/policy.h"
#include "common/bus/bus.h"
#include "common/bus/subjects.h"

namespace herald::broker::testing {

inline constexpr int64_t kStartMs = 1'700'000'000'000;
inline const std::string kSecret = "0123456789abcdef0123456789abcdef";

class FakeEdge final : public EdgeConnection {
 public:
  explicit FakeEdge(std::string id) : id_(std::move(id)) {}
  const std::string& edge_id() const override { return id_; }
  void send(internal::BrokerToEdge message) override {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(message));
  }
  std::vector<internal::BrokerToEdge> take() {
    std::lock_guard lock(mu_);
    std::vector<internal::BrokerToEdge> out = std::move(messages_);
    messages_.clear();
    return out;
  }

 private:
  std::string id_;
  std::mutex mu_;
  std::vector<internal::BrokerToEdge> messages_;
};

class FakeHandler final : public HandlerStream {
 public:
  void send(v1::ServerMessage message) override {
    std::lock_guard lock(mu_);
    if (!closed_) messages_.push_back(std::move(message));
  }
  void close(Status status) override {
    std::lock_guard lock(mu_);
    closed_ = true;
    close_status_ = std::move(status);
  }
  std::vector<v1::ServerMessage> take() {
    std::lock_guard lock(mu_);
    std::vector<v1::ServerMessage> out = std::move(messages_);
    messages_.clear();
    return out;
  }
  bool closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  std::mutex mu_;
  std::vector<v1::ServerMessage> messages_;
  bool closed_ = false;
  Status close_status_;
};

// Records everything published under the cluster prefix.
class BusRecorder {
 public:
  BusRecorder(bus::Bus& bus, const std::string& prefix) {
    sub_ = bus.subscribe(prefix + ".>",
                         [this](const std::string& subject, const bus::EnvelopePtr& envelope) {
                           std::lock_guard lock(mu_);
                           items_.emplace_back(subject, envelope);
                         });
  }
  std::vector<std::pair<std::string, bus::EnvelopePtr>> take() {
    std::lock_guard lock(mu_);
    auto out = std::move(items_);
    items_.clear();
    return out;
  }
  // Only envelopes of one kind.
  std::vector<std::pair<std::string, bus::EnvelopePtr>> take(bus::Envelope::KindCase kind) {
    std::vector<std::pair<std::string, bus::EnvelopePtr>> out;
    for (auto& item : take()) {
      if (item.second->kind_case() == kind) out.push_back(std::move(item));
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, bus::EnvelopePtr>> items_;
  std::unique_ptr<bus::Subscription> sub_;
};

inline std::string sign_token(const nlohmann::json& claims, const std::string& secret = kSecret) {
  auto key = auth::Key::from_secret(secret);
  EXPECT_TRUE(key.ok()) << key.status().to_string();
  auto token = auth::sign(claims, "HS256", **key);
  EXPECT_TRUE(token.ok()) << token.status().to_string();
  return token.ok() ? *token : std::string();
}

inline std::shared_ptr<const policy::PolicySet> make_policy(const std::string& yaml) {
  auto set = policy::parse_policy_document(yaml);
  EXPECT_TRUE(set.ok()) << set.status().to_string();
  return std::make_shared<const policy::PolicySet>(set.ok() ? std::move(set).value()
                                                            : policy::PolicySet());
}

inline const char* kTestPolicy = R"(
namespaces:
  /chat:
    auth: required
    auto_join: ["team:{claims.team}"]
    rooms:
      join_allowed: ["team:{claims.team}:*", "public:*"]
    events:
      message: {action: relay, to: "{args.room}", require_member: true}
      typing: {action: relay, to: "{args.room}", except_sender: true, volatile: true}
      join: {action: join, room: "{args.room}"}
      leave: {action: leave, room: "{args.room}"}
      markRead: {action: forward}
  /admin:
    auth: required
    require_claims:
      role: admin
  /open:
    auth: none
    unknown_events: forward
)";

// A broker on a hand-run io_context with a fake clock and no real timers.
class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override { build(OnExpiry::kDisconnect, 0); }

  void build(OnExpiry on_expiry, uint32_t grace_s) {
    broker_.reset();
    run();
    bus_ = bus::make_in_process_bus();
    recorder_ = std::make_unique<BusRecorder>(*bus_, "herald");
    auth::JwtConfig jwt;
    auth::KeySpec key;
    key.type = auth::KeySpec::Type::kSecret;
    key.value = kSecret;
    jwt.keys.push_back(key);
    jwt.leeway_s = 0;
    auto verifier = auth::JwtVerifier::create(jwt, [this] { return now_ms_; });
    ASSERT_TRUE(verifier.ok()) << verifier.status().to_string();
    BrokerOptions options;
    options.broker_id = "b1";
    options.policy = make_policy(kTestPolicy);
    options.verifier = std::shared_ptr<const auth::JwtVerifier>(std::move(verifier).value());
    options.on_expiry = on_expiry;
    options.grace_s = grace_s;
    options.api.handler_timeout_ms = 5000;
    options.presence_events = presence_rules_;
    options.clock = [this] { return now_ms_; };
    options.run_timers = false;
    broker_ = Broker::create(io_, *bus_, std::move(options));
    broker_->start();
    run();
    recorder_->take();
  }

  void TearDown() override {
    if (broker_) broker_->stop();
    run();
    broker_.reset();
  }

  void run() {
    io_.restart();
    io_.poll();
  }

  void advance(int64_t ms) {
    now_ms_ += ms;
    broker_->tick();
    run();
  }

  std::string token(const std::string& sub, nlohmann::json extra = nlohmann::json::object(),
                    int64_t exp_in_s = 3600) {
    nlohmann::json claims = {{"sub", sub}, {"exp", now_ms_ / 1000 + exp_in_s}};
    for (auto& [k, v] : extra.items()) claims[k] = v;
    return sign_token(claims);
  }

  // Sends SessionOpen and returns what the broker answered.
  std::vector<internal::BrokerToEdge> open(const std::string& socket_id, const std::string& ns,
                                           const std::string& auth_json,
                                           std::shared_ptr<FakeEdge> edge = nullptr) {
    if (!edge) edge = edge_;
    internal::EdgeToBroker msg;
    auto* open = msg.mutable_open();
    open->set_socket_id(socket_id);
    open->set_ns(ns);
    open->set_auth_json(auth_json);
    broker_->on_edge_message(edge, std::move(msg));
    run();
    return edge->take();
  }

  internal::SessionAccepted connect(const std::string& socket_id, const std::string& ns,
                                    const std::string& sub,
                                    nlohmann::json extra = {{"team", "t1"}}) {
    auto out = open(socket_id, ns, nlohmann::json({{"token", token(sub, extra)}}).dump());
    EXPECT_EQ(out.size(), 1u);
    if (out.size() != 1 || !out[0].has_accepted()) {
      ADD_FAILURE() << "not accepted: " << (out.empty() ? "" : out[0].DebugString());
      return {};
    }
    return out[0].accepted();
  }

  std::vector<internal::BrokerToEdge> event(const std::string& socket_id, const std::string& ns,
                                            const std::string& name, const std::string& args_json,
                                            bool wants_ack = false, uint64_t ack_id = 0,
                                            std::shared_ptr<FakeEdge> edge = nullptr) {
    if (!edge) edge = edge_;
    internal::EdgeToBroker msg;
    auto* e = msg.mutable_event();
    e->set_socket_id(socket_id);
    e->set_ns(ns);
    e->set_event(name);
    e->set_args_json(args_json);
    e->set_wants_ack(wants_ack);
    e->set_ack_id(ack_id);
    broker_->on_edge_message(edge, std::move(msg));
    run();
    return edge->take();
  }

  // Publishes a presence delta as edge `edge_id` would.
  void presence(const std::string& edge_id, std::vector<internal::PresenceChange> changes,
                bool snapshot = false) {
    auto envelope = std::make_shared<bus::Envelope>();
    auto* delta = envelope->mutable_presence();
    delta->set_edge_id(edge_id);
    delta->set_seq(++presence_seq_[edge_id]);
    delta->set_boot_id(7);
    delta->set_snapshot(snapshot);
    for (auto& c : changes) *delta->add_changes() = std::move(c);
    bus_->publish(bus::Subjects("herald").presence(edge_id), std::move(envelope));
    run();
  }

  static internal::PresenceChange connect_change(const std::string& socket_id,
                                                 const std::string& ns, const std::string& user) {
    internal::PresenceChange c;
    c.set_op(internal::PresenceChange::OP_CONNECT);
    c.set_socket_id(socket_id);
    c.set_ns(ns);
    c.set_user_id(user);
    return c;
  }
  static internal::PresenceChange join_change(const std::string& socket_id, const std::string& ns,
                                              const std::string& room) {
    internal::PresenceChange c;
    c.set_op(internal::PresenceChange::OP_JOIN);
    c.set_socket_id(socket_id);
    c.set_ns(ns);
    c.set_room(room);
    return c;
  }

  // Calls a Broker API method and returns (status, response) once the io_context ran.
  template <typename Response, typename Request, typename Method>
  std::pair<Status, Response> call(Method method, Request request) {
    std::pair<Status, Response> out;
    bool called = false;
    ((*broker_).*method)(std::move(request), [&](Status s, Response r) {
      out = {std::move(s), std::move(r)};
      called = true;
    });
    run();
    EXPECT_TRUE(called);
    return out;
  }

  std::vector<PresenceEventRule> presence_rules_;
  int64_t now_ms_ = kStartMs;
  boost::asio::io_context io_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<BusRecorder> recorder_;
  std::shared_ptr<Broker> broker_;
  std::shared_ptr<FakeEdge> edge_ = std::make_shared<FakeEdge>("edge-1");
  std::map<std::string, uint64_t> presence_seq_;
};

}  // namespace herald::broker::testing
