// herald.v1.Realtime: unary calls finished from the broker thread, HandleEvents bidi reactors.
#include "broker/api/realtime_service.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <mutex>

#include "common/log/log.h"

namespace herald::broker::api {

namespace {

constexpr std::string_view kLog = "broker.api";

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

}  // namespace

grpc::Status to_grpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

grpc::Status CallerAuth::check(const grpc::CallbackServerContext& context) const {
  if (tokens_.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return {grpc::StatusCode::UNAUTHENTICATED, "missing authorization: Bearer <token>"};
  }
  std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) {
    return {grpc::StatusCode::UNAUTHENTICATED, "malformed authorization header"};
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) {
      return {grpc::StatusCode::UNAUTHENTICATED, "authorization must use the Bearer scheme"};
    }
  }
  std::string_view presented = value.substr(kScheme.size());
  bool match = false;
  for (const std::string& token : tokens_) match |= constant_time_equal(presented, token);
  if (!match) return {grpc::StatusCode::UNAUTHENTICATED, "unknown bearer token"};
  return grpc::Status::OK;
}

std::string_view api_method_name(ApiMethod method) {
  switch (method) {
    case ApiMethod::kPushToUser:
      return "PushToUser";
    case ApiMethod::kBroadcast:
      return "Broadcast";
    case ApiMethod::kEmitWithAck:
      return "EmitWithAck";
    case ApiMethod::kJoinRooms:
      return "JoinRooms";
    case ApiMethod::kLeaveRooms:
      return "LeaveRooms";
    case ApiMethod::kDisconnect:
      return "Disconnect";
    case ApiMethod::kGetPresence:
      return "GetPresence";
    case ApiMethod::kListRoomMembers:
      return "ListRoomMembers";
    case ApiMethod::kStats:
      return "Stats";
    case ApiMethod::kCount:
      break;
  }
  return "unknown";
}

namespace {

std::string_view grpc_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

ApiMetrics::ApiMetrics(prometheus::Registry& registry) {
  auto& durations = prometheus::BuildHistogram()
                        .Name("herald_api_request_duration_seconds")
                        .Help("Public gRPC API unary calls: time from arrival to Finish")
                        .Register(registry);
  // EmitWithAck waits for client acks (up to its timeout): the buckets reach 30 s.
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  for (size_t i = 0; i < durations_.size(); ++i) {
    durations_[i] = &durations.Add(
        {{"method", std::string(api_method_name(static_cast<ApiMethod>(i)))}}, buckets);
  }
  requests_ = &prometheus::BuildCounter()
                   .Name("herald_api_requests_total")
                   .Help("Public gRPC API unary calls finished, by method and gRPC status code")
                   .Register(registry);
}

void ApiMetrics::observe(ApiMethod method, double seconds, grpc::StatusCode code) {
  const auto i = static_cast<size_t>(method);
  if (i >= durations_.size()) return;
  durations_[i]->Observe(seconds);
  requests_
      ->Add({{"method", std::string(api_method_name(method))},
             {"code", std::string(grpc_code_name(code))}})
      .Increment();
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* RealtimeService::unary(
    grpc::CallbackServerContext* context, const Request* request, Response* response,
    ApiMethod which, void (Broker::*method)(Request, Broker::Done<Response>)) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto started = std::chrono::steady_clock::now();
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  // Metrics and the in-flight count are settled before Finish: once every call has finished, the
  // server (and this service) may be destroyed.
  auto finish = [this, reactor, which, started](const grpc::Status& status) {
    if (metrics_) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
      metrics_->observe(which, took.count(), status.error_code());
    }
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    reactor->Finish(status);
  };
  grpc::Status allowed = auth_.check(*context);
  if (!allowed.ok()) {
    finish(allowed);
    return reactor;
  }
  // gRPC keeps `response` alive until Finish; the broker answers on its own thread.
  ((*broker_).*method)(*request, [finish, response](Status status, Response result) {
    if (status.ok()) *response = std::move(result);
    finish(to_grpc(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* RealtimeService::PushToUser(grpc::CallbackServerContext* context,
                                                      const v1::PushToUserRequest* request,
                                                      v1::PushToUserResponse* response) {
  return unary(context, request, response, ApiMethod::kPushToUser, &Broker::push_to_user);
}
grpc::ServerUnaryReactor* RealtimeService::Broadcast(grpc::CallbackServerContext* context,
                                                     const v1::BroadcastRequest* request,
                                                     v1::BroadcastResponse* response) {
  return unary(context, request, response, ApiMethod::kBroadcast, &Broker::broadcast);
}
grpc::ServerUnaryReactor* RealtimeService::EmitWithAck(grpc::CallbackServerContext* context,
                                                       const v1::EmitWithAckRequest* request,
                                                       v1::EmitWithAckResponse* response) {
  return unary(context, request, response, ApiMethod::kEmitWithAck, &Broker::emit_with_ack);
}
grpc::ServerUnaryReactor* RealtimeService::JoinRooms(grpc::CallbackServerContext* context,
                                                     const v1::RoomsRequest* request,
                                                     v1::RoomsResponse* response) {
  return unary(context, request, response, ApiMethod::kJoinRooms, &Broker::join_rooms);
}
grpc::ServerUnaryReactor* RealtimeService::LeaveRooms(grpc::CallbackServerContext* context,
                                                      const v1::RoomsRequest* request,
                                                      v1::RoomsResponse* response) {
  return unary(context, request, response, ApiMethod::kLeaveRooms, &Broker::leave_rooms);
}
grpc::ServerUnaryReactor* RealtimeService::Disconnect(grpc::CallbackServerContext* context,
                                                      const v1::DisconnectRequest* request,
                                                      v1::DisconnectResponse* response) {
  return unary(context, request, response, ApiMethod::kDisconnect, &Broker::disconnect);
}
grpc::ServerUnaryReactor* RealtimeService::GetPresence(grpc::CallbackServerContext* context,
                                                       const v1::GetPresenceRequest* request,
                                                       v1::GetPresenceResponse* response) {
  return unary(context, request, response, ApiMethod::kGetPresence, &Broker::get_presence);
}
grpc::ServerUnaryReactor* RealtimeService::ListRoomMembers(
    grpc::CallbackServerContext* context, const v1::ListRoomMembersRequest* request,
    v1::ListRoomMembersResponse* response) {
  return unary(context, request, response, ApiMethod::kListRoomMembers, &Broker::list_room_members);
}
grpc::ServerUnaryReactor* RealtimeService::Stats(grpc::CallbackServerContext* context,
                                                 const v1::StatsRequest* request,
                                                 v1::StatsResponse* response) {
  return unary(context, request, response, ApiMethod::kStats, &Broker::stats);
}

// ---------------------------------------------------------------------------------------------
// HandleEvents

namespace {

class HandlerReactor;

// The broker's handle on the stream. Outlives the reactor: after OnDone, sends are dropped.
// One mutex guards the write queue and the finish state, and the reactor pointer itself.
// One write is in flight at a time; for a service that registered with `batches`, the client
// events queued meanwhile go out together in the next write (one gRPC message, one syscall).
// Such a link also holds back the first write of a burst until the broker thread has run the
// handlers already queued on it (sends come from that thread), so a burst leaves as one batch
// instead of one lone event followed by the rest.
class HandlerLink final : public HandlerStream, public std::enable_shared_from_this<HandlerLink> {
 public:
  HandlerLink(HandlerReactor* reactor, boost::asio::io_context& broker_io)
      : reactor_(reactor), broker_io_(broker_io) {}

  void send(v1::ServerMessage message) override;
  void close(Status status) override { finish(to_grpc(status)); }

  void finish(grpc::Status status);
  // From OnWriteDone: `writing_msg_` is written; start the next or finish.
  void write_done(bool ok);
  void detach();
  // The service's Register asked for ServerMessage.batch.
  void enable_batches() {
    std::lock_guard lock(mu_);
    batches_ = true;
  }

 private:
  // Writes the front of the queue, or a batch of the client events at its front. Needs mu_ held,
  // no write in flight and a non-empty queue.
  void start_next();
  // The held-back write of a batching link (see above), on the broker thread.
  void flush();

  // Recursive, and callers hold a reference to *this: a reaction gRPC runs inline from
  // StartWrite/Finish must neither deadlock nor destroy the link under our feet.
  std::recursive_mutex mu_;
  HandlerReactor* reactor_;  // null after OnDone
  boost::asio::io_context& broker_io_;
  std::deque<v1::ServerMessage> queue_;  // not written yet
  v1::ServerMessage writing_msg_;        // being written while writing_
  bool writing_ = false;
  bool batches_ = false;
  bool flush_posted_ = false;
  bool finishing_ = false;  // no more writes accepted
  bool finished_ = false;   // Finish called
  grpc::Status finish_status_;
};

class HandlerReactor final : public grpc::ServerBidiReactor<v1::HandlerMessage, v1::ServerMessage> {
 public:
  HandlerReactor(std::shared_ptr<Broker> broker, const grpc::Status& allowed)
      : broker_(std::move(broker)), link_(std::make_shared<HandlerLink>(this, broker_->io())) {
    if (!allowed.ok()) {
      link_->finish(allowed);
      return;
    }
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The service half-closed, went away, or the call was cancelled.
      notify_closed();
      link_->finish(grpc::Status::OK);
      return;
    }
    if (incoming_.has_register_() && incoming_.register_().batches()) link_->enable_batches();
    broker_->on_handler_message(link_, std::move(incoming_));
    incoming_.Clear();
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override { link_->write_done(ok); }

  void OnDone() override {
    link_->detach();
    notify_closed();
    delete this;
  }

 private:
  void notify_closed() {
    if (closed_notified_) return;
    closed_notified_ = true;
    broker_->on_handler_closed(link_);
  }

  std::shared_ptr<Broker> broker_;
  std::shared_ptr<HandlerLink> link_;
  v1::HandlerMessage incoming_;
  bool closed_notified_ = false;  // touched only by OnReadDone/OnDone, which never overlap
};

void HandlerLink::send(v1::ServerMessage message) {
  auto keep = shared_from_this();
  std::lock_guard lock(mu_);
  if (reactor_ == nullptr || finishing_) return;
  if (queue_.size() + (writing_ ? 1 : 0) >= RealtimeService::kMaxHandlerQueue) {
    HLOG_WARN(kLog, "handler stream too slow: closing", {{"queued", queue_.size()}});
    finishing_ = true;
    finish_status_ = {grpc::StatusCode::RESOURCE_EXHAUSTED, "handler too slow"};
    queue_.clear();
    if (!writing_) {
      finished_ = true;
      reactor_->Finish(finish_status_);
    }
    return;
  }
  queue_.push_back(std::move(message));
  if (writing_) return;
  if (!batches_) {
    start_next();
    return;
  }
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(broker_io_, [keep] { keep->flush(); });
}

void HandlerLink::flush() {
  std::lock_guard lock(mu_);
  flush_posted_ = false;
  if (reactor_ == nullptr || writing_ || queue_.empty()) return;
  start_next();
}

void HandlerLink::start_next() {
  writing_msg_ = std::move(queue_.front());
  queue_.pop_front();
  if (batches_ && writing_msg_.has_event() && !queue_.empty() && queue_.front().has_event()) {
    v1::ServerMessage batch;
    auto* events = batch.mutable_batch()->mutable_events();
    size_t bytes = writing_msg_.event().ByteSizeLong();
    events->Add(std::move(*writing_msg_.mutable_event()));
    while (!queue_.empty() && queue_.front().has_event()) {
      const size_t next = queue_.front().event().ByteSizeLong();
      if (bytes + next > RealtimeService::kMaxHandlerBatchBytes) break;
      bytes += next;
      events->Add(std::move(*queue_.front().mutable_event()));
      queue_.pop_front();
    }
    writing_msg_ = std::move(batch);
  }
  writing_ = true;
  reactor_->StartWrite(&writing_msg_);
}

void HandlerLink::finish(grpc::Status status) {
  auto keep = shared_from_this();
  std::lock_guard lock(mu_);
  if (reactor_ == nullptr || finishing_) return;
  finishing_ = true;
  finish_status_ = std::move(status);
  if (writing_) return;  // write_done drains the queue, then finishes
  if (!queue_.empty()) {
    start_next();  // messages held back for a flush still go out first
    return;
  }
  finished_ = true;
  reactor_->Finish(finish_status_);
}

void HandlerLink::write_done(bool ok) {
  auto keep = shared_from_this();
  std::lock_guard lock(mu_);
  writing_ = false;
  writing_msg_.Clear();
  if (reactor_ == nullptr) return;
  if (!ok) {
    // The stream broke; nothing more can be written.
    queue_.clear();
    if (!finishing_) {
      finishing_ = true;
      finish_status_ = grpc::Status::OK;
    }
  }
  if (!queue_.empty()) {
    start_next();  // also drains what was queued before a finish
    return;
  }
  if (finishing_ && !finished_) {
    finished_ = true;
    reactor_->Finish(finish_status_);
  }
}

void HandlerLink::detach() {
  std::lock_guard lock(mu_);
  reactor_ = nullptr;
  queue_.clear();
}

}  // namespace

grpc::ServerBidiReactor<v1::HandlerMessage, v1::ServerMessage>* RealtimeService::HandleEvents(
    grpc::CallbackServerContext* context) {
  return new HandlerReactor(broker_, auth_.check(*context));
}

}  // namespace herald::broker::api
