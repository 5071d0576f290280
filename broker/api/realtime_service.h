// RealtimeService: herald.v1.Realtime on gRPC's callback API. Each call checks the caller's bearer
// token, hands the request to the Broker (which answers on its own thread) and finishes from there;
// HandleEvents streams are ServerBidiReactors bridged to the broker as HandlerStreams.
#pragma once

#include <grpcpp/grpcpp.h>

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

class RealtimeService final : public v1::Realtime::CallbackService {
 public:
  // Messages queued for one HandleEvents stream before it is cut off as too slow.
  static constexpr size_t kMaxHandlerQueue = 10000;

  RealtimeService(std::shared_ptr<Broker> broker, CallerAuth auth)
      : broker_(std::move(broker)), auth_(std::move(auth)) {}

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
                                  Response* response,
                                  void (Broker::*method)(Request, Broker::Done<Response>));

  std::shared_ptr<Broker> broker_;
  CallerAuth auth_;
};

}  // namespace herald::broker::api
