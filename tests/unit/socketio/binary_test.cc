// Tests of BinaryReconstructor: binary frames that follow BINARY_EVENT / BINARY_ACK headers.
#include <gtest/gtest.h>

#include <string>

#include "edge/socketio/packet.h"

namespace herald::sio {
namespace {

Packet header(std::string_view text) {
  Result<Packet> p = decode_packet(text);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? std::move(p).value() : Packet{};
}

TEST(BinaryReconstructorTest, CollectsAttachmentsInOrder) {
  // The protocol test suite's "should send a packet with binary attachments".
  BinaryReconstructor r;
  EXPECT_FALSE(r.in_progress());
  ASSERT_TRUE(
      r.start(
           header(R"(52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"))
          .ok());
  EXPECT_TRUE(r.in_progress());
  EXPECT_FALSE(r.complete());
  Result<bool> first = r.add(std::string("\x01\x02\x03", 3));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(*first);
  Result<bool> second = r.add(std::string("\x04\x05\x06", 3));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(*second);
  EXPECT_TRUE(r.complete());
  EXPECT_FALSE(r.in_progress());

  BinaryPacket done = r.take();
  EXPECT_EQ(done.packet.type, PacketType::kBinaryEvent);
  EXPECT_EQ(done.packet.attachments, 2u);
  EXPECT_EQ(done.packet.data_json,
            R"(["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  ASSERT_EQ(done.attachments.size(), 2u);
  EXPECT_EQ(done.attachments[0], std::string("\x01\x02\x03", 3));
  EXPECT_EQ(done.attachments[1], std::string("\x04\x05\x06", 3));
  EXPECT_FALSE(r.complete());
  EXPECT_FALSE(r.in_progress());
}

TEST(BinaryReconstructorTest, BinaryAckWithId) {
  BinaryReconstructor r;
  ASSERT_TRUE(r.start(header(R"(61-/admin,1[{"_placeholder":true,"num":0}])")).ok());
  Result<bool> added = r.add("");  // an empty attachment is still an attachment
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(*added);
  BinaryPacket done = r.take();
  EXPECT_EQ(done.packet.type, PacketType::kBinaryAck);
  EXPECT_EQ(done.packet.nsp, "/admin");
  EXPECT_EQ(done.packet.id, 1u);
  EXPECT_EQ(done.attachments, std::vector<std::string>{""});
}

TEST(BinaryReconstructorTest, ZeroAttachmentsIsCompleteAtOnce) {
  BinaryReconstructor r;
  ASSERT_TRUE(r.start(header(R"(50-["hello"])")).ok());
  EXPECT_TRUE(r.complete());
  EXPECT_FALSE(r.in_progress());
  EXPECT_TRUE(r.take().attachments.empty());
}

TEST(BinaryReconstructorTest, BinaryDataWithoutHeader) {
  BinaryReconstructor r;
  Result<bool> added = r.add("world");
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.status().message().find("got binary data when not reconstructing a packet"),
            std::string::npos);
}

TEST(BinaryReconstructorTest, TextWhileReconstructing) {
  BinaryReconstructor r;
  ASSERT_TRUE(r.start(header(R"(51-["hello",{"_placeholder":true,"num":0}])")).ok());
  const Status s = r.start(header(R"(51-["again",{"_placeholder":true,"num":0}])"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("got plaintext data when reconstructing a packet"), std::string::npos);
  // The first packet is still there.
  ASSERT_TRUE(r.add("x").ok());
  EXPECT_EQ(r.take().packet.data_json, R"(["hello",{"_placeholder":true,"num":0}])");
}

TEST(BinaryReconstructorTest, RefusesNonBinaryHeader) {
  BinaryReconstructor r;
  EXPECT_FALSE(r.start(header(R"(2["hello"])")).ok());
  EXPECT_FALSE(r.in_progress());
}

TEST(BinaryReconstructorTest, RefusesStartBeforeTake) {
  BinaryReconstructor r;
  ASSERT_TRUE(r.start(header(R"(50-["a"])")).ok());
  EXPECT_FALSE(r.start(header(R"(50-["b"])")).ok());
  EXPECT_EQ(r.take().packet.data_json, R"(["a"])");
  EXPECT_TRUE(r.start(header(R"(50-["b"])")).ok());
}

TEST(BinaryReconstructorTest, TooManyAttachmentsAfterCompletion) {
  BinaryReconstructor r;
  ASSERT_TRUE(r.start(header(R"(51-["a",{"_placeholder":true,"num":0}])")).ok());
  ASSERT_TRUE(r.add("1").ok());
  EXPECT_FALSE(r.add("2").ok());  // a binary frame nobody announced
  EXPECT_TRUE(r.complete());
}

TEST(BinaryReconstructorTest, CapsTotalBytes) {
  BinaryReconstructor r(10);
  ASSERT_TRUE(
      r.start(header(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"))
          .ok());
  ASSERT_TRUE(r.add(std::string(6, 'x')).ok());
  Result<bool> over = r.add(std::string(5, 'y'));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(r.in_progress());  // reset: the next text frame starts afresh
  ASSERT_TRUE(
      r.start(header(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"))
          .ok());
  ASSERT_TRUE(r.add(std::string(6, 'x')).ok());
  EXPECT_TRUE(r.add(std::string(4, 'y')).ok());
}

TEST(BinaryReconstructorTest, ResetDropsPartialPacket) {
  BinaryReconstructor r;
  ASSERT_TRUE(
      r.start(header(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"))
          .ok());
  ASSERT_TRUE(r.add("x").ok());
  r.reset();  // socket.io-parser's "should resume decoding after calling destroy()"
  EXPECT_FALSE(r.in_progress());
  EXPECT_FALSE(r.add("y").ok());
  EXPECT_TRUE(r.start(header(R"(50-["hello"])")).ok());
}

TEST(BinaryReconstructorTest, MaxAttachments) {
  DecodeLimits limits;
  limits.max_attachments = 10;
  std::string text = "510-[\"a\"";
  for (int i = 0; i < 10; ++i) text += ",{\"_placeholder\":true,\"num\":" + std::to_string(i) + "}";
  text += "]";
  Result<Packet> p = decode_packet(text, limits);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  BinaryReconstructor r;
  ASSERT_TRUE(r.start(std::move(p).value()).ok());
  for (int i = 0; i < 10; ++i) {
    Result<bool> added = r.add(std::string(1, static_cast<char>(i)));
    ASSERT_TRUE(added.ok());
    EXPECT_EQ(*added, i == 9);
  }
  EXPECT_EQ(r.take().attachments.size(), 10u);
}

}  // namespace
}  // namespace herald::sio
