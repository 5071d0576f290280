// Tests of the Engine.IO open packet and of the HTTP error table (engine.io's server.ts).
#include "edge/engineio/handshake.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace herald::eio {
namespace {

TEST(HandshakeTest, DefaultsMatchTheProtocolExample) {
  Handshake h;
  h.sid = "lv_VI97HAXpY6yYWAAAC";
  EXPECT_EQ(handshake_json(h),
            R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,)"
            R"("pingTimeout":20000,"maxPayload":1000000})");
  const Packet open = open_packet(h);
  EXPECT_EQ(open.type, PacketType::kOpen);
  EXPECT_FALSE(open.binary);
  std::string frame;
  append_ws_frame(open, frame);
  EXPECT_EQ(frame.substr(0, 9), "0{\"sid\":\"");
}

TEST(HandshakeTest, WebSocketOnlySessionHasNoUpgrades) {
  Handshake h;
  h.sid = "abc";
  h.upgrades.clear();
  h.ping_interval_ms = 300;
  h.ping_timeout_ms = 200;
  h.max_payload = 1e6;
  EXPECT_EQ(handshake_json(h), R"({"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,)"
                               R"("maxPayload":1000000})");
}

TEST(HandshakeTest, IsValidJsonWithAwkwardValues) {
  Handshake h;
  h.sid = "a\"b\\c\n";
  h.upgrades = {"websocket", "webtransport"};
  h.ping_interval_ms = 0;
  h.max_payload = 18446744073709551615ull;
  std::string out = "0";
  append_handshake_json(h, out);
  const nlohmann::json j = nlohmann::json::parse(out.substr(1));
  EXPECT_EQ(j["sid"], "a\"b\\c\n");
  EXPECT_EQ(j["upgrades"], nlohmann::json({"websocket", "webtransport"}));
  EXPECT_EQ(j["pingInterval"], 0);
  EXPECT_EQ(j["maxPayload"].get<uint64_t>(), 18446744073709551615ull);
}

TEST(ErrorTableTest, MessagesStatusesAndBodiesMatchNode) {
  struct Case {
    ErrorCode code;
    int number;
    const char* message;
    int status;
  };
  const Case cases[] = {
      {ErrorCode::kUnknownTransport, 0, "Transport unknown", 400},
      {ErrorCode::kUnknownSid, 1, "Session ID unknown", 400},
      {ErrorCode::kBadHandshakeMethod, 2, "Bad handshake method", 400},
      {ErrorCode::kBadRequest, 3, "Bad request", 400},
      {ErrorCode::kForbidden, 4, "Forbidden", 403},
      {ErrorCode::kUnsupportedProtocolVersion, 5, "Unsupported protocol version", 400},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(static_cast<int>(c.code), c.number);
    EXPECT_EQ(error_message(c.code), c.message);
    EXPECT_EQ(error_http_status(c.code), c.status);
    EXPECT_EQ(error_body(c.code),
              "{\"code\":" + std::to_string(c.number) + ",\"message\":\"" + c.message + "\"}");
  }
  EXPECT_EQ(error_body(ErrorCode::kUnsupportedProtocolVersion),
            R"({"code":5,"message":"Unsupported protocol version"})");
}

TEST(ErrorTableTest, CustomMessageIsEscaped) {
  EXPECT_EQ(error_body(ErrorCode::kForbidden, "origin \"x\" refused"),
            R"({"code":4,"message":"origin \"x\" refused"})");
}

}  // namespace
}  // namespace herald::eio
