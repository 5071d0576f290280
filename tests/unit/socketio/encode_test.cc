// Tests of Socket.IO v5 text frame encoding: generic packets and spliced EVENT frames.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "edge/socketio/packet.h"

namespace herald::sio {
namespace {

std::string encoded(const Packet& p) {
  std::string out = encode_packet(p);
  EXPECT_EQ(out.size(), encoded_size(p));
  return out;
}

std::string event(std::string_view nsp, std::string_view name, std::string_view args_json,
                  uint32_t attachments = 0, std::optional<uint64_t> ack_id = {}) {
  std::string out;
  EXPECT_TRUE(append_event(nsp, name, args_json, attachments, ack_id, out).ok());
  EXPECT_EQ(out.size(), event_encoded_size(nsp, name, args_json, attachments, ack_id)) << out;
  return out;
}

Packet make(PacketType type, std::string nsp, std::optional<uint64_t> id, std::string data,
            uint32_t attachments = 0) {
  return Packet{type, std::move(nsp), id, std::move(data), attachments};
}

TEST(EncodeTest, TypeNames) {
  EXPECT_EQ(packet_type_name(PacketType::kConnect), "CONNECT");
  EXPECT_EQ(packet_type_name(PacketType::kDisconnect), "DISCONNECT");
  EXPECT_EQ(packet_type_name(PacketType::kEvent), "EVENT");
  EXPECT_EQ(packet_type_name(PacketType::kAck), "ACK");
  EXPECT_EQ(packet_type_name(PacketType::kConnectError), "CONNECT_ERROR");
  EXPECT_EQ(packet_type_name(PacketType::kBinaryEvent), "BINARY_EVENT");
  EXPECT_EQ(packet_type_name(PacketType::kBinaryAck), "BINARY_ACK");
  EXPECT_TRUE(is_binary_type(PacketType::kBinaryEvent));
  EXPECT_TRUE(is_binary_type(PacketType::kBinaryAck));
  EXPECT_FALSE(is_binary_type(PacketType::kEvent));
}

TEST(EncodeTest, ProtocolExamples) {
  EXPECT_EQ(encoded(make(PacketType::kConnect, "/", {}, "")), "0");
  EXPECT_EQ(encoded(make(PacketType::kConnect, "/admin", {}, R"({"sid":"oSO0OpakMV_3jnilAAAA"})")),
            R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})");
  EXPECT_EQ(encoded(make(PacketType::kConnectError, "/", {}, R"({"message":"Not authorized"})")),
            R"(4{"message":"Not authorized"})");
  EXPECT_EQ(encoded(make(PacketType::kEvent, "/", {}, R"(["foo"])")), R"(2["foo"])");
  EXPECT_EQ(encoded(make(PacketType::kEvent, "/admin", {}, R"(["bar"])")), R"(2/admin,["bar"])");
  EXPECT_EQ(encoded(make(PacketType::kBinaryEvent, "/", {},
                         R"(["baz",{"_placeholder":true,"num":0}])", 1)),
            R"(51-["baz",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(
      encoded(make(PacketType::kBinaryEvent, "/admin", {},
                   R"(["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", 2)),
      R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  EXPECT_EQ(encoded(make(PacketType::kEvent, "/", 12, R"(["foo"])")), R"(212["foo"])");
  EXPECT_EQ(encoded(make(PacketType::kAck, "/admin", 13, R"(["bar"])")), R"(3/admin,13["bar"])");
  EXPECT_EQ(
      encoded(make(PacketType::kBinaryAck, "/", 15, R"(["bar",{"_placeholder":true,"num":0}])", 1)),
      R"(61-15["bar",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(encoded(make(PacketType::kDisconnect, "/", {}, "")), "1");
  EXPECT_EQ(encoded(make(PacketType::kDisconnect, "/admin", {}, "")), "1/admin,");
  EXPECT_EQ(encoded(make(PacketType::kConnect, "/admin", {}, R"({"sid":"-G5j-67EZFp-q59rADQM"})")),
            R"(0/admin,{"sid":"-G5j-67EZFp-q59rADQM"})");
  EXPECT_EQ(
      encoded(make(PacketType::kBinaryAck, "/admin", 1, R"([{"_placeholder":true,"num":0}])", 1)),
      R"(61-/admin,1[{"_placeholder":true,"num":0}])");
}

TEST(EncodeTest, EmptyNamespaceIsTheMainOne) {
  EXPECT_EQ(encoded(make(PacketType::kEvent, "", 0, R"(["a"])")), R"(20["a"])");
}

TEST(EncodeTest, AttachmentsOnlyForBinaryTypes) {
  EXPECT_EQ(encoded(make(PacketType::kEvent, "/", {}, R"(["a"])", 3)), R"(2["a"])");
  EXPECT_EQ(encoded(make(PacketType::kBinaryEvent, "/", {}, R"(["a"])", 0)), R"(50-["a"])");
  EXPECT_EQ(encoded(make(PacketType::kBinaryAck, "/x", kMaxAckId, "[]", 4294967295u)),
            "64294967295-/x,9007199254740991[]");
}

TEST(EncodeTest, AppendsAfterEngineIoPrefix) {
  std::string out = "4";
  append_packet(make(PacketType::kEvent, "/", {}, R"(["hey","Jude"])"), out);
  EXPECT_EQ(out, R"(42["hey","Jude"])");
}

TEST(EncodeTest, RoundTripsEveryType) {
  const Packet packets[] = {
      make(PacketType::kConnect, "/", {}, ""),
      make(PacketType::kConnect, "/woot", {}, R"({"token":"123"})"),
      make(PacketType::kDisconnect, "/woot", {}, ""),
      make(PacketType::kEvent, "/", {}, R"(["a",1,{}])"),
      make(PacketType::kEvent, "/test", 1, R"(["a",1,{}])"),
      make(PacketType::kAck, "/", 123, R"(["a",1,{}])"),
      make(PacketType::kConnectError, "/", {}, R"("Unauthorized")"),
      make(PacketType::kConnectError, "/", {}, R"({"message":"Unauthorized"})"),
      make(PacketType::kBinaryEvent, "/cool", 23,
           R"(["a",{"b":["c",{"_placeholder":true,"num":0}]}])", 1),
      make(PacketType::kBinaryAck, "/back", 127, R"(["a",{"_placeholder":true,"num":0},{}])", 1),
  };
  for (const Packet& p : packets) {
    const std::string text = encoded(p);
    Result<Packet> back = decode_packet(text);
    ASSERT_TRUE(back.ok()) << text << " " << back.status().to_string();
    EXPECT_EQ(*back, p) << text;
  }
}

TEST(AppendEventTest, BuildsFramesLikeTheEncoder) {
  EXPECT_EQ(event("/", "hey", R"(["Jude"])"), R"(2["hey","Jude"])");
  EXPECT_EQ(event("/", "foo", "[]"), R"(2["foo"])");
  EXPECT_EQ(event("", "foo", "[]"), R"(2["foo"])");
  EXPECT_EQ(event("/admin", "bar", "[ ]"), R"(2/admin,["bar"])");
  EXPECT_EQ(event("/", "foo", "[]", 0, 12), R"(212["foo"])");
  EXPECT_EQ(
      event("/admin", "baz", R"([{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", 2),
      R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  EXPECT_EQ(event("/", "message-back", R"([1,"2",{"3":[true]}])"),
            R"(2["message-back",1,"2",{"3":[true]}])");
  EXPECT_EQ(event("", "a", "[1] \n", 0, 0), "20[\"a\",1] \n");
}

TEST(AppendEventTest, EscapesTheEventName) {
  EXPECT_EQ(event("/", "a\"b\\c\n€", "[1]"), "2[\"a\\\"b\\\\c\\n€\",1]");
  EXPECT_EQ(event("/", std::string_view("\x01\xff", 2), "[]"), "2[\"\\u0001\xef\xbf\xbd\"]");
  EXPECT_EQ(event("/", "", "[]"), R"(2[""])");
}

TEST(AppendEventTest, RoundTripsThroughDecodeAndSplit) {
  const std::string args = R"([{"text":"hi","n":[1,2,{"deep":null}]},"two",3.5,false])";
  const std::string frame = event("/chat", "msg \"quoted\"", args, 0, 42);
  Result<Packet> p = decode_packet(frame);
  ASSERT_TRUE(p.ok()) << frame;
  EXPECT_EQ(p->type, PacketType::kEvent);
  EXPECT_EQ(p->nsp, "/chat");
  EXPECT_EQ(p->id, 42u);
  Result<EventParts> parts = split_event(p->data_json);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->name, "msg \"quoted\"");
  EXPECT_EQ(parts->args_json(), args);
  EXPECT_EQ(nlohmann::json::parse(p->data_json)[1]["n"][2]["deep"], nullptr);
}

TEST(AppendEventTest, RefusesArgumentsThatAreNotAnArray) {
  for (const char* bad : {"", "{}", "1", "\"a\"", " []", "[", "]", "[1", "null"}) {
    std::string out = "4";
    const Status s = append_event("/", "a", bad, 0, {}, out);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(out, "4") << bad;
  }
}

TEST(AppendEventTest, LargeArguments) {
  std::string args = "[";
  for (int i = 0; i < 10000; ++i) args += std::to_string(i) + ",";
  args.back() = ']';
  const std::string frame = event("/big", "n", args, 0, kMaxAckId);
  Result<Packet> p = decode_packet(frame);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(split_event(p->data_json)->args_json(), args);
}

}  // namespace
}  // namespace herald::sio
