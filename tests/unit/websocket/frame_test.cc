// Tests for the RFC 6455 frame parser and encoder: RFC examples, every length form, masking,
// fragmentation, every protocol error with its close code, and arbitrary read boundaries.
#include "edge/websocket/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace herald::ws {
namespace {

constexpr std::array<std::uint8_t, 4> kMask = {0x37, 0xFA, 0x21, 0x3D};  // RFC 6455 §5.7

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

std::string masked(Opcode op, std::string_view payload, bool fin = true) {
  std::string out;
  encode_masked_frame(out, op, payload, kMask, fin);
  return out;
}

std::string unmasked(Opcode op, std::string_view payload, bool fin = true) {
  std::string out;
  encode_frame(out, op, payload, fin);
  return out;
}

struct Got {
  Opcode opcode;
  std::string payload;
  bool operator==(const Got&) const = default;
};

void PrintTo(const Got& g, std::ostream* os) {
  *os << opcode_name(g.opcode) << ":" << testing::PrintToString(g.payload);
}

struct Outcome {
  std::vector<Got> messages;
  bool ok = true;
  CloseCode code = CloseCode::kNormal;
  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
  *os << (o.ok ? "ok" : "error ") << (o.ok ? 0 : static_cast<int>(o.code)) << " "
      << testing::PrintToString(o.messages);
}

// Feeds `wire` to `parser` the way the transport will: each read lands in a scratch buffer that
// is overwritten afterwards, so a parser that kept a view into an old read would be caught.
// `cuts` are the read boundaries.
Outcome run(FrameParser& parser, const std::string& wire, const std::vector<std::size_t>& cuts) {
  Outcome out;
  std::vector<char> scratch;
  std::size_t start = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(wire.size());
  for (std::size_t end : ends) {
    scratch.assign(wire.begin() + static_cast<std::ptrdiff_t>(start),
                   wire.begin() + static_cast<std::ptrdiff_t>(end));
    start = end;
    Status st = parser.feed(std::span<char>(scratch), [&](const Message& m) {
      out.messages.push_back({m.opcode, std::string(m.payload)});
    });
    std::memset(scratch.data(), 0xAA, scratch.size());
    if (!st.ok()) {
      out.ok = false;
      out.code = parser.error_code();
      EXPECT_TRUE(parser.failed());
      EXPECT_EQ(st.code(), parser.error_code() == CloseCode::kMessageTooBig
                               ? StatusCode::kResourceExhausted
                               : StatusCode::kInvalidArgument);
      break;
    }
  }
  return out;
}

Outcome parse(const std::string& wire, Role role = Role::kServer,
              std::size_t max = FrameParser::kDefaultMaxMessageSize) {
  FrameParser parser(max, role);
  return run(parser, wire, {});
}

Outcome parse_bytewise(const std::string& wire, Role role = Role::kServer,
                       std::size_t max = FrameParser::kDefaultMaxMessageSize) {
  FrameParser parser(max, role);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < wire.size(); ++i) cuts.push_back(i);
  return run(parser, wire, cuts);
}

Outcome error(CloseCode code, std::vector<Got> before = {}) {
  return Outcome{std::move(before), false, code};
}

Outcome messages(std::vector<Got> got) {
  return Outcome{std::move(got), true, CloseCode::kNormal};
}

// --- RFC 6455 §5.7 examples -------------------------------------------------------------

TEST(FrameParser, RfcSingleFrameUnmaskedText) {
  const std::string wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  EXPECT_EQ(parse(wire, Role::kClient), messages({{Opcode::kText, "Hello"}}));
  EXPECT_EQ(unmasked(Opcode::kText, "Hello"), wire);
  // A server requires masked frames.
  EXPECT_EQ(parse(wire, Role::kServer), error(CloseCode::kProtocolError));
}

TEST(FrameParser, RfcSingleFrameMaskedText) {
  const std::string wire =
      bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(parse(wire), messages({{Opcode::kText, "Hello"}}));
  EXPECT_EQ(masked(Opcode::kText, "Hello"), wire);
  // A client rejects masked frames.
  EXPECT_EQ(parse(wire, Role::kClient), error(CloseCode::kProtocolError));
}

TEST(FrameParser, RfcFragmentedUnmaskedText) {
  const std::string wire = bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
  EXPECT_EQ(parse(wire, Role::kClient), messages({{Opcode::kText, "Hello"}}));
  EXPECT_EQ(parse_bytewise(wire, Role::kClient), messages({{Opcode::kText, "Hello"}}));
}

TEST(FrameParser, RfcPingAndMaskedPong) {
  EXPECT_EQ(parse(bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), Role::kClient),
            messages({{Opcode::kPing, "Hello"}}));
  EXPECT_EQ(parse(bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})),
            messages({{Opcode::kPong, "Hello"}}));
}

TEST(FrameParser, RfcBinary256And64KiB) {
  const std::string p256(256, 'x');
  std::string wire = bytes({0x82, 0x7E, 0x01, 0x00}) + p256;
  EXPECT_EQ(parse(wire, Role::kClient), messages({{Opcode::kBinary, p256}}));
  EXPECT_EQ(unmasked(Opcode::kBinary, p256), wire);

  const std::string p64k(65536, 'y');
  wire = bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}) + p64k;
  EXPECT_EQ(parse(wire, Role::kClient), messages({{Opcode::kBinary, p64k}}));
  EXPECT_EQ(unmasked(Opcode::kBinary, p64k), wire);
}

// --- lengths and masking -------------------------------------------------------------------

TEST(FrameParser, EveryLengthForm) {
  for (std::size_t n : {0, 1, 124, 125, 126, 127, 128, 1000, 65535, 65536, 65537, 200000}) {
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7 + 3);
    const std::string wire = masked(Opcode::kBinary, payload);
    const std::size_t header = n < 126 ? 6 : n <= 65535 ? 8 : 14;
    EXPECT_EQ(wire.size(), header + n);
    EXPECT_EQ(parse(wire), messages({{Opcode::kBinary, payload}})) << n;
    // Split inside the header and inside the payload.
    for (std::size_t cut : {std::size_t{1}, std::size_t{3}, header - 1, header, header + n / 2}) {
      if (cut >= wire.size()) continue;
      FrameParser parser;
      EXPECT_EQ(run(parser, wire, {cut}), messages({{Opcode::kBinary, payload}}))
          << n << "@" << cut;
    }
  }
}

TEST(FrameParser, NonMinimalLengthsAreAccepted) {
  // RFC 6455 asks senders for the minimal form; like `ws` and browsers, receivers accept others.
  std::string wire = bytes({0x81, 0xFE, 0x00, 0x05, 0, 0, 0, 0}) + "Hello";
  EXPECT_EQ(parse(wire), messages({{Opcode::kText, "Hello"}}));
  wire = bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0}) + "Hello";
  EXPECT_EQ(parse(wire), messages({{Opcode::kText, "Hello"}}));
}

TEST(FrameParser, SixtyFourBitLengthWithTopBitIsRejected) {
  const std::string wire = bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 1, 2, 3, 4});
  EXPECT_EQ(parse(wire, Role::kServer, FrameParser::kMaxMessageSizeLimit),
            error(CloseCode::kProtocolError));
}

TEST(FrameParser, ApplyMaskMatchesBytewiseXorAtEveryOffset) {
  for (std::size_t size = 0; size < 40; ++size) {
    for (std::size_t offset = 0; offset < 4; ++offset) {
      std::string data(size, '\0');
      for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 31 + 5);
      std::string expect = data;
      for (std::size_t i = 0; i < size; ++i) {
        expect[i] = static_cast<char>(expect[i] ^ kMask[(offset + i) % 4]);
      }
      apply_mask(data.data(), data.size(), kMask, offset);
      EXPECT_EQ(data, expect) << size << " " << offset;
    }
  }
}

TEST(FrameParser, MaskKeyIsHonouredAcrossReads) {
  std::string payload(1000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i);
  std::string wire;
  encode_masked_frame(wire, Opcode::kBinary, payload, {0x01, 0x80, 0xFF, 0x7E});
  for (std::size_t cut = 1; cut < wire.size(); cut += 37) {
    FrameParser parser;
    EXPECT_EQ(run(parser, wire, {cut, cut + 3 < wire.size() ? cut + 3 : cut}),
              messages({{Opcode::kBinary, payload}}))
        << cut;
  }
}

// --- fragmentation ----------------------------------------------------------------------

std::string fragmented_with_controls() {
  return masked(Opcode::kText, "Hel", false) + masked(Opcode::kPing, "p1") +
         masked(Opcode::kContinuation, "lo ", false) + masked(Opcode::kPong, "") +
         masked(Opcode::kContinuation, "", false) +
         masked(Opcode::kContinuation, "w\xC3\xB6rld", true) + masked(Opcode::kBinary, "bin");
}

TEST(FrameParser, FragmentationWithInterleavedControlFrames) {
  const Outcome expect = messages({{Opcode::kPing, "p1"},
                                   {Opcode::kPong, ""},
                                   {Opcode::kText, "Hello w\xC3\xB6rld"},
                                   {Opcode::kBinary, "bin"}});
  EXPECT_EQ(parse(fragmented_with_controls()), expect);
  EXPECT_EQ(parse_bytewise(fragmented_with_controls()), expect);
}

TEST(FrameParser, FragmentedBinaryAndEmptyFragments) {
  const std::string wire =
      masked(Opcode::kBinary, "", false) + masked(Opcode::kContinuation, "", false) +
      masked(Opcode::kContinuation, "", true) + masked(Opcode::kBinary, "a", false) +
      masked(Opcode::kContinuation, std::string(300, 'b'), true);
  EXPECT_EQ(parse(wire),
            messages({{Opcode::kBinary, ""}, {Opcode::kBinary, "a" + std::string(300, 'b')}}));
}

TEST(FrameParser, UtfSequenceSplitAcrossFragments) {
  // "€" = E2 82 AC split over three fragments (Autobahn 6.2.4-style).
  const std::string wire = masked(Opcode::kText, "\xE2", false) +
                           masked(Opcode::kContinuation, "\x82", false) +
                           masked(Opcode::kContinuation, "\xAC", true);
  EXPECT_EQ(parse(wire), messages({{Opcode::kText, "\xE2\x82\xAC"}}));
  EXPECT_EQ(parse_bytewise(wire), messages({{Opcode::kText, "\xE2\x82\xAC"}}));
}

TEST(FrameParser, ControlFrameSpanningReadsInsideFragmentedMessage) {
  const std::string first = masked(Opcode::kText, "abc", false);
  const std::string ping = masked(Opcode::kPing, "0123456789");
  const std::string rest = masked(Opcode::kContinuation, "def", true);
  const std::string wire = first + ping + rest;
  FrameParser parser;
  // Cut in the middle of the ping payload so that it goes through the parser's buffer.
  const Outcome got = run(parser, wire, {first.size() + 9, first.size() + 12});
  EXPECT_EQ(got, messages({{Opcode::kPing, "0123456789"}, {Opcode::kText, "abcdef"}}));
}

// --- protocol errors ---------------------------------------------------------------------

TEST(FrameParser, RsvBitsWithoutExtension) {
  for (int rsv : {0x40, 0x20, 0x10, 0x70}) {
    std::string wire = masked(Opcode::kText, "x");
    wire[0] = static_cast<char>(wire[0] | rsv);
    EXPECT_EQ(parse(wire), error(CloseCode::kProtocolError)) << rsv;
  }
  // Also on a continuation and on a control frame.
  std::string cont = masked(Opcode::kContinuation, "y");
  cont[0] = static_cast<char>(cont[0] | 0x40);
  EXPECT_EQ(parse(masked(Opcode::kText, "x", false) + cont), error(CloseCode::kProtocolError));
  std::string ping = masked(Opcode::kPing, "");
  ping[0] = static_cast<char>(ping[0] | 0x20);
  EXPECT_EQ(parse(ping), error(CloseCode::kProtocolError));
}

TEST(FrameParser, ReservedOpcodes) {
  for (int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    std::string wire = masked(Opcode::kBinary, "x");
    wire[0] = static_cast<char>(0x80 | op);
    // A valid frame first: its message is delivered before the error.
    EXPECT_EQ(parse(masked(Opcode::kText, "ok") + wire),
              error(CloseCode::kProtocolError, {{Opcode::kText, "ok"}}))
        << op;
  }
}

TEST(FrameParser, UnmaskedClientFrame) {
  EXPECT_EQ(parse(unmasked(Opcode::kText, "x")), error(CloseCode::kProtocolError));
  EXPECT_EQ(parse(unmasked(Opcode::kPing, "")), error(CloseCode::kProtocolError));
}

TEST(FrameParser, ControlFrameTooLongOrFragmented) {
  std::string wire;
  encode_masked_frame(wire, Opcode::kPing, std::string(126, 'p'), kMask);
  EXPECT_EQ(parse(wire), error(CloseCode::kProtocolError));
  EXPECT_EQ(parse(masked(Opcode::kPing, std::string(125, 'p'))),
            messages({{Opcode::kPing, std::string(125, 'p')}}));
  EXPECT_EQ(parse(masked(Opcode::kPing, "p", false)), error(CloseCode::kProtocolError));
  EXPECT_EQ(parse(masked(Opcode::kPong, "p", false)), error(CloseCode::kProtocolError));
  EXPECT_EQ(parse(masked(Opcode::kClose, "", false)), error(CloseCode::kProtocolError));
}

TEST(FrameParser, ContinuationWithoutMessage) {
  EXPECT_EQ(parse(masked(Opcode::kContinuation, "x", true)), error(CloseCode::kProtocolError));
  EXPECT_EQ(parse(masked(Opcode::kContinuation, "x", false)), error(CloseCode::kProtocolError));
  // After a finished message, too.
  EXPECT_EQ(parse(masked(Opcode::kText, "a") + masked(Opcode::kContinuation, "b")),
            error(CloseCode::kProtocolError, {{Opcode::kText, "a"}}));
}

TEST(FrameParser, NewDataFrameDuringFragmentedMessage) {
  EXPECT_EQ(parse(masked(Opcode::kText, "a", false) + masked(Opcode::kText, "b")),
            error(CloseCode::kProtocolError));
  EXPECT_EQ(parse(masked(Opcode::kBinary, "a", false) + masked(Opcode::kText, "b", false)),
            error(CloseCode::kProtocolError));
  EXPECT_EQ(parse(masked(Opcode::kText, "a", false) + masked(Opcode::kBinary, "b")),
            error(CloseCode::kProtocolError));
}

TEST(FrameParser, MaxMessageSize) {
  EXPECT_EQ(parse(masked(Opcode::kBinary, std::string(100, 'a')), Role::kServer, 100),
            messages({{Opcode::kBinary, std::string(100, 'a')}}));
  EXPECT_EQ(parse(masked(Opcode::kBinary, std::string(101, 'a')), Role::kServer, 100),
            error(CloseCode::kMessageTooBig));
  // The limit applies to the whole message, and is checked at the header (before the payload).
  const std::string two = masked(Opcode::kText, std::string(60, 'a'), false) +
                          masked(Opcode::kContinuation, std::string(41, 'b'), true);
  EXPECT_EQ(parse(two, Role::kServer, 100), error(CloseCode::kMessageTooBig));
  FrameParser parser(100);
  const std::string big = masked(Opcode::kBinary, std::string(5000, 'a'));
  EXPECT_EQ(run(parser, big.substr(0, 8), {}), error(CloseCode::kMessageTooBig));
  // Control frames do not count towards the data message.
  const std::string with_ping = masked(Opcode::kText, std::string(60, 'a'), false) +
                                masked(Opcode::kPing, std::string(100, 'p')) +
                                masked(Opcode::kContinuation, std::string(40, 'b'), true);
  EXPECT_EQ(parse(with_ping, Role::kServer, 100),
            messages({{Opcode::kPing, std::string(100, 'p')},
                      {Opcode::kText, std::string(60, 'a') + std::string(40, 'b')}}));
  // A 64-bit length far above the limit.
  const std::string huge = bytes({0x82, 0xFF, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 1, 2, 3, 4});
  EXPECT_EQ(parse(huge), error(CloseCode::kMessageTooBig));
}

TEST(FrameParser, InvalidUtf8InText) {
  EXPECT_EQ(parse(masked(Opcode::kText, "a\xC0\x80")), error(CloseCode::kInvalidPayload));
  EXPECT_EQ(parse(masked(Opcode::kText, "\xED\xA0\x80")), error(CloseCode::kInvalidPayload));
  EXPECT_EQ(parse(masked(Opcode::kText, "ends in \xE2\x82")), error(CloseCode::kInvalidPayload));
  // Ending mid-sequence across fragments.
  EXPECT_EQ(parse(masked(Opcode::kText, "a", false) + masked(Opcode::kContinuation, "\xF0\x9F")),
            error(CloseCode::kInvalidPayload));
  // Binary messages are not checked.
  EXPECT_EQ(parse(masked(Opcode::kBinary, "\xC0\x80")), messages({{Opcode::kBinary, "\xC0\x80"}}));
}

TEST(FrameParser, InvalidUtf8FailsFastBeforeTheMessageEnds) {
  // Autobahn 6.4.1: the bad bytes arrive in the first fragment; the final one never comes.
  FrameParser parser;
  const std::string wire = masked(Opcode::kText, "\xCE\xBA\xE1\xBD\xB9\xF4\x90\x80\x80", false);
  EXPECT_EQ(run(parser, wire, {}), error(CloseCode::kInvalidPayload));
  // Also within one frame whose payload is still arriving.
  FrameParser parser2;
  const std::string frame = masked(Opcode::kText, "abc\xFF" + std::string(500, 'z'));
  EXPECT_EQ(run(parser2, frame.substr(0, 20), {}), error(CloseCode::kInvalidPayload));
}

TEST(FrameParser, CloseFrames) {
  EXPECT_EQ(parse(masked(Opcode::kClose, "")), messages({{Opcode::kClose, ""}}));
  const std::string payload = make_close_payload(CloseCode::kGoingAway, "bye \xC3\xA9");
  EXPECT_EQ(parse(masked(Opcode::kClose, payload)), messages({{Opcode::kClose, payload}}));
  auto info = parse_close_payload(payload);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->code, 1001);
  EXPECT_EQ(info->reason, "bye \xC3\xA9");
  auto empty = parse_close_payload("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->code, 1005);
}

TEST(FrameParser, InvalidClosePayloads) {
  EXPECT_EQ(parse(masked(Opcode::kClose, "\x03")), error(CloseCode::kProtocolError));
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    const std::string payload = make_close_payload(static_cast<std::uint16_t>(code));
    if (code == 1005) {  // make_close_payload writes nothing for 1005; put it on the wire anyway
      EXPECT_EQ(parse(masked(Opcode::kClose, bytes({0x03, 0xED}))),
                error(CloseCode::kProtocolError));
      continue;
    }
    EXPECT_EQ(parse(masked(Opcode::kClose, payload)), error(CloseCode::kProtocolError)) << code;
    EXPECT_FALSE(parse_close_payload(payload).ok()) << code;
  }
  const std::string bad_reason =
      make_close_payload(CloseCode::kNormal) + "\xCE\xBA\xE1\xBD\xB9\xED\xA0\x80";
  EXPECT_EQ(parse(masked(Opcode::kClose, bad_reason)), error(CloseCode::kInvalidPayload));
  EXPECT_FALSE(parse_close_payload(bad_reason).ok());
}

TEST(FrameParser, CloseCodeValidity) {
  // Autobahn 7.7.x (valid) and 7.9.x (invalid).
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    EXPECT_TRUE(is_valid_close_code(static_cast<std::uint16_t>(code))) << code;
    const std::string payload = make_close_payload(static_cast<std::uint16_t>(code), "r");
    EXPECT_EQ(parse(masked(Opcode::kClose, payload)), messages({{Opcode::kClose, payload}}));
  }
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(is_valid_close_code(static_cast<std::uint16_t>(code))) << code;
  }
}

TEST(FrameParser, NothingIsParsedAfterClose) {
  FrameParser parser;
  const std::string wire = masked(Opcode::kText, "a") + masked(Opcode::kClose, "") +
                           masked(Opcode::kText, "ignored") + "\xFF\xFF garbage";
  EXPECT_EQ(run(parser, wire, {}), messages({{Opcode::kText, "a"}, {Opcode::kClose, ""}}));
  EXPECT_TRUE(parser.closed());
  EXPECT_EQ(run(parser, masked(Opcode::kText, "more"), {}), messages({}));
  // A close inside a fragmented message ends it too.
  EXPECT_EQ(parse(masked(Opcode::kText, "a", false) + masked(Opcode::kClose, "") +
                  masked(Opcode::kContinuation, "b")),
            messages({{Opcode::kClose, ""}}));
}

TEST(FrameParser, ErrorsAreSticky) {
  FrameParser parser;
  std::string wire = unmasked(Opcode::kText, "x");
  std::span<char> in(wire);
  auto r = parser.next(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(parser.error_code(), CloseCode::kProtocolError);
  std::string more = masked(Opcode::kText, "y");
  std::span<char> in2(more);
  EXPECT_FALSE(parser.next(in2).ok());
  EXPECT_TRUE(in2.empty());
}

// --- read boundaries, batching, memory ----------------------------------------------------

std::string mixed_stream() {
  std::string wire;
  wire += masked(Opcode::kText, "first");
  wire += masked(Opcode::kBinary, std::string(126, 'm'));
  wire += masked(Opcode::kPing, "are you there");
  wire += fragmented_with_controls();
  wire += masked(Opcode::kBinary, std::string(70000, 'L'));
  wire += masked(Opcode::kText, "");
  wire += masked(Opcode::kText, "\xF0\x9F\x98\x80 emoji", false);
  wire += masked(Opcode::kPing, "");
  wire += masked(Opcode::kContinuation, " end");
  wire += masked(Opcode::kClose, make_close_payload(CloseCode::kNormal, "done"));
  return wire;
}

TEST(FrameParser, EverySingleSplitPointMatchesOneShot) {
  const std::string wire = mixed_stream();
  const Outcome expect = parse(wire);
  ASSERT_TRUE(expect.ok);
  ASSERT_EQ(expect.messages.size(), 12u);
  for (std::size_t cut = 1; cut < wire.size(); ++cut) {
    // The 70000-byte frame dominates; only every 997th cut inside it.
    const bool inside_big = cut > 400 && cut < wire.size() - 200;
    if (inside_big && cut % 997 != 0) continue;
    FrameParser parser;
    ASSERT_EQ(run(parser, wire, {cut}), expect) << "cut at " << cut;
  }
}

TEST(FrameParser, ByteByByteMatchesOneShot) {
  const std::string wire = mixed_stream();
  EXPECT_EQ(parse_bytewise(wire), parse(wire));
}

TEST(FrameParser, ErrorsAreFoundAtEveryReadBoundary) {
  const std::vector<std::pair<std::string, CloseCode>> cases = {
      {masked(Opcode::kText, "ab\xC0\xAF"), CloseCode::kInvalidPayload},
      {masked(Opcode::kPing, "x", false), CloseCode::kProtocolError},
      {masked(Opcode::kClose, "\x03\xE8\xFF"), CloseCode::kInvalidPayload},
      {masked(Opcode::kBinary, std::string(200, 'b')), CloseCode::kMessageTooBig},
      {masked(Opcode::kText, "a", false) + masked(Opcode::kText, "b"), CloseCode::kProtocolError},
  };
  for (const auto& [wire, code] : cases) {
    EXPECT_EQ(parse_bytewise(wire, Role::kServer, 150), error(code));
    for (std::size_t cut = 1; cut < wire.size(); ++cut) {
      FrameParser parser(150);
      EXPECT_EQ(run(parser, wire, {cut}), error(code)) << cut;
    }
  }
}

TEST(FrameParser, ManyFramesInOneBuffer) {
  std::string wire;
  std::vector<Got> expect;
  for (int i = 0; i < 2000; ++i) {
    const std::string text = "message " + std::to_string(i);
    const Opcode op = i % 7 == 0 ? Opcode::kPing : (i % 2 ? Opcode::kBinary : Opcode::kText);
    wire += masked(op, text);
    expect.push_back({op, text});
  }
  EXPECT_EQ(parse(wire), messages(expect));
  // And in 4 KiB reads, as from a shard buffer.
  std::vector<std::size_t> cuts;
  for (std::size_t c = 4096; c < wire.size(); c += 4096) cuts.push_back(c);
  FrameParser parser;
  EXPECT_EQ(run(parser, wire, cuts), messages(expect));
}

TEST(FrameParser, PullApiReturnsOneMessageAtATime) {
  std::string wire = masked(Opcode::kText, "one") + masked(Opcode::kText, "two");
  FrameParser parser;
  std::span<char> in(wire);
  auto first = parser.next(in);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->payload, "one");
  EXPECT_EQ(in.size(), 9u);  // the second frame is left for the next call
  auto second = parser.next(in);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->payload, "two");
  auto none = parser.next(in);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(FrameParser, WholeFramesAreNotCopied) {
  std::string wire = masked(Opcode::kBinary, std::string(1000, 'z'));
  FrameParser parser;
  const char* begin = wire.data();
  const char* end = wire.data() + wire.size();
  bool inside = false;
  ASSERT_TRUE(parser
                  .feed(std::span<char>(wire),
                        [&](const Message& m) {
                          inside = m.payload.data() >= begin && m.payload.data() + 1000 <= end;
                          EXPECT_EQ(m.payload, std::string(1000, 'z'));
                        })
                  .ok());
  EXPECT_TRUE(inside);
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(FrameParser, BufferIsReleasedAfterSpanningFramesAndFragments) {
  const std::size_t idle = 0;  // no buffer at all between messages
  FrameParser parser;
  std::string big = masked(Opcode::kBinary, std::string(10000, 'q'));
  std::span<char> in(big.data(), 5000);
  auto r = parser.next(in);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_GE(parser.buffer_capacity(), 4000u);  // holds the partial frame
  std::span<char> rest(big.data() + 5000, big.size() - 5000);
  r = parser.next(rest);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->payload.size(), 10000u);
  r = parser.next(rest);  // the next call (here: with nothing left) drops the payload
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parser.buffer_capacity(), idle);

  std::string frag = fragmented_with_controls();
  ASSERT_TRUE(parser.feed(std::span<char>(frag), [](const Message&) {}).ok());
  EXPECT_EQ(parser.buffer_capacity(), idle);
}

TEST(FrameParser, IdleSizeIsSmall) {
  std::printf("sizeof(FrameParser) = %zu\n", sizeof(FrameParser));
  EXPECT_LE(sizeof(FrameParser),
            48u);  // one per connection; the message buffer is behind a pointer
}

// --- encoding -----------------------------------------------------------------------------

TEST(FrameEncoder, HeaderForms) {
  EXPECT_EQ(make_header(Opcode::kText, 0).view(), bytes({0x81, 0x00}));
  EXPECT_EQ(make_header(Opcode::kText, 125).view(), bytes({0x81, 0x7D}));
  EXPECT_EQ(make_header(Opcode::kBinary, 126).view(), bytes({0x82, 0x7E, 0x00, 0x7E}));
  EXPECT_EQ(make_header(Opcode::kBinary, 65535).view(), bytes({0x82, 0x7E, 0xFF, 0xFF}));
  EXPECT_EQ(make_header(Opcode::kBinary, 65536).view(),
            bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  EXPECT_EQ(make_header(Opcode::kBinary, 0x0123456789ABCDEFull).view(),
            bytes({0x82, 0x7F, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}));
  EXPECT_EQ(make_header(Opcode::kText, 3, false).view(), bytes({0x01, 0x03}));
  EXPECT_EQ(make_header(Opcode::kContinuation, 3, true).view(), bytes({0x80, 0x03}));
}

TEST(FrameEncoder, ServerFramesRoundTripThroughClientParser) {
  std::string wire;
  encode_frame(wire, Opcode::kText, "hi", false);
  encode_ping(wire, "p");
  encode_frame(wire, Opcode::kContinuation, " there");
  encode_pong(wire);
  encode_frame(wire, Opcode::kBinary, std::string(70000, 'b'));
  encode_close(wire, CloseCode::kGoingAway, "restarting");
  EXPECT_EQ(parse_bytewise(wire, Role::kClient),
            messages({{Opcode::kPing, "p"},
                      {Opcode::kText, "hi there"},
                      {Opcode::kPong, ""},
                      {Opcode::kBinary, std::string(70000, 'b')},
                      {Opcode::kClose, make_close_payload(CloseCode::kGoingAway, "restarting")}}));
}

TEST(FrameEncoder, ClosePayloads) {
  EXPECT_EQ(make_close_payload(CloseCode::kNormal), bytes({0x03, 0xE8}));
  EXPECT_EQ(make_close_payload(CloseCode::kNoStatus, "ignored"), "");
  EXPECT_EQ(make_close_payload(4000, "x"), bytes({0x0F, 0xA0, 'x'}));
  std::string out;
  encode_close(out, CloseCode::kProtocolError);
  EXPECT_EQ(out, bytes({0x88, 0x02, 0x03, 0xEA}));
  // Reasons are cut to fit a control frame, at a character boundary.
  const std::string long_reason = std::string(122, 'a') + "\xC3\xA9" + "tail";
  const std::string payload = make_close_payload(CloseCode::kNormal, long_reason);
  EXPECT_EQ(payload.size(), 2u + 122u);
  EXPECT_TRUE(parse_close_payload(payload).ok());
  EXPECT_EQ(make_close_payload(CloseCode::kNormal, std::string(200, 'r')).size(), 125u);
}

TEST(FrameEncoder, ControlPayloadsAreTruncated) {
  std::string out;
  encode_ping(out, std::string(300, 'p'));
  EXPECT_EQ(out.size(), 2u + 125u);
  out.clear();
  encode_pong(out, std::string(125, 'p'));
  EXPECT_EQ(out.size(), 2u + 125u);
}

TEST(FrameEncoder, OpcodeNames) {
  EXPECT_EQ(opcode_name(Opcode::kText), "text");
  EXPECT_EQ(opcode_name(Opcode::kClose), "close");
  EXPECT_EQ(opcode_name(static_cast<Opcode>(3)), "reserved");
}

}  // namespace
}  // namespace herald::ws
