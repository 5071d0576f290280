// Incremental UTF-8 validation (RFC 3629) for WebSocket text messages and close reasons.
#pragma once

#include <cstdint>
#include <string_view>

namespace herald::ws {

// A resumable DFA over the well-formed byte sequences of Unicode table 3-7: rejects overlong
// forms, UTF-16 surrogates (U+D800..U+DFFF), code points above U+10FFFF, and stray or missing
// continuation bytes. One byte of state, so a text message split across frames or reads is
// validated as it arrives and fails at the first byte that cannot start or continue a valid
// sequence (what Autobahn calls "fail fast").
class Utf8Validator {
 public:
  // Validates `bytes` as a continuation of everything fed since the last reset(). Returns false
  // (and stays failed) as soon as the input can no longer be valid UTF-8.
  bool feed(std::string_view bytes);

  // True when everything fed so far is valid and no multi-byte sequence is left open.
  bool complete() const { return state_ == 0; }
  bool failed() const { return state_ == kReject; }
  void reset() { state_ = 0; }

 private:
  static constexpr std::uint8_t kReject = 1;
  std::uint8_t state_ = 0;
};

// Whole-buffer check: `bytes` is complete, valid UTF-8.
bool is_valid_utf8(std::string_view bytes);

}  // namespace herald::ws
