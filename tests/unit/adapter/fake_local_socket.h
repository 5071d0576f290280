// A LocalSocket that records what the adapter does to it (for adapter tests).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "edge/adapter/room_index.h"

namespace herald::edge::testing {

class FakeLocalSocket final : public LocalSocket {
 public:
  FakeLocalSocket(std::string id, std::string ns, std::string user = {})
      : id_(std::move(id)), ns_(std::move(ns)), user_(std::move(user)) {}

  std::string_view id() const override { return id_; }
  const std::string& ns() const override { return ns_; }
  const std::string& user_id() const override { return user_; }
  eio::SendResult send(const eio::SharedMessage& message) override {
    received.push_back(message);
    return result;
  }
  void disconnect(std::string_view reason, bool close_connection) override {
    disconnects.emplace_back(std::string(reason), close_connection);
    if (on_disconnect) on_disconnect();
  }

  std::vector<eio::SharedMessage> received;
  std::vector<std::pair<std::string, bool>> disconnects;
  std::function<void()> on_disconnect;
  eio::SendResult result = eio::SendResult::kQueued;

 private:
  std::string id_;
  std::string ns_;
  std::string user_;
};

}  // namespace herald::edge::testing
