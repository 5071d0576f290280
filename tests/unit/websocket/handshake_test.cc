// Tests for the server opening handshake: accept key, request checks, response text.
#include "edge/websocket/handshake.h"

#include <gtest/gtest.h>

namespace herald::ws {
namespace {

HandshakeRequest good_request() {
  HandshakeRequest r;
  r.upgrade = "websocket";
  r.connection = "Upgrade";
  r.version = "13";
  r.key = "dGhlIHNhbXBsZSBub25jZQ==";
  return r;
}

TEST(Handshake, RfcAcceptKey) {
  EXPECT_EQ(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, AcceptsRfcRequestAndBuildsExactResponse) {
  auto accept = check_handshake(good_request());
  ASSERT_TRUE(accept.ok()) << accept.status().to_string();
  EXPECT_EQ(*accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(make_accept_response(*accept),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
  EXPECT_EQ(make_accept_response(*accept, "X-Herald: 1\r\n"),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "X-Herald: 1\r\n"
            "\r\n");
}

TEST(Handshake, HeaderTokensAreCaseInsensitiveLists) {
  for (std::string_view connection : {"Upgrade", "upgrade", "UPGRADE", "keep-alive, Upgrade",
                                      "keep-alive,upgrade , close", " \tUpgrade\t"}) {
    auto r = good_request();
    r.connection = connection;
    EXPECT_TRUE(check_handshake(r).ok()) << connection;
  }
  for (std::string_view upgrade : {"websocket", "WebSocket", "h2c, websocket"}) {
    auto r = good_request();
    r.upgrade = upgrade;
    EXPECT_TRUE(check_handshake(r).ok()) << upgrade;
  }
  EXPECT_FALSE(header_has_token("upgraded", "upgrade"));
  EXPECT_FALSE(header_has_token("", "upgrade"));
  EXPECT_FALSE(header_has_token("keep-alive", "upgrade"));
  EXPECT_TRUE(header_has_token(",,upgrade,", "upgrade"));
}

TEST(Handshake, RejectsBadRequests) {
  auto expect_bad = [](HandshakeRequest r, StatusCode code, const char* what) {
    auto result = check_handshake(r);
    ASSERT_FALSE(result.ok()) << what;
    EXPECT_EQ(result.status().code(), code) << what;
  };
  auto r = good_request();
  r.method = "POST";
  expect_bad(r, StatusCode::kInvalidArgument, "method");
  r = good_request();
  r.http_version = 10;
  expect_bad(r, StatusCode::kInvalidArgument, "HTTP/1.0");
  r = good_request();
  r.upgrade = "";
  expect_bad(r, StatusCode::kInvalidArgument, "no upgrade");
  r.upgrade = "websockets";
  expect_bad(r, StatusCode::kInvalidArgument, "wrong upgrade");
  r = good_request();
  r.connection = "keep-alive";
  expect_bad(r, StatusCode::kInvalidArgument, "connection");
  r = good_request();
  r.version = "8";
  expect_bad(r, StatusCode::kUnimplemented, "version 8");
  r.version = "";
  expect_bad(r, StatusCode::kUnimplemented, "no version");
  for (std::string_view key :
       {"", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
        "dGhlIHNhbXBsZSBub25jZ*==", "dGhlIHNhbXBsZSBub25jZQ=A",
        "dGhlIHNhbXBsZSBub25jZSBhYg==", "aGVsbG8="}) {
    r = good_request();
    r.key = key;
    expect_bad(r, StatusCode::kInvalidArgument, "key");
  }
  r = good_request();
  r.key = "  dGhlIHNhbXBsZSBub25jZQ== ";
  EXPECT_TRUE(check_handshake(r).ok());
}

TEST(Handshake, RejectionResponses) {
  auto r = good_request();
  r.version = "8";
  const std::string version = make_rejection_response(check_handshake(r).status());
  EXPECT_EQ(version.rfind("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n", 0), 0u)
      << version;
  r = good_request();
  r.key = "bad";
  const std::string bad = make_rejection_response(check_handshake(r).status());
  EXPECT_EQ(bad.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << bad;
  const std::size_t body = bad.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(bad.substr(body + 4), "invalid Sec-WebSocket-Key");
  EXPECT_NE(bad.find("Content-Length: 25\r\n"), std::string::npos);
}

}  // namespace
}  // namespace herald::ws
