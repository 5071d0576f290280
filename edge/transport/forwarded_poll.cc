// Owner side of long-polling without sticky sessions: a polling request forwarded by another edge
// (over the bus) runs against the local session on its shard, exactly like a local request
// (HttpConnection::handle_engine's polling paths); the response goes back through `reply`.
#include <boost/asio/post.hpp>
#include <string_view>

#include "common/ids.h"
#include "edge/engineio/eio_session.h"
#include "edge/engineio/handshake.h"
#include "edge/transport/eio_server.h"
#include "edge/transport/shard.h"

namespace herald::edge {
namespace {

// The value of `key` in a query string, undecoded ("" when absent). Only used for "transport",
// whose valid values need no decoding.
std::string_view raw_query_value(std::string_view q, std::string_view key) {
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
  }
  return {};
}

ForwardedResponse error_response(eio::ErrorCode code) {
  ForwardedResponse r;
  r.status = static_cast<unsigned>(eio::error_http_status(code));
  r.content_type = "application/json";
  r.body = eio::error_body(code);
  return r;
}

ForwardedResponse empty_response(unsigned status) {
  ForwardedResponse r;
  r.status = status;
  return r;
}

// A GET (or POST) forwarded from another edge. As the session's PollResponder it holds the GET.
class RemotePoll final : public PollResponder,
                         public ForwardedCall,
                         public std::enable_shared_from_this<RemotePoll> {
 public:
  RemotePoll(Shard& shard, ForwardedReplyFn reply) : shard_(shard), reply_(std::move(reply)) {}

  // Shard thread.
  void run(const ForwardedRequest& request) {
    if (cancelled_) return;
    EioSession* session = shard_.find_session(request.sid);
    if (session == nullptr) return answer(error_response(eio::ErrorCode::kUnknownSid));
    const std::shared_ptr<EioSession> keep = session->shared_from_this();
    if (session->transport() != raw_query_value(request.query, "transport")) {
      return answer(error_response(eio::ErrorCode::kBadRequest));  // "TRANSPORT_MISMATCH"
    }
    ShardCounters::add(shard_.counters().forwarded_in);
    if (request.method == "GET") {
      session_ = keep;  // weak: the session holds us while it holds the GET
      held_ = true;
      if (!session->on_poll(shared_from_this())) {
        held_ = false;
        session_.reset();
        ShardCounters::add(shard_.counters().bad_requests);
        answer(empty_response(400));
      }
      return;
    }
    if (request.method != "POST") return answer(empty_response(500));
    if (request.content_type == "application/octet-stream") {  // "invalid content"
      session->fail("transport error");
      ShardCounters::add(shard_.counters().bad_requests);
      return answer(empty_response(400));
    }
    if (!session->begin_post()) {
      ShardCounters::add(shard_.counters().bad_requests);
      return answer(empty_response(400));
    }
    if (request.body.size() > shard_.config().max_payload) {
      session->abort_post();
      session->fail("transport error");
      ShardCounters::add(shard_.counters().payload_too_large);
      return answer(empty_response(413));
    }
    session->end_post(request.body);
    ForwardedResponse ok;
    ok.content_type = "text/html";
    ok.body = "ok";
    ok.headers.emplace_back("Cache-Control", "no-store");
    answer(std::move(ok));
  }

  // PollResponder (shard thread).
  void respond_poll(std::string body) override {
    held_ = false;
    session_.reset();
    ForwardedResponse r;
    r.content_type = "text/plain; charset=UTF-8";
    r.body = std::move(body);
    r.headers.emplace_back("Cache-Control", "no-store");
    answer(std::move(r));
  }
  void release_poll(unsigned status) override {
    held_ = false;
    session_.reset();
    // 0: the session let go of the GET without answering; the origin must not wait for nothing.
    answer(status == 0 ? error_response(eio::ErrorCode::kUnknownSid) : empty_response(status));
  }

  // ForwardedCall (any thread).
  void cancel() override {
    boost::asio::post(shard_.io(), [self = shared_from_this()] {
      self->cancelled_ = true;
      self->answered_ = true;  // the origin no longer listens
      if (!self->held_) return;
      self->held_ = false;
      auto session = self->session_.lock();
      self->session_.reset();
      if (session) session->on_poll_aborted(*self);  // "poll connection closed prematurely"
    });
  }

 private:
  void answer(ForwardedResponse r) {
    if (answered_) return;
    answered_ = true;
    auto reply = std::move(reply_);
    if (reply) reply(std::move(r));
  }

  Shard& shard_;
  ForwardedReplyFn reply_;
  std::weak_ptr<EioSession> session_;  // while the GET is held
  bool held_ = false;
  bool answered_ = false;
  bool cancelled_ = false;
};

}  // namespace

std::shared_ptr<ForwardedCall> EioServer::serve_forwarded(ForwardedRequest request,
                                                          ForwardedReplyFn reply) {
  const auto parts = parse_id(request.sid);
  if (!ctx_ || stopped_ || !parts || parts->edge_tag != ctx_->edge_tag ||
      parts->shard >= ctx_->shards.size()) {
    if (reply) reply(error_response(eio::ErrorCode::kUnknownSid));
    return nullptr;
  }
  Shard& shard = *ctx_->shards[parts->shard];
  auto call = std::make_shared<RemotePoll>(shard, std::move(reply));
  boost::asio::post(shard.io(), [call, request = std::move(request)] { call->run(request); });
  return call;
}

}  // namespace herald::edge
