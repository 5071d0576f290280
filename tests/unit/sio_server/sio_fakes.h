// Test doubles for the Socket.IO server, free of gtest (unit tests and fuzzers use them): an
// Engine.IO session that records what it is sent, and a broker link that records what the edge
// sends and keeps the receiver the edge installs.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edge/broker_link.h"
#include "edge/engineio/session_handler.h"

namespace herald::sio::testing {

class FakeSession final : public eio::Session {
 public:
  FakeSession(std::string id, uint32_t shard, boost::asio::io_context& io)
      : id_(std::move(id)), shard_(shard), io_(io) {
    eio::StringPairs headers;
    headers.add("user-agent", "test");
    eio::StringPairs query;
    query.add("EIO", "4");
    handshake_ = eio::HandshakeInfo(headers.view(), query.view(), "127.0.0.1:5555", false);
  }

  std::string_view id() const override { return id_; }
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

}  // namespace herald::sio::testing
