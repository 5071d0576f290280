// Incremental UTF-8 validation: a 9-state DFA over 12 byte classes, with an ASCII fast path.
#include "edge/websocket/utf8.h"

#include <array>
#include <cstring>

namespace herald::ws {
namespace {

// Byte classes: the ranges of Unicode table 3-7 ("well-formed UTF-8 byte sequences").
enum Class : std::uint8_t {
  kAscii,    // 00..7F
  kCont80,   // 80..8F
  kCont90,   // 90..9F
  kContA0,   // A0..BF
  kInvalid,  // C0..C1, F5..FF: never appear in UTF-8
  kLead2,    // C2..DF
  kLeadE0,   // E0: second byte A0..BF (no overlongs)
  kLead3,    // E1..EC, EE..EF
  kLeadED,   // ED: second byte 80..9F (no surrogates)
  kLeadF0,   // F0: second byte 90..BF (no overlongs)
  kLead4,    // F1..F3
  kLeadF4,   // F4: second byte 80..8F (nothing above U+10FFFF)
  kClassCount,
};

// States: what the validator still expects.
enum State : std::uint8_t {
  kAccept = 0,
  kReject = 1,
  kNeed1,    // one more 80..BF
  kNeed2,    // two more 80..BF
  kNeed3,    // three more 80..BF
  kAfterE0,  // A0..BF, then one more
  kAfterED,  // 80..9F, then one more
  kAfterF0,  // 90..BF, then two more
  kAfterF4,  // 80..8F, then two more
  kStateCount,
};

constexpr std::size_t kNumClasses = kClassCount;
constexpr std::size_t kNumStates = kStateCount;

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> c{};
  for (int b = 0; b < 256; ++b) {
    std::uint8_t k = kInvalid;
    if (b <= 0x7F) {
      k = kAscii;
    } else if (b <= 0x8F) {
      k = kCont80;
    } else if (b <= 0x9F) {
      k = kCont90;
    } else if (b <= 0xBF) {
      k = kContA0;
    } else if (b >= 0xC2 && b <= 0xDF) {
      k = kLead2;
    } else if (b == 0xE0) {
      k = kLeadE0;
    } else if (b == 0xED) {
      k = kLeadED;
    } else if (b >= 0xE1 && b <= 0xEF) {
      k = kLead3;
    } else if (b == 0xF0) {
      k = kLeadF0;
    } else if (b >= 0xF1 && b <= 0xF3) {
      k = kLead4;
    } else if (b == 0xF4) {
      k = kLeadF4;
    }
    c[static_cast<std::size_t>(b)] = k;
  }
  return c;
}

constexpr std::array<std::uint8_t, kNumStates * kNumClasses> make_transitions() {
  std::array<std::uint8_t, kNumStates * kNumClasses> t{};
  for (auto& s : t) s = kReject;
  auto set = [&t](State from, Class cls, State to) { t[from * kNumClasses + cls] = to; };
  set(kAccept, kAscii, kAccept);
  set(kAccept, kLead2, kNeed1);
  set(kAccept, kLeadE0, kAfterE0);
  set(kAccept, kLead3, kNeed2);
  set(kAccept, kLeadED, kAfterED);
  set(kAccept, kLeadF0, kAfterF0);
  set(kAccept, kLead4, kNeed3);
  set(kAccept, kLeadF4, kAfterF4);
  for (Class cont : {kCont80, kCont90, kContA0}) {
    set(kNeed1, cont, kAccept);
    set(kNeed2, cont, kNeed1);
    set(kNeed3, cont, kNeed2);
  }
  set(kAfterE0, kContA0, kNeed1);
  set(kAfterED, kCont80, kNeed1);
  set(kAfterED, kCont90, kNeed1);
  set(kAfterF0, kCont90, kNeed2);
  set(kAfterF0, kContA0, kNeed2);
  set(kAfterF4, kCont80, kNeed2);
  return t;
}

constexpr auto kClasses = make_classes();
constexpr auto kTransitions = make_transitions();

}  // namespace

bool Utf8Validator::feed(std::string_view bytes) {
  static_assert(kReject == State::kReject);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  std::uint8_t state = state_;
  while (p != end) {
    if (state == kAccept) {
      // Text on the wire is mostly ASCII: skip it eight bytes at a time.
      while (end - p >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, sizeof word);
        if (word & 0x8080808080808080ULL) break;
        p += 8;
      }
      if (p == end) break;
    }
    state = kTransitions[state * kNumClasses + kClasses[*p]];
    if (state == kReject) break;
    ++p;
  }
  state_ = state;
  return state != kReject;
}

bool is_valid_utf8(std::string_view bytes) {
  Utf8Validator v;
  return v.feed(bytes) && v.complete();
}

}  // namespace herald::ws
