// Tests of Socket.IO v5 text frame decoding and payload validation, including every malformed
// input we know of (socket.io-parser's tests, the protocol test suite, and stricter cases).
#include <gtest/gtest.h>

#include <string>

#include "edge/socketio/packet.h"

namespace herald::sio {
namespace {

Packet decoded(std::string_view text, const DecodeLimits& limits = {}) {
  Result<Packet> p = decode_packet(text, limits);
  EXPECT_TRUE(p.ok()) << text << " -> " << p.status().to_string();
  return p.ok() ? std::move(p).value() : Packet{};
}

// Expects decode_packet to refuse `text` with a message containing `error`.
void refused(std::string_view text, std::string_view error, const DecodeLimits& limits = {}) {
  Result<Packet> p = decode_packet(text, limits);
  ASSERT_FALSE(p.ok()) << "accepted: " << text;
  EXPECT_NE(p.status().message().find(error), std::string::npos)
      << text << " -> " << p.status().to_string() << " (expected '" << error << "')";
}

Packet make(PacketType type, std::string nsp, std::optional<uint64_t> id, std::string data,
            uint32_t attachments = 0) {
  return Packet{type, std::move(nsp), id, std::move(data), attachments};
}

TEST(DecodeTest, ProtocolExamples) {
  EXPECT_EQ(decoded("0"), make(PacketType::kConnect, "/", {}, ""));
  EXPECT_EQ(decoded(R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})"),
            make(PacketType::kConnect, "/admin", {}, R"({"sid":"oSO0OpakMV_3jnilAAAA"})"));
  EXPECT_EQ(decoded(R"(4{"message":"Not authorized"})"),
            make(PacketType::kConnectError, "/", {}, R"({"message":"Not authorized"})"));
  EXPECT_EQ(decoded(R"(2["foo"])"), make(PacketType::kEvent, "/", {}, R"(["foo"])"));
  EXPECT_EQ(decoded(R"(2/admin,["bar"])"), make(PacketType::kEvent, "/admin", {}, R"(["bar"])"));
  EXPECT_EQ(decoded(R"(51-["baz",{"_placeholder":true,"num":0}])"),
            make(PacketType::kBinaryEvent, "/", {}, R"(["baz",{"_placeholder":true,"num":0}])", 1));
  EXPECT_EQ(
      decoded(R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"),
      make(PacketType::kBinaryEvent, "/admin", {},
           R"(["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", 2));
  EXPECT_EQ(decoded(R"(212["foo"])"), make(PacketType::kEvent, "/", 12, R"(["foo"])"));
  EXPECT_EQ(decoded(R"(3/admin,13["bar"])"), make(PacketType::kAck, "/admin", 13, R"(["bar"])"));
  EXPECT_EQ(decoded(R"(61-15["bar",{"_placeholder":true,"num":0}])"),
            make(PacketType::kBinaryAck, "/", 15, R"(["bar",{"_placeholder":true,"num":0}])", 1));
  EXPECT_EQ(decoded("1"), make(PacketType::kDisconnect, "/", {}, ""));
  EXPECT_EQ(decoded("1/admin,"), make(PacketType::kDisconnect, "/admin", {}, ""));
}

TEST(DecodeTest, SampleSessionAndTestSuiteFrames) {
  // Frames from socket.io-protocol's sample session and test-suite (without the Engine.IO '4').
  EXPECT_EQ(decoded("0"), make(PacketType::kConnect, "/", {}, ""));
  EXPECT_EQ(decoded(R"(0{"token":"123"})"),
            make(PacketType::kConnect, "/", {}, R"({"token":"123"})"));
  EXPECT_EQ(decoded("0/custom,"), make(PacketType::kConnect, "/custom", {}, ""));
  EXPECT_EQ(decoded(R"(0/custom,{"token":"abc"})"),
            make(PacketType::kConnect, "/custom", {}, R"({"token":"abc"})"));
  EXPECT_EQ(decoded("0/random"), make(PacketType::kConnect, "/random", {}, ""));  // no comma
  EXPECT_EQ(decoded("1/custom"), make(PacketType::kDisconnect, "/custom", {}, ""));
  EXPECT_EQ(decoded(R"(2["hey","Jude"])"), make(PacketType::kEvent, "/", {}, R"(["hey","Jude"])"));
  EXPECT_EQ(decoded(R"(2/admin,1["tellme"])"),
            make(PacketType::kEvent, "/admin", 1, R"(["tellme"])"));
  EXPECT_EQ(decoded(R"(61-/admin,1[{"_placeholder":true,"num":0}])"),
            make(PacketType::kBinaryAck, "/admin", 1, R"([{"_placeholder":true,"num":0}])", 1));
  EXPECT_EQ(decoded(R"(2["message",1,"2",{"3":[true]}])"),
            make(PacketType::kEvent, "/", {}, R"(["message",1,"2",{"3":[true]}])"));
  EXPECT_EQ(decoded(R"(2456["message-with-ack",1,"2",{"3":[false]}])"),
            make(PacketType::kEvent, "/", 456, R"(["message-with-ack",1,"2",{"3":[false]}])"));
  EXPECT_EQ(decoded(R"(3456[1,"2",{"3":[false]}])"),
            make(PacketType::kAck, "/", 456, R"([1,"2",{"3":[false]}])"));
  EXPECT_EQ(
      decoded(
          R"(52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"),
      make(PacketType::kBinaryEvent, "/", 789,
           R"(["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
           2));
  EXPECT_EQ(decoded(R"(4/random,{"message":"Invalid namespace"})"),
            make(PacketType::kConnectError, "/random", {}, R"({"message":"Invalid namespace"})"));
}

TEST(DecodeTest, SocketIoParserEncodings) {
  // What socket.io-parser's Encoder produces for its test/parser.js and test/buffer.js packets.
  EXPECT_EQ(decoded(R"(0/woot,{"token":"123"})"),
            make(PacketType::kConnect, "/woot", {}, R"({"token":"123"})"));
  EXPECT_EQ(decoded("1/woot,"), make(PacketType::kDisconnect, "/woot", {}, ""));
  EXPECT_EQ(decoded(R"(2["a",1,{}])"), make(PacketType::kEvent, "/", {}, R"(["a",1,{}])"));
  EXPECT_EQ(decoded(R"(2/test,1["a",1,{}])"),
            make(PacketType::kEvent, "/test", 1, R"(["a",1,{}])"));
  EXPECT_EQ(decoded(R"(3123["a",1,{}])"), make(PacketType::kAck, "/", 123, R"(["a",1,{}])"));
  EXPECT_EQ(decoded(R"(4"Unauthorized")"),
            make(PacketType::kConnectError, "/", {}, R"("Unauthorized")"));
  EXPECT_EQ(decoded(R"(4{"message":"Unauthorized"})"),
            make(PacketType::kConnectError, "/", {}, R"({"message":"Unauthorized"})"));
  EXPECT_EQ(
      decoded(R"(51-/cool,23["a",{"_placeholder":true,"num":0}])"),
      make(PacketType::kBinaryEvent, "/cool", 23, R"(["a",{"_placeholder":true,"num":0}])", 1));
  EXPECT_EQ(decoded(R"(51-/cool,23["a",{"b":["c",{"_placeholder":true,"num":0}]}])"),
            make(PacketType::kBinaryEvent, "/cool", 23,
                 R"(["a",{"b":["c",{"_placeholder":true,"num":0}]}])", 1));
  EXPECT_EQ(
      decoded(R"(61-/back,127["a",{"_placeholder":true,"num":0},{}])"),
      make(PacketType::kBinaryAck, "/back", 127, R"(["a",{"_placeholder":true,"num":0},{}])", 1));
  EXPECT_EQ(decoded(R"(50-["hello"])"), make(PacketType::kBinaryEvent, "/", {}, R"(["hello"])", 0));
}

TEST(DecodeTest, AcceptedOddities) {
  // Reserved names are the server layer's business.
  EXPECT_EQ(decoded(R"(2["connect"])").data_json, R"(["connect"])");
  EXPECT_EQ(decoded(R"(2["disconnect","123"])").data_json, R"(["disconnect","123"])");
  // JSON allows whitespace around values; the payload is kept verbatim.
  EXPECT_EQ(decoded("2 [ \"a\" , 1 ] \n").data_json, " [ \"a\" , 1 ] \n");
  // An ack id on any type is parsed (socket.io-parser does too).
  EXPECT_EQ(decoded("07{}").id, 7u);
  // The largest safe ack id, and leading zeros.
  EXPECT_EQ(decoded(R"(29007199254740991["a"])").id, kMaxAckId);
  EXPECT_EQ(decoded(R"(2007["a"])").id, 7u);
  EXPECT_EQ(decoded(R"(30[])").id, 0u);
  // Namespaces: "/" explicitly, UTF-8, and no comma before the end.
  EXPECT_EQ(decoded("0/,").nsp, "/");
  EXPECT_EQ(decoded("0/ünï,{}").nsp, "/ünï");
  EXPECT_EQ(decoded("1/a/b").nsp, "/a/b");
  // Unicode and escapes inside JSON.
  EXPECT_EQ(decoded(R"(2["\u00e9v\"t","😀"])").data_json, R"(["\u00e9v\"t","😀"])");
  // CONNECT_ERROR with an empty object; ACK with no argument.
  EXPECT_TRUE(decode_packet("4{}").ok());
  EXPECT_TRUE(decode_packet("31[]").ok());
  // Deeply nested but within the limit.
  std::string deep = "2[\"a\"," + std::string(62, '[') + std::string(62, ']') + "]";
  EXPECT_TRUE(decode_packet(deep).ok());
}

TEST(DecodeTest, RefusesBadPacketType) {
  refused("", "empty packet");
  refused("7", "unknown packet type");
  refused("999", "unknown packet type");
  refused("a", "unknown packet type");
  refused("abc", "unknown packet type");  // test suite: "4abc"
  refused("/", "unknown packet type");
  refused("[\"a\"]", "unknown packet type");
  refused(" 2[\"a\"]", "unknown packet type");
  refused("-1", "unknown packet type");
  refused(std::string_view("\0", 1), "unknown packet type");
}

TEST(DecodeTest, RefusesIllegalAttachments) {
  refused("5", "illegal attachments");  // socket.io-parser's isInvalidAttachmentCount cases
  refused("51", "illegal attachments");
  refused("5a-", "illegal attachments");
  refused("51.23-", "illegal attachments");
  refused("6", "illegal attachments");
  refused("5-[\"a\"]", "illegal attachments");  // no count (socket.io-parser would read 0)
  refused("52[\"a\"]", "illegal attachments");  // Engine.IO "452[...]": a count but no '-'
  refused("5 1-[\"a\"]", "illegal attachments");
  refused("5+1-[\"a\"]", "illegal attachments");
  refused("512345678901-[\"a\"]", "illegal attachments");  // too many digits
  refused("518446744073709551617-[\"a\"]", "illegal attachments");
  refused("51[\"a\",{\"_placeholder\":true,\"num\":0}]", "illegal attachments");
}

TEST(DecodeTest, RefusesTooManyAttachments) {
  DecodeLimits limits;
  limits.max_attachments = 2;
  // socket.io-parser's "throws an error when receiving too many attachments"
  Result<Packet> p = decode_packet(
      R"(53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}])",
      limits);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(p.status().message().find("too many attachments"), std::string::npos);
  refused("511-[\"a\"]", "too many attachments");  // default limit is 10
  refused("54294967296-[\"a\"]", "too many attachments");
  refused("59999999999-[\"a\"]", "too many attachments");
}

TEST(DecodeTest, RefusesInvalidPayloads) {
  // socket.io-parser's "throw an error upon parsing error" cases, after the Engine.IO prefix.
  refused(R"(42["some","data")", "invalid JSON");  // '4' is CONNECT_ERROR, and it is cut
  refused(R"(0/admin,"invalid")", "CONNECT payload must be an object");
  refused("0[]", "CONNECT payload must be an object");
  refused("1/admin,{}", "DISCONNECT with a payload");
  refused(R"(2/admin,"invalid)", "invalid JSON");
  refused("2/admin,{}", "EVENT payload must be an array");
  refused(R"(2[{"toString":"foo"}])", "event name must be a string");
  refused(R"(2[true,"foo"])", "event name must be a string");
  refused(R"(2[null,"bar"])", "event name must be a string");
  // The protocol test suite's invalid frames.
  refused("2{}", "EVENT payload must be an array");
  refused(R"(2abc["message-with-ack",1,"2",{"3":[false]}])", "invalid JSON");
  // Per type.
  refused("0null", "CONNECT payload must be an object");
  refused("0\"x\"", "CONNECT payload must be an object");
  refused("0 ", "invalid JSON");
  refused("1[]", "DISCONNECT with a payload");
  refused("4", "CONNECT_ERROR without payload");
  refused("4[]", "CONNECT_ERROR payload must be an object or a string");
  refused("4 1", "CONNECT_ERROR payload must be an object or a string");
  refused("2", "EVENT without payload");
  refused("2/chat,", "EVENT without payload");
  refused("2[]", "EVENT payload is an empty array");
  refused("2[1]", "event name must be a string");  // socket.io-parser accepts numbers; we do not
  refused("2[[\"a\"]]", "event name must be a string");
  refused("2\"a\"", "EVENT payload must be an array");
  refused("3", "ACK without payload");
  refused("3{}", "ACK payload must be an array");
  refused("31\"x\"", "ACK payload must be an array");
  refused("50-", "BINARY_EVENT without payload");
  refused("50-{}", "EVENT payload must be an array");
  refused("60-", "BINARY_ACK without payload");
  refused("60-{}", "ACK payload must be an array");
  // Not JSON.
  refused(R"(2["a",])", "invalid JSON");
  refused(R"(2["a"]])", "invalid JSON");
  refused(R"(2["a"] x)", "invalid JSON");
  refused(R"(2['a'])", "invalid JSON");
  refused(R"(2["a",NaN])", "invalid JSON");
  refused(R"(2["a",undefined])", "invalid JSON");
  refused(R"(2["a",01])", "invalid JSON");
  refused(R"(2["a",/*c*/1])", "invalid JSON");
  refused("2[\"a\tb\"]", "invalid JSON");  // raw control character in a string
  refused(R"(2["a\x"])", "invalid JSON");
  refused(R"(2["\ud800"])", "invalid JSON");
  // nlohmann stops at a NUL byte as if the input ended there.
  refused(std::string_view("2[\"a\"]\0garbage", 14), "invalid JSON");
  refused(std::string_view("2[\"a\"]\0", 7), "invalid JSON");
  refused(std::string_view("2[\"a\0\"]", 7), "invalid JSON");
  refused(std::string_view("0{}\0\0", 5),
          "invalid JSON");  // lone surrogate escape (JSON.parse would accept)
}

TEST(DecodeTest, DisconnectWithAckIdIsStillWithoutPayload) {
  // "10": DISCONNECT, ack id 0, no payload: the id is consumed, nothing is left for the payload.
  Result<Packet> p = decode_packet("10");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->id, 0u);
}

TEST(DecodeTest, RefusesInvalidUtf8) {
  refused("2[\"\xff\"]", "invalid JSON");
  refused("2[\"a\xc3\"]", "invalid JSON");
  refused("2[\"\xc0\xaf\"]", "invalid JSON");      // overlong '/'
  refused("2[\"\xed\xa0\x80\"]", "invalid JSON");  // UTF-8 encoded surrogate
  refused("2[\"\xf4\x90\x80\x80\"]", "invalid JSON");
  refused("0/\xff,{}", "namespace is not valid UTF-8");
  refused("0/a\xc3", "namespace is not valid UTF-8");
}

TEST(DecodeTest, RefusesAckIdOverflow) {
  refused(R"(29007199254740992["a"])", "ack id overflow");  // 2^53
  refused(R"(299999999999999999["a"])", "ack id overflow");
  refused(R"(218446744073709551616["a"])", "ack id overflow");  // 2^64
  refused(R"(2/chat,99999999999999999999999999999999["a"])", "ack id overflow");
  refused("3" + std::string(10000, '9') + "[]", "ack id overflow");
}

TEST(DecodeTest, NamespaceWithoutComma) {
  // socket.io-parser reads the namespace up to ',' or the end: without a comma everything left is
  // namespace, so a payload cannot follow.
  EXPECT_EQ(decoded("0/chat").nsp, "/chat");
  EXPECT_EQ(decoded(R"(0/chat{"token":1})").nsp, R"(/chat{"token":1})");
  refused(R"(2/chat["a"])", "EVENT without payload");
  refused(R"(2/chat12["a"])", "EVENT without payload");
  refused(R"(3/chat12[])", "ACK without payload");
  // A namespace that does not start with '/' is not one: it is read as the payload.
  refused(R"(2chat,["a"])", "invalid JSON");
}

TEST(DecodeTest, RefusesDeepNesting) {
  const std::string ok = "2[\"a\"," + std::string(63, '[') + std::string(63, ']') + "]";
  EXPECT_TRUE(decode_packet(ok).ok());  // 64 levels
  const std::string deep = "2[\"a\"," + std::string(64, '[') + std::string(64, ']') + "]";
  refused(deep, "nested deeper than 64");
  refused("2" + std::string(100000, '['), "nested deeper than 64");
  std::string objects = "0";
  for (int i = 0; i < 100; ++i) objects += "{\"a\":";
  refused(objects + "1" + std::string(100, '}'), "nested deeper than 64");
  DecodeLimits limits;
  limits.max_json_depth = 2;
  EXPECT_TRUE(decode_packet(R"(2["a",[1]])", limits).ok());
  refused(R"(2["a",[[1]]])", "nested deeper than 2", limits);
  refused(R"(2["a",{"b":{}}])", "nested deeper than 2", limits);
}

TEST(DecodeTest, VeryLongInputs) {
  const std::string big_string = "2[\"a\",\"" + std::string(1 << 20, 'x') + "\"]";
  EXPECT_EQ(decoded(big_string).data_json.size(), big_string.size() - 1);
  std::string many = "2[\"a\"";
  for (int i = 0; i < 100000; ++i) many += ",1";
  many += "]";
  EXPECT_TRUE(decode_packet(many).ok());
  const std::string long_nsp = "0/" + std::string(100000, 'n') + ",{}";
  EXPECT_EQ(decoded(long_nsp).nsp.size(), 100001u);
  refused("2[\"a\"," + std::string(1 << 20, ' '), "invalid JSON");
}

TEST(DecodeTest, PlaceholdersMustReferenceAttachments) {
  // socket.io-parser's "invalid 'num' attribute" cases.
  refused(R"(51-["hello",{"_placeholder":true,"num":"splice"}])", "placeholder");
  refused(R"(51-["hello",{"_placeholder":true,"num":1}])", "placeholder");
  // Out of range, negative, fractional, missing, not a number.
  refused(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":2}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":-1}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":0.5}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":null}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":[0]}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":true}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":1e300}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":18446744073709551616}])", "placeholder");
  refused(R"(51-["a",{"_placeholder":true,"num":0,"num":"x"}])", "placeholder");  // last wins
  refused(R"(50-["a",{"_placeholder":true,"num":0}])", "placeholder");
  // Nested deep inside arrays and objects.
  refused(R"(51-["a",{"x":[1,{"y":{"_placeholder":true,"num":3}}]}])", "placeholder");
  // Duplicated or missing references.
  refused(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])",
          "attachment 0 has more than one placeholder");
  refused(R"(52-["a",{"_placeholder":true,"num":1}])", "attachment 0 has no placeholder");
  refused(R"(51-["a"])", "attachment 0 has no placeholder");
  refused(R"(61-[])", "attachment 0 has no placeholder");
}

TEST(DecodeTest, PlaceholderLookalikesAreOrdinaryObjects) {
  // Only "_placeholder": true makes a placeholder, as in reconstructPacket.
  EXPECT_TRUE(decode_packet(R"(50-["a",{"_placeholder":false,"num":7}])").ok());
  EXPECT_TRUE(decode_packet(R"(50-["a",{"_placeholder":"true","num":7}])").ok());
  EXPECT_TRUE(decode_packet(R"(50-["a",{"_placeholder":1,"num":7}])").ok());
  EXPECT_TRUE(decode_packet(R"(50-["a",{"_placeholder":{"_placeholder":false},"num":7}])").ok());
  EXPECT_TRUE(decode_packet(R"(50-["a",{"_placeholder":true,"_placeholder":false,"num":7}])").ok());
  EXPECT_TRUE(decode_packet(R"(50-["a",["_placeholder",true,"num",7]])").ok());
  EXPECT_TRUE(decode_packet(R"(50-["a",{"x":"_placeholder"}])").ok());
  // Key order, extra keys and an integral float do not matter.
  EXPECT_TRUE(decode_packet(R"(51-["a",{"num":0,"_placeholder":true}])").ok());
  EXPECT_TRUE(decode_packet(R"(51-["a",{"_placeholder":true,"num":0,"extra":{}}])").ok());
  EXPECT_TRUE(decode_packet(R"(51-["a",{"_placeholder":true,"num":0.0}])").ok());
  EXPECT_TRUE(decode_packet(R"(51-["a",{"_placeholder":false,"num":0,"_placeholder":true}])").ok());
  // Non-binary packets are not inspected for placeholders.
  EXPECT_TRUE(decode_packet(R"(2["a",{"_placeholder":true,"num":5}])").ok());
  // Out of order references are fine.
  EXPECT_TRUE(
      decode_packet(
          R"(53-["a",{"_placeholder":true,"num":2},[{"_placeholder":true,"num":0}],{"k":{"_placeholder":true,"num":1}}])")
          .ok());
}

TEST(DecodeTest, LenientPlaceholdersFollowTheReference) {
  DecodeLimits limits;
  limits.strict_placeholders = false;
  EXPECT_TRUE(decode_packet(
                  R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])", limits)
                  .ok());
  EXPECT_TRUE(decode_packet(R"(52-["a"])", limits).ok());
  refused(R"(51-["a",{"_placeholder":true,"num":1}])", "placeholder", limits);
}

TEST(DecodeTest, ErrorsAreInvalidArgumentExceptLimits) {
  EXPECT_EQ(decode_packet("9").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decode_packet("2{}").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decode_packet("599-[]").status().code(), StatusCode::kResourceExhausted);
  // Messages never quote the input (which may be anything).
  const Status s = decode_packet("2[\"\xff secret").status();
  EXPECT_EQ(s.message().find("secret"), std::string::npos) << s.message();
}

TEST(ParseJsonTest, ParsesAndCapsDepth) {
  Result<nlohmann::json> j = parse_json(R"(["a",{"b":[1,2]}])");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)[1]["b"][1], 2);
  EXPECT_FALSE(parse_json("[").ok());
  EXPECT_FALSE(parse_json("").ok());
  EXPECT_FALSE(parse_json("\"\xff\"").ok());
  EXPECT_FALSE(parse_json(std::string_view("[1]\0]", 5)).ok());
  EXPECT_FALSE(parse_json(std::string(65, '[') + std::string(65, ']')).ok());
  EXPECT_TRUE(parse_json(std::string(64, '[') + std::string(64, ']')).ok());
  EXPECT_FALSE(parse_json(std::string(1000000, '[')).ok());
}

TEST(ParseJsonTest, DepthScanSkipsStrings) {
  EXPECT_FALSE(json_depth_exceeds(R"(["[[[[", "{{{{\"[[["])", 2));
  EXPECT_TRUE(json_depth_exceeds(R"([[["]"]]])", 2));
  EXPECT_FALSE(json_depth_exceeds(R"([[["]"]]])", 3));
  EXPECT_FALSE(json_depth_exceeds("]]]][[", 2));
  EXPECT_FALSE(json_depth_exceeds("\"unterminated [[[[", 1));
  EXPECT_FALSE(json_depth_exceeds("", 0));
  EXPECT_TRUE(json_depth_exceeds("{", 0));
}

TEST(ReservedEventsTest, MatchesSocketIoParser) {
  for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                           "removeListener"}) {
    EXPECT_TRUE(is_reserved_event_name(name)) << name;
  }
  for (const char* name : {"", "message", "Connect", "connect ", "error", "ping"}) {
    EXPECT_FALSE(is_reserved_event_name(name)) << name;
  }
}

TEST(SplitEventTest, SplitsNameAndArgs) {
  struct Case {
    const char* data;
    const char* name;
    const char* args_rest;
    const char* args_json;
  };
  const Case cases[] = {
      {R"(["foo"])", "foo", "]", "[]"},
      {R"(["hey","Jude"])", "hey", R"("Jude"])", R"(["Jude"])"},
      {R"(["message",1,"2",{"3":[true]}])", "message", R"(1,"2",{"3":[true]}])",
       R"([1,"2",{"3":[true]}])"},
      {R"( [ "a" , 1 ] )", "a", " 1 ] ", "[ 1 ] "},
      {"[\n\"a\"\t]", "a", "]", "[]"},
      {R"(["",null])", "", "null]", "[null]"},
      {R"(["a,b]",{"_placeholder":true,"num":0}])", "a,b]", R"({"_placeholder":true,"num":0}])",
       R"([{"_placeholder":true,"num":0}])"},
      {R"(["\u00e9\"\\\n",2])", "é\"\\\n", "2]", "[2]"},
      {R"(["😀"])", "😀", "]", "[]"},
  };
  for (const Case& c : cases) {
    Result<EventParts> parts = split_event(c.data);
    ASSERT_TRUE(parts.ok()) << c.data << " " << parts.status().to_string();
    EXPECT_EQ(parts->name, c.name) << c.data;
    EXPECT_EQ(parts->args_rest, c.args_rest) << c.data;
    EXPECT_EQ(parts->args_json(), c.args_json) << c.data;
  }
}

TEST(SplitEventTest, WorksOnDecodedPackets) {
  const Packet p = decoded(R"(2/chat,5["msg",{"text":"hi"},[1,2]])");
  Result<EventParts> parts = split_event(p.data_json);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->name, "msg");
  EXPECT_EQ(parts->args_json(), R"([{"text":"hi"},[1,2]])");
}

TEST(SplitEventTest, RefusesWhatIsNotAnEvent) {
  for (const char* bad : {"", "{}", "[]", "[1]", "[\"a\"", "[\"a\" 1]", "[\"unterminated]", "  ",
                          "[", "\"a\"", "[null,\"a\"]"}) {
    EXPECT_FALSE(split_event(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace herald::sio
