// BusPollForwarder: long-polling without sticky sessions (DESIGN.md §6). A polling request whose
// sid names another edge is published as ForwardedPoll on <p>.edge.<owner-id> (the owner is found
// from the sid's edge tag and the edges' heartbeats on <p>.heartbeat.edge); the owner runs it
// against its session (EioServer::serve_forwarded) and answers with ForwardedPollReply on the
// origin's <p>.edge.<origin-id>.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/bus/bus.h"
#include "common/bus/subjects.h"
#include "edge/transport/eio_server.h"

namespace herald::edge {

class BusPollForwarder final : public PollForwarder,
                               public std::enable_shared_from_this<BusPollForwarder> {
 public:
  BusPollForwarder(bus::Bus& bus, std::string cluster_prefix, std::string edge_id,
                   uint32_t heartbeat_timeout_ms, EioServer& server);
  ~BusPollForwarder() override;

  // Follows <p>.heartbeat.edge (edge tag → edge id).
  void start();
  // Stops following heartbeats and drops pending requests (their replies are never called).
  void stop();

  // PollForwarder (origin side).
  uint64_t forward(std::string_view edge_tag, ForwardedRequest request,
                   ForwardedReplyFn reply) override;
  void cancel(uint64_t handle) override;

  // A message on this edge's <p>.edge.<id> subject (BusAdapter's hook, a bus thread): returns
  // true for ForwardedPoll / ForwardedPollReply.
  bool on_edge_message(const bus::EnvelopePtr& envelope);

  // For tests: the edge id a tag maps to now ("" when unknown).
  std::string edge_for_tag(const std::string& tag) const;

 private:
  struct Target {
    std::string edge_id;
    std::string subject;
  };
  struct Peer {
    std::string edge_id;
    int64_t last_heard_ms = 0;
  };
  struct Pending {
    ForwardedReplyFn reply;
    std::string subject;  // the owner's, for cancel
  };

  void on_heartbeat(const internal::Heartbeat& hb);
  void serve(const internal::ForwardedPoll& poll);

  bus::Bus& bus_;
  bus::Subjects subjects_;
  std::string edge_id_;
  std::string own_tag_;
  std::string own_subject_;
  uint32_t heartbeat_timeout_ms_;
  EioServer& server_;

  mutable std::mutex mu_;
  bool stopped_ = false;
  std::unique_ptr<bus::Subscription> heartbeats_;
  std::unordered_map<std::string, Peer> peers_;  // tag → edge
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Pending> pending_;  // origin side
  // Owner side: requests served for other edges, by "<origin>#<request id>", until answered.
  struct Serving {
    std::shared_ptr<ForwardedCall> call;  // null until serve_forwarded returned
    bool cancelled = false;
  };
  std::unordered_map<std::string, Serving> serving_;
};

}  // namespace herald::edge
