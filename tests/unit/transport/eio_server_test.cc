// End-to-end tests of the Engine.IO server over loopback with raw HTTP and websocket clients.
#include "edge/transport/eio_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "common/ids.h"
#include "edge/engineio/eio_session.h"
#include "edge/engineio/outbound.h"
#include "edge/engineio/websocket_connection.h"
#include "tests/unit/transport/eio_test_client.h"

namespace herald::edge {
namespace {

using namespace std::chrono_literals;
using testing::http;
using testing::HttpReply;
using testing::RawConn;
using testing::WsClient;

// Everything the sessions did, for assertions from the test thread.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> closes;
  std::vector<eio::SendResult> results;
  int opens = 0;

  void on_close(std::string_view reason) {
    std::lock_guard lock(mu);
    closes.emplace_back(reason);
    cv.notify_all();
  }
  bool wait_closes(std::size_t n, std::chrono::milliseconds timeout = 3000ms) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return closes.size() >= n; });
  }
  std::vector<std::string> close_reasons() {
    std::lock_guard lock(mu);
    return closes;
  }
};

constexpr std::size_t kSealedSizes[] = {0, 1, 124, 125, 126, 127, 65535, 65536};

eio::SharedMessage text_message(std::string text, bool is_volatile = false) {
  auto m = std::make_shared<eio::OutboundMessage>();
  m->text = std::move(text);
  m->is_volatile = is_volatile;
  return m;
}

// Echoes messages; "bye" closes the session; "flood:N:SIZE" sends N numbered messages.
class EchoHandler : public eio::SessionHandler {
 public:
  EchoHandler(eio::Session& session, Recorder& rec) : session_(session), rec_(rec) {}
  void on_message(std::string_view text) override {
    if (text == "bye") {
      session_.close("forced close");
    } else if (text.substr(0, 6) == "flood:") {
      const std::string spec(text.substr(6));
      const int n = std::stoi(spec);
      const std::size_t size = std::stoul(spec.substr(spec.find(':') + 1));
      for (int i = 0; i < n; ++i) {
        std::string body = std::to_string(i);
        if (body.size() < size) body.append(size - body.size(), '.');
        const auto r = session_.send(text_message(std::move(body)));
        std::lock_guard lock(rec_.mu);
        rec_.results.push_back(r);
        if (r != eio::SendResult::kQueued) break;
      }
    } else if (text == "sealed") {
      // Sizes around the websocket length encodings (7-bit, 16-bit, 64-bit), sealed and not,
      // then a sealed message with an attachment: the wire bytes must not depend on sealing.
      bool seal = true;
      for (std::size_t size : kSealedSizes) {
        auto m = std::make_shared<eio::OutboundMessage>();
        m->text.assign(size, 's');
        if (seal) eio::seal_message(*m);
        seal = !seal;
        session_.send(m);
      }
      auto m = std::make_shared<eio::OutboundMessage>();
      m->text = "bin";
      m->binaries.emplace_back("\x01\x02", 2);
      eio::seal_message(*m);
      session_.send(m);
    } else if (text == "volatile2") {
      const auto a = session_.send(text_message("v1", true));
      const auto b = session_.send(text_message("v2", true));
      std::lock_guard lock(rec_.mu);
      rec_.results.push_back(a);
      rec_.results.push_back(b);
    } else {
      session_.send(text_message(std::string(text)));
    }
  }
  void on_binary(std::string_view data) override {
    auto m = std::make_shared<eio::OutboundMessage>();
    m->text = "bin";
    m->binaries.emplace_back(data);
    session_.send(m);
  }
  void on_close(std::string_view reason) override { rec_.on_close(reason); }

 private:
  eio::Session& session_;
  Recorder& rec_;
};

class EchoFactory : public eio::SessionHandlerFactory {
 public:
  explicit EchoFactory(Recorder& rec) : rec_(rec) {}
  std::unique_ptr<eio::SessionHandler> on_open(eio::Session& session) override {
    {
      std::lock_guard lock(rec_.mu);
      ++rec_.opens;
    }
    return std::make_unique<EchoHandler>(session, rec_);
  }

 private:
  Recorder& rec_;
};

EdgeConfig test_config() {
  EdgeConfig c;
  c.listen = "127.0.0.1:0";
  c.shards = 2;
  c.ping_interval_ms = 300;
  c.ping_timeout_ms = 200;
  c.upgrade_timeout_ms = 1000;
  c.max_payload = 4096;
  c.outbound_queue_bytes = 256 * 1024;
  return c;
}

class EioServerTest : public ::testing::Test {
 protected:
  void start(EdgeConfig config = test_config(), ExtraRoutes extra = {}) {
    auto r = EioServer::create(config, factory_, "TEST", std::move(extra));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    server_ = std::move(r).value();
    server_->start();
    port_ = server_->port();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  std::string base() const { return "/socket.io/?EIO=4&transport=polling"; }

  // Polling handshake; returns the sid.
  std::string handshake(std::string_view headers = {}) {
    auto r = http(port_, "GET", base(), headers);
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->status, 200);
    const std::size_t p = r->body.find("\"sid\":\"");
    EXPECT_NE(p, std::string::npos) << r->body;
    if (p == std::string::npos) return {};
    return r->body.substr(p + 7, kIdLength);
  }

  Recorder rec_;
  EchoFactory factory_{rec_};
  std::unique_ptr<EioServer> server_;
  uint16_t port_ = 0;
};

TEST_F(EioServerTest, PollingHandshake) {
  start();
  auto r = http(port_, "GET", base());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(r->body.substr(0, 9), "0{\"sid\":\"");
  const std::string sid = r->body.substr(9, kIdLength);
  EXPECT_TRUE(parse_id(sid).has_value());
  EXPECT_EQ(sid.substr(0, 4), "TEST");
  EXPECT_EQ(r->body.substr(9 + kIdLength),
            "\",\"upgrades\":[\"websocket\"],\"pingInterval\":300,\"pingTimeout\":200,"
            "\"maxPayload\":4096}");
  EXPECT_EQ(server_->stats().sessions, 1u);
}

TEST_F(EioServerTest, HttpErrorsMatchTheReferenceServer) {
  start();
  struct Case {
    std::string method, target;
    int status;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"GET", "/socket.io/?EIO=4&transport=carrier-pigeon", 400,
       R"({"code":0,"message":"Transport unknown"})"},
      {"GET", "/socket.io/?EIO=4&transport=polling&sid=TESTAAAAAAAAAAAAAAAA", 400,
       R"({"code":1,"message":"Session ID unknown"})"},
      {"POST", "/socket.io/?EIO=4&transport=polling", 400,
       R"({"code":2,"message":"Bad handshake method"})"},
      {"GET", "/socket.io/?EIO=4&transport=websocket", 400,
       R"({"code":3,"message":"Bad request"})"},
      {"GET", "/socket.io/?EIO=3&transport=polling", 400,
       R"({"code":5,"message":"Unsupported protocol version"})"},
  };
  for (const Case& c : cases) {
    auto r = http(port_, c.method, c.target);
    ASSERT_TRUE(r) << c.target;
    EXPECT_EQ(r->status, c.status) << c.target;
    EXPECT_EQ(r->header("content-type"), "application/json") << c.target;
    EXPECT_EQ(r->body, c.body) << c.target;
  }
  // Transport mismatch on an existing session is a bad request too.
  const std::string sid = handshake();
  auto r = http(port_, "GET", "/socket.io/?EIO=4&transport=websocket&sid=" + sid);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"code":3,"message":"Bad request"})");
  EXPECT_GE(server_->stats().bad_requests, 6u);
}

TEST_F(EioServerTest, ForbiddenOriginIsCode4) {
  EdgeConfig c = test_config();
  c.cors.origins = {"https://app.example.com"};
  start(c);
  auto r = http(port_, "GET", base(), "Origin: https://evil.example.com\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, R"({"code":4,"message":"Forbidden"})");
  EXPECT_EQ(r->header("access-control-allow-origin"), "");
}

TEST_F(EioServerTest, PostThenPollEchoes) {
  start();
  const std::string sid = handshake();
  const std::string q = base() + "&sid=" + sid;
  auto post = http(port_, "POST", q, "Content-Type: text/plain;charset=UTF-8\r\n",
                   "4hello\x1e"
                   "4world");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "ok");
  EXPECT_EQ(post->header("content-type"), "text/html");
  auto get = http(port_, "GET", q);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body,
            "4hello\x1e"
            "4world");
  // Binary in a polling payload: 'b' + base64, echoed as text + binary attachment.
  ASSERT_TRUE(http(port_, "POST", q, {}, "bAQID"));
  get = http(port_, "GET", q);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body,
            "4bin\x1e"
            "bAQID");
}

TEST_F(EioServerTest, PostOverMaxPayloadIs413AndClosesTheSession) {
  start();
  const std::string sid = handshake();
  const std::string q = base() + "&sid=" + sid;
  auto post = http(port_, "POST", q, {}, "4" + std::string(5000, 'x'));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 413);
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "transport error");
  auto get = http(port_, "GET", q);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, R"({"code":1,"message":"Session ID unknown"})");
  EXPECT_EQ(server_->stats().payload_too_large, 1u);
}

TEST_F(EioServerTest, ConcurrentGetClosesTheSession) {
  start();
  const std::string sid = handshake();
  const std::string q = base() + "&sid=" + sid;
  RawConn first(port_);
  ASSERT_TRUE(first.write(testing::make_request("GET", q)));
  std::this_thread::sleep_for(50ms);  // let the first GET be held
  auto second = http(port_, "GET", q);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 400);
  std::string buf;
  auto held = testing::read_reply(first, buf);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->body, "1");
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "transport error");
}

TEST_F(EioServerTest, PollingPingAndPingTimeout) {
  start();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string sid = handshake();
  const std::string q = base() + "&sid=" + sid;
  auto get = http(port_, "GET", q);  // held until the ping
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "2");
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 250ms);
  EXPECT_LE(waited, 1000ms);
  // Answer once: the session lives on.
  ASSERT_TRUE(http(port_, "POST", q, {}, "3"));
  get = http(port_, "GET", q);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "2");
  // Do not answer: dropped after pingTimeout.
  ASSERT_TRUE(rec_.wait_closes(1, 1500ms));
  EXPECT_EQ(rec_.close_reasons()[0], "ping timeout");
  EXPECT_EQ(server_->stats().ping_timeouts, 1u);
}

TEST_F(EioServerTest, WebSocketHandshakeMessagesAndBinary) {
  start();
  WsClient ws(port_);
  auto reply = ws.connect("/socket.io/?EIO=4&transport=websocket");
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 101);
  EXPECT_EQ(reply->header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  auto open = ws.read_text();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->substr(0, 9), "0{\"sid\":\"");
  EXPECT_NE(open->find("\"upgrades\":[]"), std::string::npos);
  ASSERT_TRUE(ws.send_text("4hello"));
  EXPECT_EQ(ws.read_text(), "4hello");
  ASSERT_TRUE(ws.send(ws::Opcode::kBinary, std::string("\x00\x01\xff", 3)));
  EXPECT_EQ(ws.read_text(), "4bin");
  auto bin = ws.read();
  ASSERT_TRUE(bin);
  EXPECT_EQ(bin->opcode, ws::Opcode::kBinary);
  EXPECT_EQ(bin->payload, std::string("\x00\x01\xff", 3));
  EXPECT_EQ(server_->stats().websocket_sessions, 1u);
}

// The 101 leaves in the same write as the open packet; a broken frame sent right behind the
// upgrade request is answered after both, with a protocol-error close, never before the 101.
TEST_F(EioServerTest, FramesBehindTheUpgradeRequestAreAnsweredAfterThe101) {
  start();
  WsClient ws(port_);
  std::string unmasked;  // a client frame without a mask: RFC 6455 §5.1 protocol error
  ws::encode_frame(unmasked, ws::Opcode::kText, "4hi");
  auto reply = ws.connect("/socket.io/?EIO=4&transport=websocket", {}, unmasked);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 101);
  auto open = ws.read();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->opcode, ws::Opcode::kText);
  EXPECT_EQ(open->payload.substr(0, 9), "0{\"sid\":\"");
  auto close = ws.read();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, ws::Opcode::kClose);
  auto info = ws::parse_close_payload(close->payload);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->code, static_cast<uint16_t>(ws::CloseCode::kProtocolError));
}

TEST_F(EioServerTest, SealedMessagesAreFramedLikePlainOnes) {
  start();
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(ws.read_text());
  ASSERT_TRUE(ws.send_text("4sealed"));
  for (std::size_t size : kSealedSizes) {
    auto text = ws.read_text();
    ASSERT_TRUE(text) << size;
    EXPECT_EQ(*text, "4" + std::string(size, 's'));
  }
  EXPECT_EQ(ws.read_text(), "4bin");
  auto bin = ws.read();
  ASSERT_TRUE(bin);
  EXPECT_EQ(bin->opcode, ws::Opcode::kBinary);
  EXPECT_EQ(bin->payload, std::string("\x01\x02", 2));
}

TEST_F(EioServerTest, WebSocketHeartbeatKeepsAnsweringClientAndDropsSilentOne) {
  start();
  WsClient good(port_);
  ASSERT_EQ(good.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  WsClient silent(port_);
  ASSERT_EQ(silent.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(good.read_text());
  ASSERT_TRUE(silent.read_text());
  // Two ping rounds for the good client, which pongs.
  for (int i = 0; i < 2; ++i) {
    auto f = good.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "2");
    ASSERT_TRUE(good.send_text("3"));
  }
  ASSERT_TRUE(rec_.wait_closes(1, 1500ms));
  EXPECT_EQ(rec_.close_reasons(), std::vector<std::string>{"ping timeout"});
  EXPECT_TRUE(silent.wait_eof());
  ASSERT_TRUE(good.send_text("4still here"));
  EXPECT_EQ(good.read_text(), "4still here");
}

TEST_F(EioServerTest, UpgradeFromPollingWithoutLossOrDuplicates) {
  start();
  const std::string sid = handshake();
  const std::string q = base() + "&sid=" + sid;
  // A GET held while the upgrade starts.
  RawConn poll(port_);
  ASSERT_TRUE(poll.write(testing::make_request("GET", q)));
  std::this_thread::sleep_for(30ms);
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket&sid=" + sid)->status, 101);
  // Traffic in flight across the switch: 200 numbered messages.
  ASSERT_TRUE(http(port_, "POST", q, {}, "4flood:200:10"));
  ASSERT_TRUE(ws.send_text("2probe"));
  auto probe = ws.read();
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->payload, "3probe");
  std::vector<std::string> received;
  auto collect = [&](std::string_view body) {
    std::size_t start = 0;
    while (start <= body.size()) {
      const std::size_t end = std::min(body.find('\x1e', start), body.size());
      const std::string_view p = body.substr(start, end - start);
      if (!p.empty() && p.front() == '4') received.emplace_back(p.substr(1));
      start = end + 1;
    }
  };
  std::string buf;
  auto held = testing::read_reply(poll, buf);
  ASSERT_TRUE(held);
  collect(held->body);
  // Keep polling (as the client pauses) until a noop tells us the upgrade is ready.
  bool noop = held->body == "6";
  while (!noop) {
    auto r = http(port_, "GET", q);
    ASSERT_TRUE(r);
    if (r->body == "6")
      noop = true;
    else
      collect(r->body);
  }
  ASSERT_TRUE(ws.send_text("5"));
  while (received.size() < 200) {
    auto t = ws.read_text();
    ASSERT_TRUE(t) << "got " << received.size();
    ASSERT_NE(*t, "6");  // never a noop on the websocket
    ASSERT_EQ(t->front(), '4');
    received.push_back(t->substr(1));
  }
  for (int i = 0; i < 200; ++i) {
    std::string expected = std::to_string(i);
    expected.append(10 - std::min<std::size_t>(10, expected.size()), '.');
    ASSERT_EQ(received[static_cast<std::size_t>(i)], expected);
  }
  ASSERT_TRUE(ws.send_text("4after"));
  EXPECT_EQ(ws.read_text(), "4after");
  EXPECT_EQ(server_->stats().upgrades, 1u);
  // Polling on an upgraded session is a transport mismatch.
  auto r = http(port_, "GET", q);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"code":3,"message":"Bad request"})");
}

TEST_F(EioServerTest, UpgradeTimeoutKeepsPolling) {
  EdgeConfig c = test_config();
  c.upgrade_timeout_ms = 200;
  start(c);
  const std::string sid = handshake();
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket&sid=" + sid)->status, 101);
  EXPECT_TRUE(ws.wait_eof());  // never probed: closed after upgradeTimeout
  auto post = http(port_, "POST", base() + "&sid=" + sid, {}, "4x");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->body, "ok");
}

TEST_F(EioServerTest, Cors) {
  EdgeConfig c = test_config();
  c.cors.origins = {"https://app.example.com", "https://*.example.org"};
  c.cors.credentials = true;
  c.cors.max_age_s = 77;
  start(c);
  auto r = http(port_, "GET", base(), "Origin: https://app.example.com\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(r->header("access-control-allow-credentials"), "true");
  EXPECT_EQ(r->header("vary"), "Origin");
  r = http(port_, "GET", base(), "Origin: https://a.b.example.org\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://a.b.example.org");
  r = http(port_, "OPTIONS", base(),
           "Origin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\n"
           "Access-Control-Request-Headers: content-type\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-methods"), "GET,POST");
  EXPECT_EQ(r->header("access-control-allow-headers"), "content-type");
  EXPECT_EQ(r->header("access-control-max-age"), "77");
  r = http(port_, "OPTIONS", base(), "Origin: https://evil.com\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  // Without Origin (not a browser): allowed, no CORS headers.
  r = http(port_, "GET", base());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "");
}

TEST_F(EioServerTest, CorsDisabledSendsNoHeaders) {
  start();
  auto r = http(port_, "GET", base(), "Origin: https://anything.com\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "");
  EXPECT_EQ(r->header("vary"), "");
}

TEST_F(EioServerTest, CorsDisallowedWithoutRejectGetsNoHeaders) {
  EdgeConfig c = test_config();
  c.cors.origins = {"https://app.example.com"};
  c.cors.reject_disallowed = false;
  start(c);
  auto r = http(port_, "GET", base(), "Origin: https://evil.com\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "");
}

TEST_F(EioServerTest, MaxConnectionsGives503) {
  EdgeConfig c = test_config();
  c.max_connections = 2;
  start(c);
  handshake();
  handshake();
  auto r = http(port_, "GET", base());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(server_->stats().connections_refused, 1u);
  EXPECT_EQ(server_->stats().sessions, 2u);
}

// A connect storm that is already queued in the listen backlog when the shards start: every
// connection is answered, and max_connections and the TCP cap (2 × max_connections + 64) hold
// exactly across both shards, also for connections accepted in one burst. (That a burst takes
// several connections per wakeup is a throughput matter, measured by the connect benchmark.)
TEST_F(EioServerTest, QueuedConnectStormIsServedWithinTheLimits) {
  EdgeConfig c = test_config();
  c.max_connections = 20;  // TCP cap 104
  auto r = EioServer::create(c, factory_, "TEST", {});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  server_ = std::move(r).value();
  port_ = server_->port();
  constexpr int kQueued = 150;
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < kQueued; ++i) {
    conns.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(conns.back()->ok());  // completed by the kernel, waiting in the backlog
    ASSERT_TRUE(conns.back()->write("GET " + base() + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  server_->start();
  int answered = 0, open = 0, busy = 0, reset = 0;
  for (auto& conn : conns) {
    std::string buf;
    auto reply = testing::read_reply(*conn, buf);
    if (!reply) {
      ++reset;  // closed at accept: over the TCP cap
      continue;
    }
    ++answered;
    if (reply->status == 200) ++open;
    if (reply->status == 503) ++busy;
  }
  EXPECT_EQ(open, 20);
  EXPECT_EQ(answered, 104);  // 20 sessions + 84 told 503 while within the TCP cap
  EXPECT_EQ(busy, 84);
  EXPECT_EQ(reset, kQueued - 104);
  EXPECT_EQ(server_->stats().connections_refused,
            static_cast<uint64_t>(kQueued - 20));  // both kinds
}

TEST_F(EioServerTest, SlowConsumerIsDisconnected) {
  start();
  WsClient ws(port_);
  ws.raw().set_rcvbuf(4096);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(ws.read_text());
  // 400 x 16 KiB = 6.4 MiB against a 256 KiB queue, never read by the client.
  ASSERT_TRUE(ws.send_text("4flood:400:16384"));
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "slow consumer");
  EXPECT_EQ(server_->stats().slow_consumers, 1u);
  std::lock_guard lock(rec_.mu);
  ASSERT_FALSE(rec_.results.empty());
  EXPECT_EQ(rec_.results.back(), eio::SendResult::kOverflow);
  EXPECT_LT(rec_.results.size(), 40u);  // bounded: ~256 KiB + socket buffers
}

TEST_F(EioServerTest, VolatileDroppedWhenNotWritable) {
  start();
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(ws.read_text());
  ASSERT_TRUE(ws.send_text("4volatile2"));
  EXPECT_EQ(ws.read_text(), "4v1");
  std::lock_guard lock(rec_.mu);
  ASSERT_EQ(rec_.results.size(), 2u);
  EXPECT_EQ(rec_.results[0], eio::SendResult::kQueued);
  EXPECT_EQ(rec_.results[1], eio::SendResult::kDropped);
}

TEST_F(EioServerTest, ServerCloseSendsCloseFrame) {
  start();
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(ws.read_text());
  ASSERT_TRUE(ws.send_text("4bye"));
  EXPECT_EQ(ws.read_text(), "1");
  auto f = ws.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, ws::Opcode::kClose);
  ASSERT_TRUE(ws.send(ws::Opcode::kClose, f->payload));
  EXPECT_TRUE(ws.wait_eof());
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "forced close");
}

TEST_F(EioServerTest, ClientCloseFrameIsTransportClose) {
  start();
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(ws.read_text());
  ASSERT_TRUE(ws.send(ws::Opcode::kClose, ws::make_close_payload(ws::CloseCode::kNormal)));
  auto f = ws.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, ws::Opcode::kClose);
  EXPECT_EQ(f->payload, ws::make_close_payload(ws::CloseCode::kNormal));
  EXPECT_TRUE(ws.wait_eof());
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "transport close");
  EXPECT_EQ(server_->stats().sessions, 0u);
}

TEST_F(EioServerTest, OversizedWebSocketMessageIs1009) {
  start();
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(ws.read_text());
  ASSERT_TRUE(ws.send_text("4" + std::string(5000, 'x')));
  auto f = ws.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, ws::Opcode::kClose);
  EXPECT_EQ(f->payload, ws::make_close_payload(ws::CloseCode::kMessageTooBig));
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "transport error");
}

TEST_F(EioServerTest, PollingServerCloseDeliversClosePacket) {
  start();
  const std::string sid = handshake();
  const std::string q = base() + "&sid=" + sid;
  ASSERT_TRUE(http(port_, "POST", q, {}, "4bye"));
  auto get = http(port_, "GET", q);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "1");
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "forced close");
}

TEST_F(EioServerTest, PollingClientClosePacket) {
  start();
  const std::string sid = handshake();
  ASSERT_TRUE(http(port_, "POST", base() + "&sid=" + sid, {}, "1"));
  ASSERT_TRUE(rec_.wait_closes(1));
  EXPECT_EQ(rec_.close_reasons()[0], "transport close");
}

TEST_F(EioServerTest, StopClosesSessionsWithShutdownReason) {
  start();
  WsClient ws(port_);
  ASSERT_EQ(ws.connect("/socket.io/?EIO=4&transport=websocket")->status, 101);
  ASSERT_TRUE(ws.read_text());
  handshake();
  server_->stop();
  ASSERT_TRUE(rec_.wait_closes(2));
  EXPECT_EQ(rec_.close_reasons(),
            (std::vector<std::string>{"server shutting down", "server shutting down"}));
}

TEST_F(EioServerTest, ExtraRoutesAnd404) {
  start(test_config(),
        [](std::string_view method, std::string_view target) -> std::optional<HttpResponse> {
          if (method == "GET" && target == "/healthz")
            return HttpResponse{200, "text/plain", "ok", {}};
          return std::nullopt;
        });
  auto r = http(port_, "GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  r = http(port_, "GET", "/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(EioServerTest, KeepAliveConnectionServesSeveralRequests) {
  start();
  const std::string sid = handshake();
  const std::string q = base() + "&sid=" + sid;
  RawConn conn(port_);
  std::string buf;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(conn.write(testing::make_request("POST", q, {}, "4m" + std::to_string(i))));
    auto r = testing::read_reply(conn, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ok");
  }
  ASSERT_TRUE(conn.write(testing::make_request("GET", q)));
  auto r = testing::read_reply(conn, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body,
            "4m0\x1e"
            "4m1\x1e"
            "4m2");
}

TEST(EioMemory, SessionAndConnectionSizes) {
  // Reported for DESIGN.md §6's 2 KiB idle target (user-space bytes per websocket session).
  std::printf(
      "sizeof(EioSession)=%zu sizeof(WebSocketConnection)=%zu sizeof(TcpSocket)=%zu "
      "sizeof(ws::FrameParser)=%zu\n",
      EioSession::object_size(), WebSocketConnection::object_size(), sizeof(TcpSocket),
      sizeof(ws::FrameParser));
  // 152 + 216 now (inline sid, handshake in one buffer, close reason and the frame parser's
  // buffer off the idle path). With make_shared's 16 B control block and malloc's 8 B header
  // these are exactly the largest sizes that still fit malloc's 176 and 240 B chunks: a new
  // field should be a decision, not an accident.
  EXPECT_LE(EioSession::object_size(), 152u);
  EXPECT_LE(WebSocketConnection::object_size(), 216u);
  EXPECT_LE(sizeof(eio::HandshakeInfo), 24u);
  EXPECT_LE(sizeof(InlineId), kIdLength + 1);
}

}  // namespace
}  // namespace herald::edge
