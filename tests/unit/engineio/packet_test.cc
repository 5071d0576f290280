// Tests of Engine.IO v4 packet and payload encoding/decoding, against the protocol's examples.
#include "edge/engineio/packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::eio {
namespace {

Packet text(PacketType type, std::string data = {}) {
  return Packet{type, false, std::move(data)};
}
Packet bin(std::string data) {
  return Packet{PacketType::kMessage, true, std::move(data)};
}

std::string ws(const Packet& p) {
  std::string out;
  append_ws_frame(p, out);
  EXPECT_EQ(out.size(), ws_frame_size(p));
  return out;
}

std::string payload(const std::vector<Packet>& packets) {
  std::string out;
  append_payload(packets, out);
  EXPECT_EQ(out.size(), payload_size(packets));
  return out;
}

TEST(PacketTest, TypeNamesAndDigits) {
  const std::pair<PacketType, const char*> all[] = {
      {PacketType::kOpen, "open"},       {PacketType::kClose, "close"},
      {PacketType::kPing, "ping"},       {PacketType::kPong, "pong"},
      {PacketType::kMessage, "message"}, {PacketType::kUpgrade, "upgrade"},
      {PacketType::kNoop, "noop"},
  };
  char digit = '0';
  for (const auto& [type, name] : all) {
    EXPECT_EQ(packet_type_name(type), name);
    EXPECT_EQ(packet_type_char(type), digit++);
  }
}

TEST(PacketTest, EncodesEveryTypeForWebSocket) {
  EXPECT_EQ(ws(text(PacketType::kOpen, R"({"sid":"x"})")), R"(0{"sid":"x"})");
  EXPECT_EQ(ws(text(PacketType::kClose)), "1");
  EXPECT_EQ(ws(text(PacketType::kPing)), "2");
  EXPECT_EQ(ws(text(PacketType::kPing, "probe")), "2probe");
  EXPECT_EQ(ws(text(PacketType::kPong, "probe")), "3probe");
  EXPECT_EQ(ws(text(PacketType::kMessage, "hello")), "4hello");
  EXPECT_EQ(ws(text(PacketType::kMessage, "1€")), "41€");
  EXPECT_EQ(ws(text(PacketType::kUpgrade)), "5");
  EXPECT_EQ(ws(text(PacketType::kNoop)), "6");
  EXPECT_EQ(ws(bin(std::string("\x01\x02\x03\x04", 4))), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(ws(bin("")), "");
}

TEST(PacketTest, WebSocketFrameAppends) {
  std::string out = "prefix:";
  append_ws_frame(text(PacketType::kMessage, "x"), out);
  EXPECT_EQ(out, "prefix:4x");
}

TEST(PacketTest, DecodesEveryTextType) {
  for (int t = 0; t <= 6; ++t) {
    const std::string frame = std::to_string(t) + "data";
    Result<Packet> p = decode_text_packet(frame);
    ASSERT_TRUE(p.ok()) << frame;
    EXPECT_EQ(static_cast<int>(p->type), t);
    EXPECT_FALSE(p->binary);
    EXPECT_EQ(p->data, "data");
    EXPECT_EQ(ws(*p), frame);  // round trip
  }
  Result<Packet> bare = decode_text_packet("2");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(*bare, text(PacketType::kPing));
  Result<Packet> probe = decode_text_packet("2probe");
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(*probe, text(PacketType::kPing, "probe"));
}

TEST(PacketTest, TextDataIsOpaque) {
  // Whatever follows the type byte is the data, including separators of other layers.
  Result<Packet> p = decode_text_packet("42[\"a\",\"\\u0000\"]\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->data, "2[\"a\",\"\\u0000\"]\r\n");
}

TEST(PacketTest, DecodesBase64BinaryInTextFrame) {
  // decodePacket treats a leading 'b' as a base64 binary message whatever the transport.
  Result<Packet> p = decode_text_packet("bAQIDBA==");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, bin(std::string("\x01\x02\x03\x04", 4)));
  Result<Packet> empty = decode_text_packet("b");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, bin(""));
}

TEST(PacketTest, DecodesBinaryFrame) {
  EXPECT_EQ(decode_binary_frame(std::string("\x01\x02\x03", 3)),
            bin(std::string("\x01\x02\x03", 3)));
  EXPECT_EQ(decode_binary_frame(""), bin(""));
}

TEST(PacketTest, RejectsMalformedTextPackets) {
  struct Case {
    std::string input;
    const char* error;
  };
  const Case cases[] = {
      {"", "empty packet"},
      {"a123", "unknown packet type"},  // engine.io-parser's own test
      {"7", "unknown packet type"},
      {"9hello", "unknown packet type"},
      {"/", "unknown packet type"},
      {"{", "unknown packet type"},
      {"{}", "unknown packet type"},
      {"[\"a123\", \"a456\"]", "unknown packet type"},
      {std::string("\0", 1), "unknown packet type"},
      {"\xff", "unknown packet type"},
      {"B", "unknown packet type"},
      {"bAQ", "bad base64"},
      {"bAQIDBA=", "bad base64"},
      {"b!!!!", "bad base64"},
      {"bAQID BA=", "bad base64"},
  };
  for (const Case& c : cases) {
    Result<Packet> p = decode_text_packet(c.input);
    ASSERT_FALSE(p.ok()) << c.input;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.error), std::string::npos) << p.status().to_string();
  }
}

TEST(PayloadTest, EncodesProtocolExamples) {
  EXPECT_EQ(payload({text(PacketType::kMessage, "hello")}), "4hello");
  EXPECT_EQ(payload({text(PacketType::kMessage, "hello"), text(PacketType::kPing),
                     text(PacketType::kMessage, "world")}),
            "4hello\x1e"
            "2\x1e"
            "4world");
  EXPECT_EQ(payload({text(PacketType::kMessage, "hello"), bin(std::string("\x01\x02\x03\x04", 4))}),
            "4hello\x1e"
            "bAQIDBA==");
  EXPECT_EQ(payload({text(PacketType::kMessage, "test1"), text(PacketType::kMessage, "test2"),
                     text(PacketType::kMessage, "test3")}),
            "4test1\x1e"
            "4test2\x1e"
            "4test3");
  EXPECT_EQ(payload({text(PacketType::kNoop)}), "6");
  EXPECT_EQ(payload({}), "");
}

TEST(PayloadTest, EncodesAllTypesLikeEngineIoParser) {
  const std::vector<Packet> packets = {
      text(PacketType::kOpen),
      text(PacketType::kClose),
      text(PacketType::kPing, "probe"),
      text(PacketType::kPong, "probe"),
      text(PacketType::kMessage, "test"),
  };
  const std::string body = payload(packets);
  EXPECT_EQ(body,
            "0\x1e"
            "1\x1e"
            "2probe\x1e"
            "3probe\x1e"
            "4test");
  Result<std::vector<Packet>> decoded = decode_payload(body);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, packets);
}

TEST(PayloadTest, AppendsAfterExistingContent) {
  std::string out = "HTTP body: ";
  append_payload(std::vector<Packet>{text(PacketType::kPing)}, out);
  EXPECT_EQ(out, "HTTP body: 2");
}

TEST(PayloadTest, DecodesProtocolExamples) {
  Result<std::vector<Packet>> p = decode_payload(
      "4hello\x1e"
      "bAQIDBA==");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<Packet>{text(PacketType::kMessage, "hello"),
                                     bin(std::string("\x01\x02\x03\x04", 4))}));

  p = decode_payload(
      "42[\"hello\"]\x1e"
      "42[\"world\"]");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<Packet>{text(PacketType::kMessage, "2[\"hello\"]"),
                                     text(PacketType::kMessage, "2[\"world\"]")}));

  p = decode_payload("3");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, std::vector<Packet>{text(PacketType::kPong)});

  p = decode_payload("1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, std::vector<Packet>{text(PacketType::kClose)});
}

TEST(PayloadTest, RejectsMalformedPayloads) {
  struct Case {
    std::string body;
    const char* error;
  };
  const Case cases[] = {
      {"", "empty packet"},
      {"\x1e", "empty packet (packet 0"},
      {"4a\x1e", "empty packet (packet 1"},
      {"4a\x1e\x1e"
       "4b",
       "empty packet (packet 1"},
      {"abc", "unknown packet type"},  // the test suite's "abc" POST
      {"{", "unknown packet type"},
      {"4a\x1e"
       "8",
       "unknown packet type (packet 1"},
      {"4a\x1e"
       "b@@@@",
       "bad base64 in binary packet (packet 1"},
  };
  for (const Case& c : cases) {
    Result<std::vector<Packet>> p = decode_payload(c.body);
    ASSERT_FALSE(p.ok()) << c.body;
    EXPECT_NE(p.status().message().find(c.error), std::string::npos) << p.status().to_string();
  }
}

TEST(PayloadTest, EnforcesLimits) {
  PayloadLimits limits;
  limits.max_bytes = 10;
  limits.max_packets = 3;
  EXPECT_TRUE(decode_payload("4123456789", limits).ok());
  Result<std::vector<Packet>> big = decode_payload("41234567890", limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);

  EXPECT_TRUE(decode_payload("2\x1e"
                             "2\x1e"
                             "2",
                             limits)
                  .ok());
  Result<std::vector<Packet>> many = decode_payload(
      "2\x1e"
      "2\x1e"
      "2\x1e"
      "2",
      limits);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(many.status().message().find("more than 3 packets"), std::string::npos);
}

TEST(PayloadTest, LargePayloadRoundTrip) {
  std::vector<Packet> packets;
  for (int i = 0; i < 500; ++i) {
    if (i % 3 == 0) {
      packets.push_back(bin(std::string(static_cast<std::size_t>(i), static_cast<char>(i))));
    } else {
      packets.push_back(text(PacketType::kMessage, std::string(static_cast<std::size_t>(i), 'x')));
    }
  }
  const std::string body = payload(packets);
  PayloadLimits limits;
  limits.max_bytes = body.size();
  Result<std::vector<Packet>> decoded = decode_payload(body, limits);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, packets);
  limits.max_bytes = body.size() - 1;
  EXPECT_FALSE(decode_payload(body, limits).ok());
}

TEST(PayloadTest, VeryLongSinglePacket) {
  const std::string body = "4" + std::string(999'999, 'z');
  Result<std::vector<Packet>> decoded = decode_payload(body);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0].data.size(), 999'999u);
  EXPECT_FALSE(decode_payload(body + "z").ok());
}

}  // namespace
}  // namespace herald::eio
