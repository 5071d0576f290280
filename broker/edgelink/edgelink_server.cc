// EdgeLinkServer: one ServerBidiReactor per edge stream. Reads go to Broker::on_edge_message; the
// broker's sends are queued and coalesced into BrokerBatch writes, one write in flight.
#include "broker/edgelink/edgelink_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/log/log.h"
#include "common/tls/grpc_tls.h"
#include "herald/internal/edgelink.grpc.pb.h"

namespace herald::broker::edgelink {

namespace {

constexpr std::string_view kLog = "broker.edgelink";

}  // namespace

// One edge's stream. gRPC drives it through the reactions; the broker holds it as its
// EdgeConnection, possibly past OnDone (sends are dropped then). `self_` keeps it alive until
// OnDone.
class EdgeStream final : public grpc::ServerBidiReactor<internal::EdgeBatch, internal::BrokerBatch>,
                         public EdgeConnection,
                         public std::enable_shared_from_this<EdgeStream> {
 public:
  EdgeStream(EdgeLinkServer::Service& service, std::weak_ptr<Broker> broker, std::string peer);

  // Called right after construction, before gRPC sees the reactor.
  void begin(std::shared_ptr<EdgeStream> self);

  const std::string& edge_id() const override { return edge_id_; }
  void send(internal::BrokerToEdge message) override;

  // Ends the stream with `status` once the write in flight (if any) completes. Any thread.
  void finish(grpc::Status status);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override { finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }
  void OnDone() override;

 private:
  // mu_ held; returns true when the caller must StartWrite(&out_) after unlocking.
  bool take_batch_locked();
  void handle(internal::EdgeToBroker& message);

  EdgeLinkServer::Service& service_;
  std::weak_ptr<Broker> broker_;
  std::string peer_;
  std::string edge_id_;  // written once, before the broker sees this connection
  bool hello_seen_ = false;
  internal::EdgeBatch in_;  // touched only by the read chain

  std::mutex mu_;
  std::shared_ptr<EdgeStream> self_;
  std::vector<internal::BrokerToEdge> queue_;
  size_t queued_bytes_ = 0;
  internal::BrokerBatch out_;  // the batch being written; only its writer touches it
  bool write_in_flight_ = false;
  bool finishing_ = false;       // Finish called or pending: no more writes
  bool finish_pending_ = false;  // Finish waits for the write in flight
  grpc::Status finish_status_;
  bool done_ = false;
  // Resumed sessions (SessionOpen.resume) waiting for the broker's answer: socket → (ns, rooms).
  std::unordered_map<std::string, std::pair<std::string, std::vector<std::string>>> resuming_;
};

class EdgeLinkServer::Service final : public internal::EdgeLink::CallbackService {
 public:
  Service(EdgeLinkServerOptions options, std::shared_ptr<Broker> broker)
      : options_(std::move(options)), broker_(std::move(broker)) {}

  grpc::ServerBidiReactor<internal::EdgeBatch, internal::BrokerBatch>* Connect(
      grpc::CallbackServerContext* context) override {
    auto stream = std::make_shared<EdgeStream>(*this, broker_, context->peer());
    {
      std::lock_guard lock(mu_);
      streams_.insert(stream.get());
    }
    counters_.streams_open.fetch_add(1, std::memory_order_relaxed);
    counters_.streams_total.fetch_add(1, std::memory_order_relaxed);
    stream->begin(stream);
    bool closing;
    {
      std::lock_guard lock(mu_);
      closing = closing_;
    }
    if (closing) stream->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "broker is stopping"));
    return stream.get();
  }

  void forget(EdgeStream* stream) {
    {
      std::lock_guard lock(mu_);
      streams_.erase(stream);
    }
    counters_.streams_open.fetch_sub(1, std::memory_order_relaxed);
  }

  // Finishes every open stream; they leave the set in OnDone.
  void close_all() {
    std::vector<std::shared_ptr<EdgeStream>> streams;
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      for (EdgeStream* s : streams_) {
        if (auto p = s->weak_from_this().lock()) streams.push_back(std::move(p));
      }
    }
    for (auto& s : streams) {
      s->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "broker is shutting down"));
    }
  }

  const EdgeLinkServerOptions& options() const { return options_; }
  EdgeLinkCounters& counters() { return counters_; }

 private:
  EdgeLinkServerOptions options_;
  std::shared_ptr<Broker> broker_;
  EdgeLinkCounters counters_;
  std::mutex mu_;
  std::unordered_set<EdgeStream*> streams_;
  bool closing_ = false;
};

EdgeStream::EdgeStream(EdgeLinkServer::Service& service, std::weak_ptr<Broker> broker,
                       std::string peer)
    : service_(service), broker_(std::move(broker)), peer_(std::move(peer)) {}

void EdgeStream::begin(std::shared_ptr<EdgeStream> self) {
  self_ = std::move(self);
  // Initial metadata right away: the edge counts the stream as up when it arrives.
  StartSendInitialMetadata();
  StartRead(&in_);
}

void EdgeStream::OnReadDone(bool ok) {
  if (!ok) {
    // The edge half-closed (graceful stop) or the stream broke.
    finish(grpc::Status::OK);
    return;
  }
  service_.counters().batches_in.fetch_add(1, std::memory_order_relaxed);
  service_.counters().messages_in.fetch_add(in_.messages_size(), std::memory_order_relaxed);
  for (internal::EdgeToBroker& message : *in_.mutable_messages()) {
    if (!hello_seen_) {
      if (message.kind_case() != internal::EdgeToBroker::kHello ||
          message.hello().edge_id().empty()) {
        HLOG_WARN(kLog, "stream without EdgeHello refused", {{"peer", peer_}});
        finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "the first message must be EdgeHello with an edge_id"));
        return;
      }
      edge_id_ = message.hello().edge_id();
      hello_seen_ = true;
      HLOG_INFO(kLog, "edge stream open", {{"edge", edge_id_}, {"peer", peer_}});
    } else if (message.kind_case() == internal::EdgeToBroker::kHello) {
      continue;  // the edge id is fixed for the stream's life
    }
    handle(message);
  }
  in_.Clear();
  StartRead(&in_);
}

void EdgeStream::handle(internal::EdgeToBroker& message) {
  auto broker = broker_.lock();
  if (!broker) return;
  if (message.kind_case() == internal::EdgeToBroker::kOpen && message.open().has_resume()) {
    // Failover: the broker core verifies the token as for any SessionOpen; the rooms the socket
    // was in are restored below, once it has accepted (see send()).
    const internal::SessionOpen& open = message.open();
    std::vector<std::string> rooms(open.resume().rooms().begin(), open.resume().rooms().end());
    {
      std::lock_guard lock(mu_);
      resuming_[open.socket_id()] = {open.ns().empty() ? "/" : open.ns(), std::move(rooms)};
    }
    service_.counters().resumes.fetch_add(1, std::memory_order_relaxed);
    HLOG_DEBUG(kLog, "session resumed",
               {{"edge", edge_id_},
                {"socket", open.socket_id()},
                {"previous_broker", open.resume().previous_broker()},
                {"attempt", open.resume().attempt()}});
  }
  broker->on_edge_message(shared_from_this(), std::move(message));
}

void EdgeStream::send(internal::BrokerToEdge message) {
  std::vector<std::string> restore;
  std::string restore_ns;
  std::string restore_socket;
  bool start = false;
  bool overflow = false;
  size_t queued = 0;
  {
    std::lock_guard lock(mu_);
    if (done_ || finishing_) return;
    if (!resuming_.empty() && (message.kind_case() == internal::BrokerToEdge::kAccepted ||
                               message.kind_case() == internal::BrokerToEdge::kRejected)) {
      const std::string& id = message.kind_case() == internal::BrokerToEdge::kAccepted
                                  ? message.accepted().socket_id()
                                  : message.rejected().socket_id();
      auto it = resuming_.find(id);
      if (it != resuming_.end()) {
        if (message.kind_case() == internal::BrokerToEdge::kAccepted) {
          const auto& decided = message.accepted().rooms();
          for (std::string& room : it->second.second) {
            if (std::find(decided.begin(), decided.end(), room) == decided.end()) {
              restore.push_back(std::move(room));
            }
          }
          restore_ns = it->second.first;
          restore_socket = id;
        }
        resuming_.erase(it);
      }
    }
    const size_t bytes = message.ByteSizeLong();
    if (queued_bytes_ + bytes > service_.options().max_queue_bytes) {
      overflow = true;
      queued = queued_bytes_;
    } else {
      queue_.push_back(std::move(message));
      queued_bytes_ += bytes;
      start = take_batch_locked();
    }
  }
  if (overflow) {
    service_.counters().overflow_closes.fetch_add(1, std::memory_order_relaxed);
    HLOG_WARN(kLog, "edge is not reading: stream closed",
              {{"edge", edge_id_}, {"queued_bytes", queued}});
    finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "edge stream queue overflow"));
    return;
  }
  if (start) StartWrite(&out_);
  if (!restore.empty()) {
    // The broker core keeps a session's rooms from its own decisions; the resumed socket's other
    // rooms are added through the same path as a JoinRooms call (the edge already has them, so
    // its join is a no-op there).
    if (auto broker = broker_.lock()) {
      v1::RoomsRequest request;
      request.set_ns(restore_ns);
      request.mutable_target()->set_socket_id(restore_socket);
      for (std::string& room : restore) request.add_rooms(std::move(room));
      broker->join_rooms(std::move(request),
                         [socket = restore_socket](Status s, v1::RoomsResponse) {
                           if (!s.ok()) {
                             HLOG_WARN(kLog, "resumed session: rooms not restored",
                                       {{"socket", socket}, {"error", s.message()}});
                           }
                         });
    }
  }
}

bool EdgeStream::take_batch_locked() {
  if (write_in_flight_ || finishing_ || done_ || queue_.empty()) return false;
  out_.Clear();
  out_.mutable_messages()->Reserve(static_cast<int>(queue_.size()));
  for (internal::BrokerToEdge& m : queue_) out_.add_messages()->Swap(&m);
  service_.counters().messages_out.fetch_add(queue_.size(), std::memory_order_relaxed);
  service_.counters().batches_out.fetch_add(1, std::memory_order_relaxed);
  queue_.clear();
  queued_bytes_ = 0;
  write_in_flight_ = true;
  return true;
}

void EdgeStream::OnWriteDone(bool ok) {
  bool start = false;
  bool finish_now = false;
  grpc::Status status;
  {
    std::lock_guard lock(mu_);
    write_in_flight_ = false;
    if (finish_pending_) {
      finish_pending_ = false;
      finish_now = true;
      status = finish_status_;
    } else if (ok) {
      start = take_batch_locked();
    } else {
      queue_.clear();
      queued_bytes_ = 0;
    }
  }
  if (finish_now) {
    Finish(status);
  } else if (start) {
    StartWrite(&out_);
  } else if (!ok) {
    finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
  }
}

void EdgeStream::finish(grpc::Status status) {
  {
    std::lock_guard lock(mu_);
    if (finishing_ || done_) return;
    finishing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    if (write_in_flight_) {
      finish_pending_ = true;
      finish_status_ = std::move(status);
      return;
    }
  }
  Finish(status);
}

void EdgeStream::OnDone() {
  std::shared_ptr<EdgeStream> self;
  {
    std::lock_guard lock(mu_);
    done_ = true;
    queue_.clear();
    resuming_.clear();
    self = std::move(self_);
  }
  if (hello_seen_) {
    HLOG_INFO(kLog, "edge stream closed", {{"edge", edge_id_}, {"peer", peer_}});
    if (auto broker = broker_.lock()) broker->on_edge_closed(self);
  }
  service_.forget(this);
  // `self` may be the last reference: this object goes away here unless the broker still holds it.
}

Result<std::unique_ptr<EdgeLinkServer>> EdgeLinkServer::start(EdgeLinkServerOptions options,
                                                              std::shared_ptr<Broker> broker) {
  if (!broker) return invalid_argument("edgelink: no broker");
  std::unique_ptr<EdgeLinkServer> server(new EdgeLinkServer());
  const std::string listen = options.listen;
  const int max_message = static_cast<int>(options.max_message_bytes);
  const int keepalive = static_cast<int>(options.keepalive_ms);
  auto credentials = tls::server_credentials(options.tls, "edgelink.tls");
  if (!credentials.ok()) return credentials.status();
  server->service_ = std::make_unique<Service>(std::move(options), std::move(broker));

  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, credentials.value(), &server->port_);
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Edges ping as often as every keepalive interval; do not count that as abuse.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             std::max(keepalive / 2, 500));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return unavailable("broker.edgelink_listen: cannot listen on " + listen);
  }
  HLOG_INFO(kLog, "EdgeLink listening", {{"listen", listen}, {"port", server->port_}});
  return server;
}

EdgeLinkServer::~EdgeLinkServer() {
  shutdown();
}

const EdgeLinkCounters& EdgeLinkServer::counters() const {
  return service_->counters();
}

void EdgeLinkServer::shutdown(std::chrono::milliseconds grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  service_->close_all();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

}  // namespace herald::broker::edgelink
