// Broker: sessions, client events, HandleEvents routing and deadlines, on one thread.
#include "broker/core/broker.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <random>

#include "broker/auth/token_source.h"
#include "broker/policy/glob.h"
#include "common/log/log.h"

namespace herald::broker {

namespace {

constexpr std::string_view kLog = "broker";

int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t random_u64() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// '[' ... ']' around optional JSON whitespace: the shape of the arguments an edge sends, checked
// without parsing them.
bool looks_like_array(std::string_view json) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!json.empty() && space(json.front())) json.remove_prefix(1);
  while (!json.empty() && space(json.back())) json.remove_suffix(1);
  return json.size() >= 2 && json.front() == '[' && json.back() == ']';
}

ClientError client_error(ClientErrorCode code, std::string message) {
  return ClientError{code, std::move(message), nullptr};
}

internal::ErrorInfo to_error_info(const ClientError& error) {
  internal::ErrorInfo info;
  info.set_code(std::string(to_string(error.code)));
  info.set_message(error.message);
  if (!error.details.is_null()) info.set_details_json(error.details.dump());
  return info;
}

ClientErrorCode to_client_code(auth::TokenError error) {
  switch (error) {
    case auth::TokenError::kMissingToken:
      return ClientErrorCode::kMissingToken;
    case auth::TokenError::kExpiredToken:
      return ClientErrorCode::kExpiredToken;
    case auth::TokenError::kInvalidToken:
      return ClientErrorCode::kInvalidToken;
  }
  return ClientErrorCode::kInvalidToken;
}

// Codes a handler may answer with; anything else is reported to the client as INTERNAL.
bool parse_handler_code(std::string_view code, ClientErrorCode* out) {
  static constexpr ClientErrorCode kCodes[] = {
      ClientErrorCode::kValidationFailed, ClientErrorCode::kForbidden,
      ClientErrorCode::kRateLimited,      ClientErrorCode::kUnknownEvent,
      ClientErrorCode::kPayloadTooLarge,  ClientErrorCode::kUnavailable,
      ClientErrorCode::kInternal};
  for (ClientErrorCode c : kCodes) {
    if (to_string(c) == code) {
      *out = c;
      return true;
    }
  }
  return false;
}

std::string lookup(const google::protobuf::Map<std::string, std::string>& map,
                   const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? std::string() : it->second;
}

}  // namespace

void apply_config(const BrokerConfig& config, BrokerOptions* options) {
  options->policy = config.policy ? config.policy : default_policy();
  options->on_expiry = config.auth.on_expiry;
  options->grace_s = config.auth.grace_s;
  options->api = config.api;
  options->presence_events = config.presence_events;
}

std::string_view BrokerCounters::slot_name(size_t slot) {
  if (slot >= kInvalidNamespaceSlot) return "INVALID_NAMESPACE";
  return to_string(static_cast<ClientErrorCode>(slot));
}

std::shared_ptr<Broker> Broker::create(boost::asio::io_context& io, bus::Bus& bus,
                                       BrokerOptions options) {
  return std::shared_ptr<Broker>(new Broker(io, bus, std::move(options)));
}

Broker::Broker(boost::asio::io_context& io, bus::Bus& bus, BrokerOptions options)
    : io_(io),
      bus_(bus),
      options_(std::move(options)),
      fanout_(bus, bus::Subjects(options_.cluster_prefix), options_.broker_id) {
  if (!options_.clock) options_.clock = system_ms;
  if (!options_.policy) options_.policy = std::make_shared<const policy::PolicySet>();
  limits_.max_payload_bytes = options_.api.max_payload_bytes;
  limits_.max_rooms = options_.api.max_rooms_per_request;
  PresenceSyncOptions sync;
  sync.broker_id = options_.broker_id;
  sync.broker_address = options_.edgelink_address;
  sync.boot_id = random_u64();
  sync.heartbeat_interval_ms = options_.heartbeat_interval_ms;
  sync.registry.heartbeat_timeout_ms = options_.heartbeat_timeout_ms;
  sync.registry.snapshot_retry_ms = std::max<int64_t>(options_.heartbeat_interval_ms * 2, 100);
  presence_ = std::make_shared<PresenceSync>(io_.get_executor(), bus_,
                                             bus::Subjects(options_.cluster_prefix),
                                             std::move(sync), options_.clock);
  if (options_.run_timers) timer_ = std::make_unique<boost::asio::steady_timer>(io_);
  // Both run on the broker thread (Fanout is only used there; PresenceSync ticks there).
  fanout_.set_fallback(
      [this](const std::string& edge_id, const std::string& subject,
             const bus::EnvelopePtr& envelope) { send_fallback(edge_id, subject, envelope); });
  presence_->set_routes_provider([this] { return local_routes(); });
}

Broker::~Broker() = default;

void Broker::start() {
  post([](Broker& self) {
    self.presence_->start(self.options_.run_timers);
    std::weak_ptr<Broker> weak = self.weak_from_this();
    self.reply_sub_ = self.bus_.subscribe(
        bus::Subjects(self.options_.cluster_prefix).broker(self.options_.broker_id),
        [weak](const std::string&, const bus::EnvelopePtr& envelope) {
          if (envelope->kind_case() != bus::Envelope::kHandledEventReply) return;
          auto broker = weak.lock();
          if (!broker) return;
          broker->post([envelope](Broker& b) {
            internal::HandledEventReply reply = envelope->handled_event_reply();
            b.handle_peer_reply(reply);
          });
        });
    HLOG_INFO(kLog, "broker started", {{"broker", self.options_.broker_id}});
  });
}

void Broker::stop() {
  post([](Broker& self) {
    if (self.stopped_) return;
    self.stopped_ = true;
    self.presence_->stop();
    self.reply_sub_.reset();
    self.handle_subs_.clear();
    if (self.timer_) self.timer_->cancel();
    auto emits = std::move(self.emits_);
    self.emits_.clear();
    for (auto& [id, pending] : emits) {
      if (pending.done) pending.done(unavailable("broker is shutting down"), {});
    }
    std::vector<HandlerStream*> streams;
    for (auto& [ptr, info] : self.handlers_) streams.push_back(ptr);
    for (HandlerStream* stream : streams) {
      auto it = self.handlers_.find(stream);
      if (it == self.handlers_.end()) continue;
      std::shared_ptr<HandlerStream> keep = it->second.stream;
      self.do_handler_closed(stream);
      keep->close(unavailable("broker is shutting down"));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Edges

void Broker::on_edge_message(std::shared_ptr<EdgeConnection> from, internal::EdgeToBroker message) {
  post([from = std::move(from), message = std::move(message)](Broker& self) mutable {
    self.handle_edge_message(from, message);
  });
}

void Broker::on_edge_messages(std::shared_ptr<EdgeConnection> from,
                              std::vector<internal::EdgeToBroker> messages) {
  post([from = std::move(from), messages = std::move(messages)](Broker& self) mutable {
    for (auto& queued : messages) {
      // Each message is freed once handled, as when they come one by one.
      internal::EdgeToBroker message = std::move(queued);
      self.handle_edge_message(from, message);
    }
  });
}

void Broker::handle_edge_message(const std::shared_ptr<EdgeConnection>& from,
                                 internal::EdgeToBroker& message) {
  if (!from) return;
  edges_[from->edge_id()] = from;
  switch (message.kind_case()) {
    case internal::EdgeToBroker::kHello:
      HLOG_INFO(kLog, "edge connected",
                {{"edge", from->edge_id()}, {"version", message.hello().version()}});
      break;
    case internal::EdgeToBroker::kOpen:
      handle_open(from, *message.mutable_open());
      break;
    case internal::EdgeToBroker::kClose:
      handle_close(from, message.close());
      break;
    case internal::EdgeToBroker::kEvent:
      handle_event(from, *message.mutable_event());
      break;
    case internal::EdgeToBroker::kAck:
      handle_ack(*message.mutable_ack());
      break;
    default:
      break;
  }
}

void Broker::on_edge_closed(std::shared_ptr<EdgeConnection> from) {
  post([from = std::move(from)](Broker& self) { self.do_edge_closed(from); });
}

void Broker::do_edge_closed(const std::shared_ptr<EdgeConnection>& conn) {
  if (!conn) return;
  std::vector<std::string> gone;
  for (const Session& session : sessions_) {
    if (session.conn == conn) gone.emplace_back(session.socket_id.view());
  }
  for (const std::string& id : gone) remove_session(id, "transport close");
  std::erase_if(calls_, [&](const auto& entry) { return entry.second.conn == conn; });
  auto it = edges_.find(conn->edge_id());
  if (it != edges_.end() && it->second.lock() == conn) edges_.erase(it);
  HLOG_INFO(kLog, "edge disconnected", {{"edge", conn->edge_id()}, {"sessions", gone.size()}});
}

policy::TokenVerification Broker::verify_token(const std::string& token,
                                               int64_t* expires_at_ms) const {
  policy::TokenVerification out;
  *expires_at_ms = 0;
  if (!options_.verifier) {
    out.error = ClientErrorCode::kInvalidToken;
    out.message = "token verification is not configured";
    return out;
  }
  auth::TokenResult result = options_.verifier->verify(token);
  if (!result.ok()) {
    out.error = to_client_code(result.error());
    out.message = result.reason();
    return out;
  }
  out.ok = true;
  *expires_at_ms = result->expires_at_ms;
  out.sub = result->subject;
  out.claims = std::move(result->claims);
  return out;
}

void Broker::handle_open(const std::shared_ptr<EdgeConnection>& conn, internal::SessionOpen& open) {
  const std::string socket_id = open.socket_id();
  if (sessions_.count(socket_id)) remove_session(socket_id, "replaced");
  const std::string ns = open.ns().empty() ? "/" : open.ns();

  std::shared_ptr<const policy::PolicySet> set = options_.policy;
  policy::NamespaceMatch match;
  const policy::NamespacePolicy* ns_policy = set->find(ns, &match);
  if (ns_policy == nullptr) {
    internal::BrokerToEdge out;
    internal::SessionRejected* rejected = out.mutable_rejected();
    rejected->set_socket_id(socket_id);
    rejected->mutable_error()->set_code("INVALID_NAMESPACE");
    rejected->mutable_error()->set_message("Invalid namespace");
    counters_.sessions_rejected.fetch_add(1, std::memory_order_relaxed);
    counters_.connects_refused_by_code[BrokerCounters::kInvalidNamespaceSlot].fetch_add(
        1, std::memory_order_relaxed);
    conn->send(std::move(out));
    return;
  }

  const auto& hs = open.handshake();
  std::string query_token = lookup(hs.query(), "token");
  std::string authorization = lookup(hs.headers(), "authorization");
  std::optional<std::string> token = auth::extract_token_from_auth_json(
      open.auth_json(),
      query_token.empty() ? std::nullopt : std::optional<std::string_view>(query_token),
      authorization.empty() ? std::nullopt : std::optional<std::string_view>(authorization));

  policy::ConnectContext ctx;
  ctx.has_token = token.has_value();
  ctx.match = &match;
  int64_t expires_at_ms = 0;
  if (token && ns_policy->auth != policy::AuthMode::kNone) {
    ctx.token = verify_token(*token, &expires_at_ms);
  }
  policy::ConnectDecision decision = policy::decide_connect(*ns_policy, ctx);
  if (!decision.allowed) {
    HLOG_DEBUG(kLog, "connect refused",
               {{"socket", socket_id},
                {"ns", ns},
                {"code", to_string(decision.error.code)},
                {"reason", decision.error.message}});
    reject(*conn, socket_id, decision.error);
    return;
  }

  const bool resuming = open.has_resume();
  if (resuming && open.resume().user_id() != decision.user_id) {
    reject(*conn, socket_id,
           client_error(ClientErrorCode::kForbidden,
                        "the token names another user than the resumed session"));
    return;
  }

  Session session;
  session.socket_id = CompactId(socket_id);
  session.conn = conn;
  session.space = bind_namespace(std::move(set), ns_policy, std::move(match));
  session.anonymous = decision.anonymous;
  if (!decision.anonymous) session.identity.assign(decision.user_id, ctx.token.claims.dump());
  session.rooms = std::move(decision.rooms);
  if (!decision.user_id.empty()) {
    // Every identified socket is in its user's room, whatever auto_join says (PushToUser).
    std::string user_room = "user:" + decision.user_id;
    if (std::find(session.rooms.begin(), session.rooms.end(), user_room) == session.rooms.end()) {
      session.rooms.insert(session.rooms.begin(), std::move(user_room));
    }
  }
  if (resuming) {
    // A socket re-pinned from a broker that died: its memberships are what the edge has.
    for (const std::string& room : open.resume().rooms()) {
      if (std::find(session.rooms.begin(), session.rooms.end(), room) == session.rooms.end()) {
        session.rooms.push_back(room);
      }
    }
  }
  if (!session.anonymous) session.token_expires_at_ms = expires_at_ms;

  internal::BrokerToEdge out;
  internal::SessionAccepted* accepted = out.mutable_accepted();
  accepted->set_socket_id(socket_id);
  accepted->set_user_id(decision.user_id);
  for (const std::string& room : session.rooms) accepted->add_rooms(room);
  accepted->set_data_json(
      policy::session_data_json(*ns_policy, ctx, decision, session.claims_json()));
  accepted->set_token_expires_at_ms(session.token_expires_at_ms);
  conn->send(std::move(out));

  // Any session under this id was removed above.
  Session& stored = mutable_session(*sessions_.insert(std::move(session)).first);
  counters_.sessions_accepted.fetch_add(1, std::memory_order_relaxed);
  counters_.sessions.store(sessions_.size(), std::memory_order_relaxed);
  schedule_expiry(stored);
  HLOG_DEBUG(kLog, resuming ? "session resumed" : "connect accepted",
             {{"socket", socket_id}, {"ns", ns}, {"user", decision.user_id}});
  if (resuming) return;  // handlers saw its $connect when it first connected
  announce(stored, stored.rooms, true);

  // The handshake's auth object as the client sent it (token included: services are trusted
  // callers, and some re-use it downstream).
  notify_lifecycle(stored, kConnectRoute, open.auth_json(), "");
}

void Broker::reject(EdgeConnection& conn, const std::string& socket_id, const ClientError& error) {
  counters_.sessions_rejected.fetch_add(1, std::memory_order_relaxed);
  counters_.connects_refused_by_code[BrokerCounters::slot(error.code)].fetch_add(
      1, std::memory_order_relaxed);
  internal::BrokerToEdge out;
  internal::SessionRejected* rejected = out.mutable_rejected();
  rejected->set_socket_id(socket_id);
  *rejected->mutable_error() = to_error_info(error);
  conn.send(std::move(out));
}

void Broker::handle_close(const std::shared_ptr<EdgeConnection>& conn,
                          const internal::SessionClose& close) {
  const Session* session = find_session(close.socket_id());
  if (session == nullptr || session->conn != conn) return;
  remove_session(close.socket_id(), close.reason());
}

void Broker::remove_session(std::string_view socket_id, const std::string& reason) {
  auto it = sessions_.find(socket_id);
  if (it == sessions_.end()) return;
  Session& session = mutable_session(*it);
  notify_lifecycle(session, kDisconnectRoute, {}, reason);
  announce(session, session.rooms, false);
  cancel_deadline(session);
  // For pending EmitWithAck calls below; copied now, as socket_id may view the session's id.
  const std::string id_key = emits_.empty() ? std::string() : std::string(socket_id);
  // The namespace's entry goes with its last session (for patterns, names can be many).
  if (session.space.use_count() == 1) {
    auto space = namespaces_.find(std::string_view(session.ns()));
    if (space != namespaces_.end() && space->second.lock() == session.space) {
      namespaces_.erase(space);
    }
  }
  sessions_.erase(it);
  counters_.sessions_closed.fetch_add(1, std::memory_order_relaxed);
  counters_.sessions.store(sessions_.size(), std::memory_order_relaxed);
  // Acks that can no longer come are reported as timed out right away.
  std::vector<uint64_t> done;
  for (auto& [id, pending] : emits_) {
    auto pos = pending.index.find(id_key);
    if (pos == pending.index.end()) continue;
    pending.index.erase(pos);
    if (--pending.remaining == 0) done.push_back(id);
  }
  for (uint64_t id : done) finish_emit(id);
}

std::shared_ptr<const Broker::SessionNamespace> Broker::bind_namespace(
    std::shared_ptr<const policy::PolicySet> set, const policy::NamespacePolicy* policy,
    policy::NamespaceMatch match) {
  auto it = namespaces_.find(std::string_view(match.name));
  if (it != namespaces_.end()) {
    // A policy reload gives new sessions a new one; the old sessions keep theirs.
    std::shared_ptr<const SessionNamespace> bound = it->second.lock();
    if (bound && bound->set == set) return bound;
  } else {
    it = namespaces_.emplace(match.name, std::weak_ptr<const SessionNamespace>()).first;
  }
  auto bound = std::make_shared<const SessionNamespace>(
      SessionNamespace{std::move(set), policy, std::move(match)});
  it->second = bound;
  return bound;
}

void Broker::schedule_expiry(Session& session) {
  // A refresh replaces the previous expiry (or grace).
  cancel_deadline(session);
  if (session.token_expires_at_ms <= 0) return;
  schedule(session, session.token_expires_at_ms);
}

void Broker::announce(const Session& session, const std::vector<std::string>& rooms, bool joined) {
  if (options_.presence_events.empty() || rooms.empty()) return;
  for (const std::string& room : rooms) {
    bool match = false;
    for (const PresenceEventRule& rule : options_.presence_events) {
      if (!policy::glob_match(rule.ns, session.ns())) continue;
      for (const std::string& pattern : rule.rooms)
        match = match || policy::glob_match(pattern, room);
      if (match) break;
    }
    if (!match) continue;
    internal::Delivery delivery;
    delivery.set_ns(session.ns());
    delivery.add_rooms(room);
    delivery.add_except_socket_ids(session.socket_id.str());
    delivery.set_event(std::string(joined ? kPresenceJoinEvent : kPresenceLeaveEvent));
    delivery.set_args_json(nlohmann::json::array({{{"room", room},
                                                   {"user_id", session.user_id()},
                                                   {"socket_id", session.socket_id.view()}}})
                               .dump());
    delivery.set_volatile_(true);
    fanout_.publish(std::move(delivery));
  }
}

void Broker::disconnect_session(Session& session, const std::string& reason) {
  if (reason == "token expired") counters_.token_expiries.fetch_add(1, std::memory_order_relaxed);
  internal::BrokerToEdge out;
  out.mutable_disconnect()->set_socket_id(session.socket_id.str());
  out.mutable_disconnect()->set_reason(reason);
  session.conn->send(std::move(out));
  remove_session(session.socket_id, reason);
}

void Broker::send_verdict(EdgeConnection& conn, const std::string& socket_id, const std::string& ns,
                          bool wants_ack, uint64_t ack_id, std::string args_json,
                          const ClientError* error) {
  if (!wants_ack && error == nullptr) return;  // nothing for the client to see
  internal::BrokerToEdge out;
  internal::EventVerdict* verdict = out.mutable_verdict();
  verdict->set_socket_id(socket_id);
  verdict->set_ns(ns);
  verdict->set_has_ack(wants_ack);
  verdict->set_ack_id(ack_id);
  if (error != nullptr) {
    *verdict->mutable_error() = to_error_info(*error);
  } else {
    verdict->set_args_json(std::move(args_json));
  }
  conn.send(std::move(out));
}

void Broker::send_ok(EdgeConnection& conn, const internal::ClientEvent& event, nlohmann::json ack) {
  if (!event.wants_ack()) return;
  nlohmann::json args = nlohmann::json::array();
  args.push_back(std::move(ack));
  send_verdict(conn, event.socket_id(), event.ns().empty() ? "/" : event.ns(), true, event.ack_id(),
               args.dump(), nullptr);
}

void Broker::send_error(EdgeConnection& conn, const internal::ClientEvent& event,
                        ClientError error) {
  counters_.events_refused.fetch_add(1, std::memory_order_relaxed);
  counters_.events_refused_by_code[BrokerCounters::slot(error.code)].fetch_add(
      1, std::memory_order_relaxed);
  send_verdict(conn, event.socket_id(), event.ns().empty() ? "/" : event.ns(), event.wants_ack(),
               event.ack_id(), "", &error);
}

void Broker::handle_event(const std::shared_ptr<EdgeConnection>& conn,
                          internal::ClientEvent& event) {
  counters_.events.fetch_add(1, std::memory_order_relaxed);
  Session* found = find_session(event.socket_id());
  if (found == nullptr || found->conn != conn) {
    send_error(*conn, event,
               client_error(ClientErrorCode::kUnavailable, "the session is unknown to the broker"));
    return;
  }
  Session& session = *found;

  // The edge validated the arguments as a JSON array; parsing them again is only needed when the
  // policy looks into them (schema, room templates) or for a token refresh. A plain forward, the
  // HandleEvents path, passes the text through with a cheap shape check.
  nlohmann::json args = nlohmann::json::array();
  if (!event.args_json().empty()) {
    bool is_array = false;
    if (event.event() == kRefreshTokenEvent ||
        policy::event_reads_args(session.policy(), event.event())) {
      args = nlohmann::json::parse(event.args_json(), nullptr, /*allow_exceptions=*/false);
      is_array = !args.is_discarded() && args.is_array();
    } else {
      is_array = looks_like_array(event.args_json());
    }
    if (!is_array) {
      send_error(
          *conn, event,
          client_error(ClientErrorCode::kValidationFailed, "arguments are not a JSON array"));
      return;
    }
  }

  if (event.event() == kRefreshTokenEvent) {
    handle_refresh(session, event, args);
    return;
  }

  policy::EventContext ctx;
  ctx.event = event.event();
  ctx.args = &args;
  size_t attachment_bytes = 0;
  for (const std::string& a : event.attachments()) attachment_bytes += a.size();
  ctx.payload_bytes = event.payload_bytes() != 0 ? event.payload_bytes()
                                                 : event.args_json().size() + attachment_bytes;
  ctx.identity.sub = session.user_id();
  nlohmann::json claims;
  if (!session.anonymous && session.policy().events_use_claims) {
    claims = nlohmann::json::parse(session.claims_json(), nullptr, /*allow_exceptions=*/false);
  }
  ctx.identity.claims = session.anonymous ? nullptr : &claims;
  ctx.identity.match = &session.space->match;
  ctx.socket_id = session.socket_id;
  ctx.rooms = session.rooms;
  if (!session.limiter) session.limiter = std::make_unique<policy::RateLimiter>();
  ctx.limiter = session.limiter.get();
  ctx.now = policy::RateClock::now();
  policy::EventDecision decision = policy::decide_event(session.policy(), ctx);

  if (const ClientError* error = decision.error()) {
    send_error(*conn, event, *error);
    return;
  }
  if (auto* relay = std::get_if<policy::RelayAction>(&decision.outcome)) {
    internal::Delivery delivery;
    delivery.set_ns(session.ns());
    for (std::string& room : relay->rooms) delivery.add_rooms(std::move(room));
    if (relay->except_sender) delivery.add_except_socket_ids(session.socket_id.str());
    delivery.set_event(event.event());
    delivery.set_args_json(event.args_json().empty() ? "[]" : event.args_json());
    for (std::string& a : *event.mutable_attachments()) delivery.add_attachments(std::move(a));
    delivery.set_volatile_(relay->is_volatile);
    fanout_.publish(std::move(delivery));
    counters_.relays.fetch_add(1, std::memory_order_relaxed);
    send_ok(*conn, event, {{"ok", true}});
    return;
  }
  if (auto* join = std::get_if<policy::JoinAction>(&decision.outcome)) {
    internal::BrokerToEdge out;
    internal::RoomChange* change = out.mutable_rooms();
    change->add_socket_ids(session.socket_id.str());
    std::vector<std::string> added;
    for (const std::string& room : join->rooms) {
      change->add_join(room);
      if (std::find(session.rooms.begin(), session.rooms.end(), room) == session.rooms.end()) {
        session.rooms.push_back(room);
        added.push_back(room);
      }
    }
    conn->send(std::move(out));
    announce(session, added, true);
    counters_.joins.fetch_add(1, std::memory_order_relaxed);
    send_ok(*conn, event, {{"ok", true}, {"rooms", join->rooms}});
    return;
  }
  if (auto* leave = std::get_if<policy::LeaveAction>(&decision.outcome)) {
    internal::BrokerToEdge out;
    internal::RoomChange* change = out.mutable_rooms();
    change->add_socket_ids(session.socket_id.str());
    std::vector<std::string> removed;
    for (const std::string& room : leave->rooms) {
      change->add_leave(room);
      if (std::erase(session.rooms, room) > 0) removed.push_back(room);
    }
    conn->send(std::move(out));
    announce(session, removed, false);
    counters_.leaves.fetch_add(1, std::memory_order_relaxed);
    send_ok(*conn, event, {{"ok", true}, {"rooms", leave->rooms}});
    return;
  }
  // Forward to a HandleEvents service.
  HandlerStream* handler = pick_handler(session, event.event());
  if (handler == nullptr && forward_to_peer(conn, session, event)) return;
  if (handler == nullptr) {
    counters_.forwards_unavailable.fetch_add(1, std::memory_order_relaxed);
    send_error(*conn, event,
               client_error(ClientErrorCode::kUnavailable,
                            "no service handles '" + event.event() + "' right now"));
    return;
  }
  v1::ServerMessage msg;
  v1::ServerMessage::ClientEvent* out = msg.mutable_event();
  uint64_t call_id = 0;
  if (event.wants_ack()) {
    call_id = next_call_id_++;
    calls_[call_id] =
        PendingCall{handler, session.socket_id.str(), session.ns(), conn, event.ack_id(), {}, 0};
    schedule(options_.clock() + options_.api.handler_timeout_ms,
             Deadline{DeadlineKind::kCall, call_id});
  }
  out->set_call_id(call_id);
  out->set_ns(session.ns());
  out->set_event(event.event());
  out->set_socket_id(session.socket_id.str());
  out->set_user_id(std::string(session.user_id()));
  out->set_claims_json(std::string(session.claims_json()));
  if (event.args_json().empty()) {
    out->set_args_json("[]");
  } else {
    out->set_args_json(std::move(*event.mutable_args_json()));
  }
  for (std::string& a : *event.mutable_attachments()) out->add_attachments(std::move(a));
  out->set_wants_ack(event.wants_ack());
  counters_.forwards.fetch_add(1, std::memory_order_relaxed);
  handlers_.at(handler).stream->send(std::move(msg));
}

void Broker::handle_refresh(Session& session, const internal::ClientEvent& event,
                            const nlohmann::json& args) {
  EdgeConnection& conn = *session.conn;
  std::optional<std::string> token;
  if (!args.empty()) token = auth::token_from_auth(args[0]);
  if (!token) {
    send_error(conn, event,
               client_error(ClientErrorCode::kMissingToken, "expected [{\"token\": \"...\"}]"));
    return;
  }
  if (session.anonymous) {
    send_error(conn, event,
               client_error(ClientErrorCode::kForbidden, "the socket has no identity to refresh"));
    return;
  }
  if (!options_.verifier) {
    send_error(
        conn, event,
        client_error(ClientErrorCode::kInvalidToken, "token verification is not configured"));
    return;
  }
  auth::TokenResult verified = options_.verifier->verify(*token);
  if (!verified.ok()) {
    send_error(conn, event, client_error(to_client_code(verified.error()), verified.reason()));
    return;
  }
  if (verified->subject != session.user_id()) {
    send_error(conn, event,
               client_error(ClientErrorCode::kForbidden,
                            "the new token names another subject than the session's"));
    return;
  }
  // The namespace's claim requirements must still hold.
  policy::ConnectContext ctx;
  ctx.has_token = true;
  ctx.token.ok = true;
  ctx.token.sub = verified->subject;
  ctx.token.claims = verified->claims;
  ctx.match = &session.space->match;
  policy::ConnectDecision decision = policy::decide_connect(session.policy(), ctx);
  if (!decision.allowed) {
    send_error(conn, event, decision.error);
    return;
  }
  session.identity.assign(session.user_id(), verified->claims.dump());
  session.token_expires_at_ms = verified->expires_at_ms;
  session.in_grace = false;
  schedule_expiry(session);
  counters_.token_refreshes.fetch_add(1, std::memory_order_relaxed);
  HLOG_DEBUG(
      kLog, "token refreshed",
      {{"socket", session.socket_id.view()}, {"expires_at_ms", session.token_expires_at_ms}});
  send_ok(conn, event, {{"ok", true}, {"expires_at_ms", session.token_expires_at_ms}});
}

void Broker::handle_ack(internal::ClientAck& ack) {
  auto it = emits_.find(ack.request_id());
  if (it == emits_.end()) return;
  PendingEmit& pending = it->second;
  auto pos = pending.index.find(ack.socket_id());
  if (pos == pending.index.end()) return;
  v1::SocketAck& out = pending.acks[pos->second];
  out.set_timed_out(false);
  out.set_args_json(ack.args_json().empty() ? "[]" : std::move(*ack.mutable_args_json()));
  for (std::string& a : *ack.mutable_attachments()) out.add_attachments(std::move(a));
  pending.index.erase(pos);
  if (--pending.remaining == 0) finish_emit(ack.request_id());
}

void Broker::finish_emit(uint64_t request_id) {
  auto it = emits_.find(request_id);
  if (it == emits_.end()) return;
  PendingEmit pending = std::move(it->second);
  emits_.erase(it);
  counters_.emit_ack_timeouts.fetch_add(pending.index.size(), std::memory_order_relaxed);
  v1::EmitWithAckResponse response;
  for (v1::SocketAck& ack : pending.acks) *response.add_acks() = std::move(ack);
  if (pending.done) pending.done(Status::ok_status(), std::move(response));
}

std::vector<std::string> Broker::session_rooms(const std::string& socket_id) const {
  const Session* session = find_session(socket_id);
  return session == nullptr ? std::vector<std::string>{} : session->rooms;
}

int64_t Broker::session_token_expiry(const std::string& socket_id) const {
  const Session* session = find_session(socket_id);
  return session == nullptr ? 0 : session->token_expires_at_ms;
}

// ---------------------------------------------------------------------------------------------
// HandleEvents

void Broker::on_handler_message(std::shared_ptr<HandlerStream> stream, v1::HandlerMessage message) {
  post([stream = std::move(stream), message = std::move(message)](Broker& self) mutable {
    if (!stream || self.stopped_) return;
    if (message.has_batch()) {
      for (v1::HandlerMessage& m : *message.mutable_batch()->mutable_messages()) {
        self.dispatch_handler_message(stream, m);
      }
      return;
    }
    self.dispatch_handler_message(stream, message);
  });
}

void Broker::dispatch_handler_message(const std::shared_ptr<HandlerStream>& stream,
                                      v1::HandlerMessage& message) {
  switch (message.kind_case()) {
    case v1::HandlerMessage::kRegister:
      handle_register(stream, message.register_());
      break;
    case v1::HandlerMessage::kReply:
      handle_reply(stream.get(), *message.mutable_reply());
      break;
    case v1::HandlerMessage::kEmit:
      handle_handler_emit(*message.mutable_emit());
      break;
    default:
      break;  // a Batch inside a Batch, or a newer service's message kind
  }
}

void Broker::on_handler_closed(std::shared_ptr<HandlerStream> stream) {
  post([stream = std::move(stream)](Broker& self) { self.do_handler_closed(stream.get()); });
}

void Broker::handle_register(const std::shared_ptr<HandlerStream>& stream,
                             const v1::HandlerMessage::Register& reg) {
  HandlerInfo& info = handlers_[stream.get()];
  info.stream = stream;
  if (!reg.service_name().empty()) info.service_name = reg.service_name();
  for (const auto& route : reg.routes()) {
    std::string ns = route.ns().empty() ? "/" : route.ns();
    if (route.event().empty() || ns[0] != '/') continue;
    std::pair<std::string, std::string> key{ns, route.event()};
    if (std::find(info.routes.begin(), info.routes.end(), key) != info.routes.end()) continue;
    info.routes.push_back(key);
    routes_[key].handlers.push_back(stream.get());
  }
  update_handle_subscriptions();
  v1::ServerMessage reply;
  reply.mutable_registered()->set_routes(static_cast<uint32_t>(info.routes.size()));
  reply.mutable_registered()->set_batches(true);
  stream->send(std::move(reply));
  counters_.handlers.store(handlers_.size(), std::memory_order_relaxed);
  HLOG_INFO(kLog, "handler registered",
            {{"service", info.service_name}, {"routes", info.routes.size()}});
}

HandlerStream* Broker::pick_handler(const Session& session, std::string_view event) {
  auto try_key = [&](const std::string& ns) -> HandlerStream* {
    auto it = routes_.find({ns, std::string(event)});
    if (it == routes_.end() || it->second.handlers.empty()) return nullptr;
    RouteEntry& entry = it->second;
    HandlerStream* pick = entry.handlers[entry.next % entry.handlers.size()];
    entry.next = (entry.next + 1) % entry.handlers.size();
    return pick;
  };
  if (HandlerStream* h = try_key(session.ns())) return h;
  if (session.policy().name != session.ns()) return try_key(session.policy().name);
  return nullptr;
}

void Broker::notify_lifecycle(const Session& session, std::string_view route,
                              std::string_view auth_json, std::string reason) {
  HandlerStream* handler = pick_handler(session, route);
  if (handler == nullptr) return;
  std::string auth;  // $connect: the auth object re-encoded compact, {} when absent or invalid
  if (route == kConnectRoute) {
    nlohmann::json obj = nlohmann::json::parse(auth_json, nullptr, /*allow_exceptions=*/false);
    auth = obj.is_object() ? obj.dump() : "{}";
  }
  v1::ServerMessage msg;
  v1::ServerMessage::ClientEvent* out = msg.mutable_event();
  out->set_call_id(0);
  out->set_ns(session.ns());
  out->set_event(std::string(route));
  out->set_socket_id(session.socket_id.str());
  out->set_user_id(std::string(session.user_id()));
  out->set_claims_json(std::string(session.claims_json()));
  out->set_args_json("[]");
  out->set_auth_json(std::move(auth));
  out->set_reason(std::move(reason));
  handlers_.at(handler).stream->send(std::move(msg));
}

void Broker::handle_reply(HandlerStream* stream, v1::HandlerMessage::Reply& reply) {
  auto it = calls_.find(reply.call_id());
  if (it == calls_.end() || it->second.handler != stream) return;  // late, unknown or not theirs
  PendingCall call = std::move(it->second);
  calls_.erase(it);
  if (!call.origin_broker.empty()) {
    reply_to_peer(call, std::move(reply));
    return;
  }
  finish_call(call, reply);
}

void Broker::finish_call(const PendingCall& call, v1::HandlerMessage::Reply& reply) {
  if (!sessions_.count(call.socket_id)) return;  // the socket left meanwhile
  if (!reply.error_code().empty()) {
    ClientErrorCode code = ClientErrorCode::kInternal;
    std::string message = reply.error_message();
    if (!parse_handler_code(reply.error_code(), &code)) {
      HLOG_WARN(kLog, "handler replied with an unknown error code", {{"code", reply.error_code()}});
      message = "the service failed";
    }
    ClientError error = client_error(code, std::move(message));
    send_verdict(*call.conn, call.socket_id, call.ns, true, call.ack_id, "", &error);
    return;
  }
  std::string args = reply.args_json().empty() ? "[]" : std::move(*reply.mutable_args_json());
  Status valid = validate_args(&args, static_cast<size_t>(reply.attachments_size()), 0, limits_);
  if (!valid.ok()) {
    HLOG_WARN(kLog, "handler reply refused", {{"error", valid.message()}});
    ClientError error = client_error(ClientErrorCode::kInternal, "the service sent a bad reply");
    send_verdict(*call.conn, call.socket_id, call.ns, true, call.ack_id, "", &error);
    return;
  }
  internal::BrokerToEdge out;
  internal::EventVerdict* verdict = out.mutable_verdict();
  verdict->set_socket_id(call.socket_id);
  verdict->set_ns(call.ns);
  verdict->set_has_ack(true);
  verdict->set_ack_id(call.ack_id);
  verdict->set_args_json(std::move(args));
  for (std::string& a : *reply.mutable_attachments()) verdict->add_attachments(std::move(a));
  call.conn->send(std::move(out));
}

void Broker::handle_handler_emit(v1::HandlerMessage::Emit& emit) {
  std::string args = std::move(*emit.mutable_args_json());
  size_t bytes = 0;
  for (const std::string& a : emit.attachments()) bytes += a.size();
  Status valid = validate_event_name(emit.event(), limits_);
  if (valid.ok()) valid = validate_args(&args, emit.attachments_size(), bytes, limits_);
  if (!valid.ok()) {
    HLOG_WARN(kLog, "handler emit refused", {{"error", valid.message()}});
    return;
  }
  std::string ns = emit.ns();
  if (ns.empty()) {
    const Session* session = find_session(emit.socket_id());
    ns = session != nullptr ? session->ns() : "/";
  }
  internal::BrokerToEdge out;
  internal::EmitToSocket* e = out.mutable_emit();
  e->set_socket_id(emit.socket_id());
  e->set_ns(ns);
  e->set_event(emit.event());
  e->set_args_json(std::move(args));
  for (std::string& a : *emit.mutable_attachments()) e->add_attachments(std::move(a));
  if (!send_to_socket(emit.socket_id(), std::move(out))) {
    HLOG_DEBUG(kLog, "handler emit to an unknown socket", {{"socket", emit.socket_id()}});
  }
}

void Broker::do_handler_closed(HandlerStream* stream) {
  auto it = handlers_.find(stream);
  if (it == handlers_.end()) return;
  for (const auto& key : it->second.routes) {
    auto route = routes_.find(key);
    if (route == routes_.end()) continue;
    std::erase(route->second.handlers, stream);
    if (route->second.handlers.empty()) routes_.erase(route);
  }
  update_handle_subscriptions();
  HLOG_INFO(kLog, "handler gone", {{"service", it->second.service_name}});
  handlers_.erase(it);
  counters_.handlers.store(handlers_.size(), std::memory_order_relaxed);
  std::vector<uint64_t> orphaned;
  for (const auto& [id, call] : calls_) {
    if (call.handler == stream) orphaned.push_back(id);
  }
  std::sort(orphaned.begin(), orphaned.end());
  for (uint64_t id : orphaned) {
    PendingCall call = std::move(calls_.at(id));
    calls_.erase(id);
    if (!call.origin_broker.empty()) {
      v1::HandlerMessage::Reply reply;
      reply.set_error_code("UNAVAILABLE");
      reply.set_error_message("the service handling this event went away");
      reply_to_peer(call, std::move(reply));
      continue;
    }
    if (!sessions_.count(call.socket_id)) continue;
    counters_.forwards_unavailable.fetch_add(1, std::memory_order_relaxed);
    ClientError error =
        client_error(ClientErrorCode::kUnavailable, "the service handling this event went away");
    send_verdict(*call.conn, call.socket_id, call.ns, true, call.ack_id, "", &error);
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster: handlers on other brokers, fan-out while the bus is down

std::vector<std::string> Broker::local_routes() const {
  std::vector<std::string> out;
  for (const auto& [key, entry] : routes_) {
    if (!entry.handlers.empty()) out.push_back(key.first + " " + key.second);
  }
  return out;
}

void Broker::update_handle_subscriptions() {
  if (stopped_) return;
  const bus::Subjects subjects(options_.cluster_prefix);
  // One queue-group subscription per (ns, event) with a local handler: each event published there
  // goes to one of the brokers that can handle it.
  for (auto it = handle_subs_.begin(); it != handle_subs_.end();) {
    it = routes_.count(it->first) ? std::next(it) : handle_subs_.erase(it);
  }
  std::weak_ptr<Broker> weak = weak_from_this();
  for (const auto& [key, entry] : routes_) {
    if (entry.handlers.empty() || handle_subs_.count(key)) continue;
    handle_subs_[key] = bus_.subscribe(
        subjects.handle(key.first, key.second),
        [weak](const std::string&, const bus::EnvelopePtr& envelope) {
          if (envelope->kind_case() != bus::Envelope::kHandledEvent) return;
          auto broker = weak.lock();
          if (!broker) return;
          broker->post([envelope](Broker& b) {
            internal::HandledEvent handled = envelope->handled_event();
            b.handle_peer_event(handled);
          });
        },
        "handle:" + bus::encode_token(key.first) + ":" + bus::encode_token(key.second));
  }
}

bool Broker::forward_to_peer(const std::shared_ptr<EdgeConnection>& conn, const Session& session,
                             internal::ClientEvent& event) {
  if (bus_.state() != bus::BusState::kConnected) return false;
  std::string route_ns;
  if (presence_->peer_handles(session.ns() + " " + event.event())) {
    route_ns = session.ns();
  } else if (session.policy().name != session.ns() &&
             presence_->peer_handles(session.policy().name + " " + event.event())) {
    route_ns = session.policy().name;
  } else {
    return false;
  }
  auto envelope = std::make_shared<bus::Envelope>();
  internal::HandledEvent* handled = envelope->mutable_handled_event();
  uint64_t call_id = 0;
  if (event.wants_ack()) {
    // The call stays here: the verdict goes to the socket on its own stream, and the handler
    // timeout is this broker's.
    call_id = next_call_id_++;
    calls_[call_id] =
        PendingCall{nullptr, session.socket_id.str(), session.ns(), conn, event.ack_id(), {}, 0};
    schedule(options_.clock() + options_.api.handler_timeout_ms,
             Deadline{DeadlineKind::kCall, call_id});
  }
  const std::string name = event.event();
  event.set_ns(session.ns());
  if (event.args_json().empty()) event.set_args_json("[]");
  *handled->mutable_event() = std::move(event);
  handled->set_route_ns(route_ns);
  handled->set_user_id(std::string(session.user_id()));
  handled->set_claims_json(std::string(session.claims_json()));
  handled->set_origin_broker(options_.broker_id);
  handled->set_call_id(call_id);
  bus_.publish(bus::Subjects(options_.cluster_prefix).handle(route_ns, name), std::move(envelope));
  counters_.forwards.fetch_add(1, std::memory_order_relaxed);
  counters_.forwards_to_peers.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Broker::handle_peer_event(internal::HandledEvent& handled) {
  if (stopped_) return;
  internal::ClientEvent& event = *handled.mutable_event();
  PendingCall call{nullptr, event.socket_id(),       event.ns(),       nullptr,
                   0,       handled.origin_broker(), handled.call_id()};
  HandlerStream* handler = nullptr;
  if (auto it = routes_.find({handled.route_ns(), event.event()});
      it != routes_.end() && !it->second.handlers.empty()) {
    RouteEntry& entry = it->second;
    handler = entry.handlers[entry.next % entry.handlers.size()];
    entry.next = (entry.next + 1) % entry.handlers.size();
  }
  if (handler == nullptr) {  // the handler left since the peer looked
    if (handled.call_id() != 0) {
      v1::HandlerMessage::Reply reply;
      reply.set_error_code("UNAVAILABLE");
      reply.set_error_message("no service handles '" + event.event() + "' right now");
      reply_to_peer(call, std::move(reply));
    }
    return;
  }
  v1::ServerMessage msg;
  v1::ServerMessage::ClientEvent* out = msg.mutable_event();
  uint64_t call_id = 0;
  if (handled.call_id() != 0) {
    call_id = next_call_id_++;
    call.handler = handler;
    calls_[call_id] = call;
    schedule(options_.clock() + options_.api.handler_timeout_ms,
             Deadline{DeadlineKind::kCall, call_id});
  }
  out->set_call_id(call_id);
  out->set_ns(event.ns());
  out->set_event(event.event());
  out->set_socket_id(event.socket_id());
  out->set_user_id(handled.user_id());
  out->set_claims_json(handled.claims_json().empty() ? "{}" : handled.claims_json());
  out->set_args_json(event.args_json().empty() ? "[]" : event.args_json());
  for (std::string& a : *event.mutable_attachments()) out->add_attachments(std::move(a));
  out->set_wants_ack(event.wants_ack());
  counters_.forwards_from_peers.fetch_add(1, std::memory_order_relaxed);
  handlers_.at(handler).stream->send(std::move(msg));
}

void Broker::reply_to_peer(const PendingCall& call, v1::HandlerMessage::Reply reply) {
  auto envelope = std::make_shared<bus::Envelope>();
  internal::HandledEventReply* out = envelope->mutable_handled_event_reply();
  out->set_call_id(call.origin_call_id);
  if (!reply.error_code().empty()) {
    out->mutable_error()->set_code(reply.error_code());
    out->mutable_error()->set_message(reply.error_message());
  } else {
    out->set_args_json(std::move(*reply.mutable_args_json()));
    for (std::string& a : *reply.mutable_attachments()) out->add_attachments(std::move(a));
  }
  bus_.publish(bus::Subjects(options_.cluster_prefix).broker(call.origin_broker),
               std::move(envelope));
}

void Broker::handle_peer_reply(internal::HandledEventReply& reply) {
  auto it = calls_.find(reply.call_id());
  // Ours and handed to a peer (a local handler's call has its stream set).
  if (it == calls_.end() || it->second.handler != nullptr || !it->second.origin_broker.empty()) {
    return;
  }
  PendingCall call = std::move(it->second);
  calls_.erase(it);
  v1::HandlerMessage::Reply r;
  r.set_call_id(reply.call_id());
  if (reply.has_error() && !reply.error().code().empty()) {
    r.set_error_code(reply.error().code());
    r.set_error_message(reply.error().message());
  } else {
    r.set_args_json(std::move(*reply.mutable_args_json()));
    for (std::string& a : *reply.mutable_attachments()) r.add_attachments(std::move(a));
  }
  finish_call(call, r);
}

void Broker::send_fallback(const std::string& edge_id, const std::string& subject,
                           const bus::EnvelopePtr& envelope) {
  counters_.bus_fallbacks.fetch_add(1, std::memory_order_relaxed);
  internal::BrokerToEdge out;
  internal::BusFallback* fallback = out.mutable_bus_fallback();
  fallback->set_subject(subject);
  envelope->SerializeToString(fallback->mutable_envelope());
  if (!edge_id.empty()) {
    auto it = edges_.find(edge_id);
    if (it == edges_.end()) return;
    if (auto conn = it->second.lock()) conn->send(std::move(out));
    return;
  }
  for (const auto& [id, weak] : edges_) {
    if (auto conn = weak.lock()) conn->send(out);
  }
}

// ---------------------------------------------------------------------------------------------
// Deadlines

void Broker::schedule(int64_t at_ms, Deadline deadline) {
  deadlines_.emplace(at_ms, deadline);
  if (timer_ && at_ms < armed_at_ms_) arm_timer();
}

void Broker::schedule(Session& session, int64_t at_ms) {
  std::vector<Session*>& bucket = session_deadlines_[at_ms];
  session.deadline_pos = static_cast<uint32_t>(bucket.size());
  bucket.push_back(&session);
  session.deadline_at_ms = at_ms;
  session.has_deadline = true;
  ++session_deadline_count_;
  if (timer_ && at_ms < armed_at_ms_) arm_timer();
}

void Broker::cancel_deadline(Session& session) {
  if (!session.has_deadline) return;
  session.has_deadline = false;
  --session_deadline_count_;
  auto bucket = session_deadlines_.find(session.deadline_at_ms);
  std::vector<Session*>& in = bucket->second;
  Session* last = in.back();
  in.pop_back();
  if (last != &session) {  // swap-remove
    in[session.deadline_pos] = last;
    last->deadline_pos = session.deadline_pos;
  }
  if (in.empty()) session_deadlines_.erase(bucket);
}

int64_t Broker::next_deadline_ms() const {
  int64_t next = INT64_MAX;
  if (!deadlines_.empty()) next = deadlines_.begin()->first;
  if (!session_deadlines_.empty()) next = std::min(next, session_deadlines_.begin()->first);
  return next;
}

void Broker::arm_timer() {
  if (!timer_ || stopped_) return;
  armed_at_ms_ = next_deadline_ms();
  if (armed_at_ms_ == INT64_MAX) {
    timer_->cancel();
    return;
  }
  int64_t delay = std::max<int64_t>(0, armed_at_ms_ - options_.clock());
  timer_->expires_after(std::chrono::milliseconds(delay));
  timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      self->armed_at_ms_ = INT64_MAX;
      self->tick();
    }
  });
}

void Broker::tick() {
  const int64_t now = options_.clock();
  for (int64_t next = next_deadline_ms(); next <= now; next = next_deadline_ms()) {
    if (!session_deadlines_.empty() && session_deadlines_.begin()->first == next) {
      Session& session = *session_deadlines_.begin()->second.back();
      cancel_deadline(session);
      fire(session, now);
    } else {
      Deadline deadline = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      fire(deadline);
    }
  }
  if (timer_ && next_deadline_ms() < armed_at_ms_) arm_timer();
}

void Broker::fire(Session& session, int64_t now) {
  if (session.in_grace) {
    HLOG_DEBUG(kLog, "token grace over: disconnecting", {{"socket", session.socket_id.view()}});
    disconnect_session(session, "token expired");
    return;
  }
  // Stale: the token was refreshed to a later expiry.
  if (session.token_expires_at_ms <= 0 || session.token_expires_at_ms > now) return;
  if (options_.on_expiry == OnExpiry::kDisconnect || options_.grace_s == 0) {
    HLOG_DEBUG(kLog, "token expired: disconnecting", {{"socket", session.socket_id.view()}});
    disconnect_session(session, "token expired");
    return;
  }
  const int64_t disconnect_at_ms = session.token_expires_at_ms + int64_t{options_.grace_s} * 1000;
  session.in_grace = true;
  internal::BrokerToEdge out;
  internal::EmitToSocket* emit = out.mutable_emit();
  emit->set_socket_id(session.socket_id.str());
  emit->set_ns(session.ns());
  emit->set_event(std::string(kTokenExpiredEvent));
  emit->set_args_json(nlohmann::json::array({{{"disconnect_at_ms", disconnect_at_ms}}}).dump());
  session.conn->send(std::move(out));
  schedule(session, disconnect_at_ms);
}

void Broker::fire(const Deadline& deadline) {
  switch (deadline.kind) {
    case DeadlineKind::kEmit: {
      finish_emit(deadline.id);  // whatever is still missing stays timed_out
      return;
    }
    case DeadlineKind::kCall: {
      auto it = calls_.find(deadline.id);
      if (it == calls_.end()) return;
      PendingCall call = std::move(it->second);
      calls_.erase(it);
      if (!call.origin_broker.empty()) return;  // the origin broker times the call out itself
      if (!sessions_.count(call.socket_id)) return;
      counters_.forwards_unavailable.fetch_add(1, std::memory_order_relaxed);
      ClientError error =
          client_error(ClientErrorCode::kUnavailable, "the service did not answer in time");
      send_verdict(*call.conn, call.socket_id, call.ns, true, call.ack_id, "", &error);
      return;
    }
  }
}

}  // namespace herald::broker
