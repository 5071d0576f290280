// Broker: the authority for sessions — token checks, namespace policy, client event actions,
// HandleEvents routing, server emits — with all of its state on one io_context thread.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/auth/jwt_verifier.h"
#include "broker/broker_config.h"
#include "broker/compact_id.h"
#include "broker/core/edge_connection.h"
#include "broker/core/handler_stream.h"
#include "broker/core/session_identity.h"
#include "broker/fanout/emit_validation.h"
#include "broker/fanout/fanout.h"
#include "broker/policy/decide.h"
#include "broker/presence/presence_sync.h"
#include "broker/string_hash.h"
#include "common/bus/bus.h"
#include "common/client_error.h"
#include "common/status.h"
#include "herald/internal/edgelink.pb.h"
#include "herald/v1/realtime.pb.h"

namespace herald::broker {

// Reserved client event: [{"token": "<jwt>"}] replaces the socket's token without reconnecting.
// Ack on success: [{"ok": true, "expires_at_ms": <ms or 0>}]; on failure the usual error with code
// MISSING_TOKEN, EXPIRED_TOKEN, INVALID_TOKEN or FORBIDDEN (different subject, policy refusal).
inline constexpr std::string_view kRefreshTokenEvent = "herald:refresh_token";
// Emitted to a socket whose token expired when auth.on_expiry is `grace`:
// [{"disconnect_at_ms": <ms>}]. Refreshing before then keeps the socket.
inline constexpr std::string_view kTokenExpiredEvent = "herald:token_expired";
// HandleEvents lifecycle routes.
inline constexpr std::string_view kConnectRoute = "$connect";
inline constexpr std::string_view kDisconnectRoute = "$disconnect";

// Monotonic counters and gauges, readable from any thread (for /metrics).
struct BrokerCounters {
  std::atomic<uint64_t> sessions_accepted{0};
  std::atomic<uint64_t> sessions_rejected{0};
  std::atomic<uint64_t> sessions_closed{0};
  std::atomic<uint64_t> sessions{0};  // gauge: sessions on this broker
  std::atomic<uint64_t> events{0};    // client events received
  std::atomic<uint64_t> events_refused{0};
  std::atomic<uint64_t> relays{0};
  std::atomic<uint64_t> joins{0};
  std::atomic<uint64_t> leaves{0};
  std::atomic<uint64_t> forwards{0};
  std::atomic<uint64_t> forwards_unavailable{0};  // no handler, handler gone or too slow
  std::atomic<uint64_t> forwards_to_peers{0};     // handed to a peer broker's handler (bus)
  std::atomic<uint64_t> forwards_from_peers{0};   // peers' events given to a local handler
  std::atomic<uint64_t> bus_fallbacks{0};         // fan-out sent on EdgeLink streams (bus down)
  std::atomic<uint64_t> token_refreshes{0};
  std::atomic<uint64_t> token_expiries{0};     // disconnects for an expired token
  std::atomic<uint64_t> api_emits{0};          // PushToUser, Broadcast, EmitWithAck accepted
  std::atomic<uint64_t> api_refused{0};        // API calls refused (validation)
  std::atomic<uint64_t> emit_ack_timeouts{0};  // sockets that did not ack in time
  std::atomic<uint64_t> handlers{0};           // gauge: HandleEvents streams registered

  // Refusals by client error code: slot i is ClientErrorCode(i); the last slot is
  // INVALID_NAMESPACE (a connect to a namespace no policy matches).
  static constexpr size_t kCodeSlots = static_cast<size_t>(ClientErrorCode::kInvalidToken) + 2;
  static constexpr size_t kInvalidNamespaceSlot = kCodeSlots - 1;
  static size_t slot(ClientErrorCode code) { return static_cast<size_t>(code); }
  static std::string_view slot_name(size_t slot);
  std::array<std::atomic<uint64_t>, kCodeSlots> connects_refused_by_code{};  // CONNECT_ERROR
  std::array<std::atomic<uint64_t>, kCodeSlots> events_refused_by_code{};    // error acks/events
};

// Presence events: when a socket joins or leaves a matching room, the room's other members get
// kPresenceJoinEvent / kPresenceLeaveEvent [{"room","user_id","socket_id"}] (volatile).
inline constexpr std::string_view kPresenceJoinEvent = "presence:join";
inline constexpr std::string_view kPresenceLeaveEvent = "presence:leave";

struct BrokerOptions {
  std::string broker_id = "broker";
  std::string cluster_prefix = "herald";
  std::string edgelink_address;                       // advertised in this broker's heartbeat
  std::shared_ptr<const policy::PolicySet> policy;    // required
  std::shared_ptr<const auth::JwtVerifier> verifier;  // null: every presented token is invalid
  OnExpiry on_expiry = OnExpiry::kDisconnect;
  uint32_t grace_s = 30;
  ApiSettings api;
  std::vector<PresenceEventRule> presence_events;  // broker.presence_events
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t heartbeat_timeout_ms = 5000;
  std::function<int64_t()> clock;  // Unix ms; default: the system clock
  // false: no steady timers are armed; the owner calls tick() and presence().tick() (tests).
  bool run_timers = true;
};

// Copies what the broker config section decides (policy, auth.on_expiry/grace_s, api.*,
// presence_events) into `options`; identity, verifier, clock and bus timing stay the caller's.
void apply_config(const BrokerConfig& config, BrokerOptions* options);

class Broker : public std::enable_shared_from_this<Broker> {
 public:
  template <typename Response>
  using Done = std::function<void(Status, Response)>;

  // `io` runs the broker's single thread (the caller runs it); `bus` must outlive the broker.
  static std::shared_ptr<Broker> create(boost::asio::io_context& io, bus::Bus& bus,
                                        BrokerOptions options);
  ~Broker();

  // Subscribes to presence and asks edges for snapshots. Posts; returns at once.
  void start();
  // Fails pending EmitWithAck calls (UNAVAILABLE), closes handler streams, stops timers. Posts.
  void stop();

  // --- edges (any thread) ---
  void on_edge_message(std::shared_ptr<EdgeConnection> from, internal::EdgeToBroker message);
  // Several, in order, handled in one turn of the broker's thread.
  void on_edge_messages(std::shared_ptr<EdgeConnection> from,
                        std::vector<internal::EdgeToBroker> messages);
  // Every session of that edge is gone (as if closed with reason "transport close").
  void on_edge_closed(std::shared_ptr<EdgeConnection> from);

  // --- HandleEvents streams (any thread) ---
  void on_handler_message(std::shared_ptr<HandlerStream> stream, v1::HandlerMessage message);
  // Pending calls of the stream get UNAVAILABLE verdicts; its routes are removed.
  void on_handler_closed(std::shared_ptr<HandlerStream> stream);

  // --- public API (any thread); `done` runs on the broker thread ---
  void push_to_user(v1::PushToUserRequest request, Done<v1::PushToUserResponse> done);
  void broadcast(v1::BroadcastRequest request, Done<v1::BroadcastResponse> done);
  void emit_with_ack(v1::EmitWithAckRequest request, Done<v1::EmitWithAckResponse> done);
  void join_rooms(v1::RoomsRequest request, Done<v1::RoomsResponse> done);
  void leave_rooms(v1::RoomsRequest request, Done<v1::RoomsResponse> done);
  void disconnect(v1::DisconnectRequest request, Done<v1::DisconnectResponse> done);
  void get_presence(v1::GetPresenceRequest request, Done<v1::GetPresenceResponse> done);
  void list_room_members(v1::ListRoomMembersRequest request,
                         Done<v1::ListRoomMembersResponse> done);
  void stats(v1::StatsRequest request, Done<v1::StatsResponse> done);

  // --- broker thread only ---
  // Fires due deadlines (token expiry, grace, EmitWithAck and handler timeouts).
  void tick();
  PresenceSync& presence() { return *presence_; }
  size_t session_count() const { return sessions_.size(); }
  size_t pending_deadlines() const { return deadlines_.size() + session_deadline_count_; }
  size_t handler_count() const { return handlers_.size(); }
  // The rooms the broker believes a socket is in (empty when unknown).
  std::vector<std::string> session_rooms(const std::string& socket_id) const;
  int64_t session_token_expiry(const std::string& socket_id) const;

  const BrokerOptions& options() const { return options_; }
  // Any thread.
  const BrokerCounters& counters() const { return counters_; }
  uint64_t deliveries_published() const { return fanout_.published(); }
  boost::asio::io_context& io() { return io_; }

 private:
  // EmitWithAck and handler call timeouts (sessions' deadlines are session_deadlines_).
  enum class DeadlineKind { kEmit, kCall };
  struct Deadline {
    DeadlineKind kind;
    uint64_t id = 0;  // kEmit: request id; kCall: call id
  };
  using DeadlineMap = std::multimap<int64_t, Deadline>;

  // What a session's namespace resolved to under the policy set it connected with. Shared by
  // the sessions of one namespace (interned in namespaces_): one pointer per session instead of
  // the name, the match and the policy pointers (≈ 110 bytes).
  struct SessionNamespace {
    std::shared_ptr<const policy::PolicySet> set;  // keeps `policy` alive
    const policy::NamespacePolicy* policy = nullptr;
    policy::NamespaceMatch match;  // match.name is the namespace
  };

  struct Session {
    const std::string& ns() const { return space->match.name; }
    const policy::NamespacePolicy& policy() const { return *space->policy; }
    std::string_view user_id() const { return identity.user_id(); }  // "" when anonymous
    std::string_view claims_json() const { return identity.claims_json(); }

    CompactId socket_id;
    std::shared_ptr<EdgeConnection> conn;
    std::shared_ptr<const SessionNamespace> space;
    bool anonymous = true;
    // A session has one pending deadline at most, at deadline_at_ms in session_deadlines_: its
    // token's expiry, or once that passed under auth.on_expiry `grace` (in_grace), the end of
    // the grace period (when the socket goes unless it refreshes).
    bool has_deadline = false;
    bool in_grace = false;
    uint32_t deadline_pos = 0;  // in its session_deadlines_ bucket
    // The verified subject and claims (compact JSON, as handlers get them). Events parse the
    // claims again only when the namespace's templates read them (events_use_claims): a JSON
    // tree per idle socket costs ~380 bytes, the text ~50.
    SessionIdentity identity;
    std::vector<std::string> rooms;
    // Made on the first event: idle sockets keep none.
    std::unique_ptr<policy::RateLimiter> limiter;
    int64_t token_expires_at_ms = 0;
    int64_t deadline_at_ms = 0;
  };

  // Sessions are keyed by their own id (no separate key per node).
  static std::string_view id_of(const Session& s) { return s.socket_id.view(); }
  using SessionSet =
      std::unordered_set<Session, IdKeyHash<Session, &id_of>, IdKeyEq<Session, &id_of>>;
  static Session& mutable_session(const Session& s) {
    return const_cast<Session&>(s);  // NOLINT: the set's key (the id) is never changed
  }
  Session* find_session(std::string_view socket_id) {
    auto it = sessions_.find(socket_id);
    return it == sessions_.end() ? nullptr : &mutable_session(*it);
  }
  const Session* find_session(std::string_view socket_id) const {
    auto it = sessions_.find(socket_id);
    return it == sessions_.end() ? nullptr : &*it;
  }

  struct PendingEmit {
    std::vector<v1::SocketAck> acks;
    std::unordered_map<std::string, size_t> index;  // socket id → acks position
    size_t remaining = 0;
    Done<v1::EmitWithAckResponse> done;
  };

  struct PendingCall {
    HandlerStream* handler = nullptr;  // null: handed to a peer broker over the bus
    std::string socket_id;
    std::string ns;
    std::shared_ptr<EdgeConnection> conn;
    uint64_t ack_id = 0;
    // A call this broker serves for a peer's socket (HandledEvent): where the reply goes.
    std::string origin_broker;
    uint64_t origin_call_id = 0;
  };

  struct HandlerInfo {
    std::shared_ptr<HandlerStream> stream;
    std::string service_name;
    std::vector<std::pair<std::string, std::string>> routes;  // (ns, event)
  };

  struct RouteEntry {
    std::vector<HandlerStream*> handlers;
    size_t next = 0;
  };

  Broker(boost::asio::io_context& io, bus::Bus& bus, BrokerOptions options);

  // Runs f(*this) on the broker thread, unless the broker is gone by then.
  template <typename F>
  void post(F&& f) {
    boost::asio::post(io_, [weak = weak_from_this(), f = std::forward<F>(f)]() mutable {
      if (auto self = weak.lock()) f(*self);
    });
  }

  // JoinRooms / LeaveRooms: same validation and targeting, one RoomCommand either way.
  void change_rooms(v1::RoomsRequest request, Done<v1::RoomsResponse> done, bool join);

  // Edge messages.
  void handle_edge_message(const std::shared_ptr<EdgeConnection>& from,
                           internal::EdgeToBroker& message);
  void handle_open(const std::shared_ptr<EdgeConnection>& conn, internal::SessionOpen& open);
  void handle_close(const std::shared_ptr<EdgeConnection>& conn,
                    const internal::SessionClose& close);
  void handle_event(const std::shared_ptr<EdgeConnection>& conn, internal::ClientEvent& event);
  void handle_ack(internal::ClientAck& ack);
  void handle_refresh(Session& session, const internal::ClientEvent& event,
                      const nlohmann::json& args);
  void do_edge_closed(const std::shared_ptr<EdgeConnection>& conn);

  // Token verification into the policy's terms; *expires_at_ms gets the token's exp (0 = none).
  policy::TokenVerification verify_token(const std::string& token, int64_t* expires_at_ms) const;

  void reject(EdgeConnection& conn, const std::string& socket_id, const ClientError& error);
  void send_verdict(EdgeConnection& conn, const std::string& socket_id, const std::string& ns,
                    bool wants_ack, uint64_t ack_id, std::string args_json,
                    const ClientError* error);
  void send_ok(EdgeConnection& conn, const internal::ClientEvent& event, nlohmann::json ack);
  void send_error(EdgeConnection& conn, const internal::ClientEvent& event, ClientError error);
  void remove_session(std::string_view socket_id, const std::string& reason);
  // The shared SessionNamespace for `match.name` under `set` (made when none is alive).
  std::shared_ptr<const SessionNamespace> bind_namespace(
      std::shared_ptr<const policy::PolicySet> set, const policy::NamespacePolicy* policy,
      policy::NamespaceMatch match);
  void schedule_expiry(Session& session);
  // Publishes presence events for `rooms` of the session that match a presence_events rule.
  void announce(const Session& session, const std::vector<std::string>& rooms, bool joined);
  void disconnect_session(Session& session, const std::string& reason);

  // Handlers.
  // One Register, Reply or Emit (a batch's messages come here one by one, in order).
  void dispatch_handler_message(const std::shared_ptr<HandlerStream>& stream,
                                v1::HandlerMessage& message);
  void handle_register(const std::shared_ptr<HandlerStream>& stream,
                       const v1::HandlerMessage::Register& reg);
  void handle_reply(HandlerStream* stream, v1::HandlerMessage::Reply& reply);
  void handle_handler_emit(v1::HandlerMessage::Emit& emit);
  void do_handler_closed(HandlerStream* stream);
  // Round-robin pick for (ns, event), trying the socket's namespace then its policy's pattern.
  HandlerStream* pick_handler(const Session& session, std::string_view event);
  void notify_lifecycle(const Session& session, std::string_view route, std::string_view auth_json,
                        std::string reason);
  // Cluster: events for handlers on other brokers (<p>.handle.<ns>.<event>, queue group).
  // Returns false when no live peer advertises a handler for the event.
  bool forward_to_peer(const std::shared_ptr<EdgeConnection>& conn, const Session& session,
                       internal::ClientEvent& event);
  void handle_peer_event(internal::HandledEvent& handled);
  void handle_peer_reply(internal::HandledEventReply& reply);
  void reply_to_peer(const PendingCall& call, v1::HandlerMessage::Reply reply);
  // The end of a call: the handler's reply (or error) as the socket's ack verdict.
  void finish_call(const PendingCall& call, v1::HandlerMessage::Reply& reply);
  void update_handle_subscriptions();
  std::vector<std::string> local_routes() const;
  // While the bus is down: a Fanout message sent on the EdgeLink streams instead.
  void send_fallback(const std::string& edge_id, const std::string& subject,
                     const bus::EnvelopePtr& envelope);

  // API helpers.
  template <typename Response>
  void refuse(Status status, Done<Response>& done) {
    counters_.api_refused.fetch_add(1, std::memory_order_relaxed);
    done(std::move(status), Response());
  }
  // PushToUser / Broadcast: completes `delivery` with the request's event, arguments,
  // attachments and volatile flag, publishes it and counts it (defined in broker_api.cc).
  template <typename Request>
  void publish_api_emit(internal::Delivery delivery, Request& req, std::string args);
  // Sends an EmitToSocket to the edge holding the socket; false when no route is known.
  bool send_to_socket(const std::string& socket_id, internal::BrokerToEdge message);
  std::shared_ptr<EdgeConnection> route_for_socket(const std::string& socket_id) const;
  Result<std::vector<std::string>> resolve_target(const std::string& ns, const v1::Target& target);
  Status check_namespace(std::string* ns) const;
  uint32_t apply_room_command(const std::string& ns, const v1::Target& target,
                              internal::RoomCommand command);
  void finish_emit(uint64_t request_id);

  // Deadlines.
  void schedule(int64_t at_ms, Deadline deadline);
  void schedule(Session& session, int64_t at_ms);  // its only deadline
  // Erased with the session: a closed socket's expiry would otherwise wait for the token's
  // lifetime, so memory grew with connection churn × token lifetime.
  void cancel_deadline(Session& session);
  int64_t next_deadline_ms() const;  // INT64_MAX: none
  void arm_timer();
  void fire(const Deadline& deadline);
  void fire(Session& session, int64_t now);

  boost::asio::io_context& io_;
  bus::Bus& bus_;
  BrokerOptions options_;
  EmitLimits limits_;
  Fanout fanout_;
  std::shared_ptr<PresenceSync> presence_;

  // By socket id, without a separate key (the set hashes and compares only Session::socket_id,
  // which never changes, so the rest of a session may change in place: mutable_session).
  SessionSet sessions_;
  // Namespace name → its SessionNamespace while sessions hold it (the entry goes with the last).
  std::unordered_map<std::string, std::weak_ptr<const SessionNamespace>, StringHash,
                     std::equal_to<>>
      namespaces_;
  std::unordered_map<std::string, std::weak_ptr<EdgeConnection>> edges_;  // edge id → connection
  std::unordered_map<HandlerStream*, HandlerInfo> handlers_;
  std::map<std::pair<std::string, std::string>, RouteEntry> routes_;
  std::unordered_map<uint64_t, PendingCall> calls_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<bus::Subscription>> handle_subs_;
  std::unique_ptr<bus::Subscription> reply_sub_;  // <p>.broker.<broker_id>
  std::unordered_map<uint64_t, PendingEmit> emits_;
  uint64_t next_call_id_ = 1;
  uint64_t next_request_id_ = 1;

  BrokerCounters counters_;
  DeadlineMap deadlines_;
  // Sessions by deadline. JWT expiries are whole seconds and sockets connect in bursts, so many
  // sessions share one time: a bucket per time, its sessions in a swap-remove list (each knows
  // its position) costs ≈ 8 bytes per session where a multimap node cost 64. The pointers stay
  // valid: set nodes do not move, and a session leaves its bucket before it is erased.
  std::map<int64_t, std::vector<Session*>> session_deadlines_;
  size_t session_deadline_count_ = 0;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  int64_t armed_at_ms_ = INT64_MAX;
  bool stopped_ = false;
};

}  // namespace herald::broker
