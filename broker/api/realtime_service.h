// RealtimeService: herald.v1.Realtime on gRPC's callback API. Each call checks the caller's bearer
// token, hands the request to the Broker (which answers on its own thread) and finishes from there;
// HandleEvents streams are ServerBidiReactors bridged to the broker as HandlerStreams.
#pragma once

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "broker/core/broker.h"
#include "herald/v1/realtime.grpc.pb.h"

namespace herald::broker::api {

// Checks "authorization: Bearer <token>" against a fixed list (constant-time compares).
class CallerAuth {
 public:
  explicit CallerAuth(std::vector<std::string> bearer_tokens) : tokens_(std::move(bearer_tokens)) {}
  bool enabled() const { return !tokens_.empty(); }
  // OK, or UNAUTHENTICATED with a reason that never echoes the presented token.
  grpc::Status check(const grpc::CallbackServerContext& context) const;

 private:
  std::vector<std::string> tokens_;
};

grpc::Status to_grpc(const Status& status);

enum class ApiMethod {
  kPushToUser,
  kBroadcast,
  kEmitWithAck,
  kJoinRooms,
  kLeaveRooms,
  kDisconnect,
  kGetPresence,
  kListRoomMembers,
  kStats,
  kCount,
};
std::string_view api_method_name(ApiMethod method);

// herald_api_request_duration_seconds{method} and herald_api_requests_total{method,code}, in the
// process's prometheus::Registry. Observed once per unary call, when it finishes.
class ApiMetrics {
 public:
  explicit ApiMetrics(prometheus::Registry& registry);
  void observe(ApiMethod method, double seconds, grpc::StatusCode code);

 private:
  std::array<prometheus::Histogram*, static_cast<size_t>(ApiMethod::kCount)> durations_{};
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
};

class RealtimeService final : public v1::Realtime::CallbackService {
 public:
  // Messages queued for one HandleEvents stream before it is cut off as too slow.
  static constexpr size_t kMaxHandlerQueue = 10000;
  // Upper bound of the client events put in one ServerMessage.batch (their encoded size), well
  // under gRPC's default 4 MiB receive limit of the service; a larger event goes alone.
  static constexpr size_t kMaxHandlerBatchBytes = 256 * 1024;

  RealtimeService(std::shared_ptr<Broker> broker, CallerAuth auth,
                  std::unique_ptr<ApiMetrics> metrics = nullptr)
      : broker_(std::move(broker)), auth_(std::move(auth)), metrics_(std::move(metrics)) {}

  // Unary calls started and not finished yet (a graceful drain waits for them).
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  grpc::ServerUnaryReactor* PushToUser(grpc::CallbackServerContext* context,
                                       const v1::PushToUserRequest* request,
                                       v1::PushToUserResponse* response) override;
  grpc::ServerUnaryReactor* Broadcast(grpc::CallbackServerContext* context,
                                      const v1::BroadcastRequest* request,
                                      v1::BroadcastResponse* response) override;
  grpc::ServerUnaryReactor* EmitWithAck(grpc::CallbackServerContext* context,
                                        const v1::EmitWithAckRequest* request,
                                        v1::EmitWithAckResponse* response) override;
  grpc::ServerUnaryReactor* JoinRooms(grpc::CallbackServerContext* context,
                                      const v1::RoomsRequest* request,
                                      v1::RoomsResponse* response) override;
  grpc::ServerUnaryReactor* LeaveRooms(grpc::CallbackServerContext* context,
                                       const v1::RoomsRequest* request,
                                       v1::RoomsResponse* response) override;
  grpc::ServerUnaryReactor* Disconnect(grpc::CallbackServerContext* context,
                                       const v1::DisconnectRequest* request,
                                       v1::DisconnectResponse* response) override;
  grpc::ServerUnaryReactor* GetPresence(grpc::CallbackServerContext* context,
                                        const v1::GetPresenceRequest* request,
                                        v1::GetPresenceResponse* response) override;
  grpc::ServerUnaryReactor* ListRoomMembers(grpc::CallbackServerContext* context,
                                            const v1::ListRoomMembersRequest* request,
                                            v1::ListRoomMembersResponse* response) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const v1::StatsRequest* request,
                                  v1::StatsResponse* response) override;
  grpc::ServerBidiReactor<v1::HandlerMessage, v1::ServerMessage>* HandleEvents(
      grpc::CallbackServerContext* context) override;

 private:
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* unary(grpc::CallbackServerContext* context, const Request* request,
                                  Response* response, ApiMethod which,
                                  void (Broker::*method)(Request, Broker::Done<Response>));

  std::shared_ptr<Broker> broker_;
  CallerAuth auth_;
  std::unique_ptr<ApiMetrics> metrics_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace herald::broker::api
