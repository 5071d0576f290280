// A recursive-descent JSON checker: bounded recursion (max_depth), no allocation except the
// placeholder list, and key decoding only for keys that contain escapes (and only when
// placeholders are looked for).
#include "common/json/json_scan.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace herald::json {

namespace {

// String bytes that need no further look: printable ASCII other than '"' and '\\'.
constexpr std::array<bool, 256> kPlainStringByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// Whether any of the 8 bytes in `w` needs a closer look in a string: < 0x20, '"', '\\' or >= 0x80.
// Each test is the exact "has a byte less than n" / "has a zero byte" bit trick.
bool has_special_byte(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHighs = 0x8080808080808080;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  const uint64_t special = w | ((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
                           ((backslash - kOnes) & ~backslash);
  return (special & kHighs) != 0;
}

// The end of the run of plain string bytes at `p`: eight at a time, then one by one. (Locals,
// not members: the compiler must assume a char read may alias a member pointer.)
const char* skip_plain(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    if (has_special_byte(w)) break;
    p += 8;
  }
  while (p != end && kPlainStringByte[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// nlohmann reads an integer literal too big for (u)int64 as a double, which must be finite: one of
// up to 308 digits is below 1e308, so only longer ones need converting.
constexpr ptrdiff_t kAlwaysFiniteIntegerChars = 308;

Kind kind_at(char c) {
  switch (c) {
    case '{':
      return Kind::kObject;
    case '[':
      return Kind::kArray;
    case '"':
      return Kind::kString;
    case 't':
    case 'f':
      return Kind::kBool;
    case 'n':
      return Kind::kNull;
    default:
      return Kind::kNumber;
  }
}

class Scanner {
 public:
  Scanner(std::string_view text, const ScanOptions& options, JsonScan* out)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(options.max_depth),
        // A container at depth d has members at d + 1: under kValues that is refused with them.
        container_depth_bound_(options.depth_rule == DepthRule::kValues
                                   ? uint64_t{options.max_depth} + 1
                                   : uint64_t{options.max_depth}),
        placeholders_(options.placeholders),
        attachments_(options.attachments),
        skip_bom_(options.skip_bom),
        out_(out) {}

  void run() {
    // As nlohmann: only at the very start, not after whitespace.
    if (skip_bom_ && end_ - p_ >= 3 && std::string_view(p_, 3) == "\xEF\xBB\xBF") p_ += 3;
    skip_space();
    // Set even when the scan fails deeper in (the broker tells "not an array" apart by it).
    if (p_ != end_) out_->top = kind_at(*p_);
    if (!value(0, nullptr)) return;
    skip_space();
    if (p_ != end_) {
      fail(JsonScanError::kSyntax);
      return;
    }
    if (bad_placeholder_) fail(JsonScanError::kPlaceholder);
  }

 private:
  // What a key means for placeholder detection.
  enum class Key { kOther, kPlaceholder, kNum };

  // A "num" member's value, when it is a number.
  struct Num {
    std::optional<int64_t> literal;  // an integer literal (no fraction or exponent) in int64
    std::optional<uint64_t> index;   // a value JavaScript sees as a non-negative integer
  };

  bool fail(JsonScanError error) {
    if (out_->error == JsonScanError::kNone) {
      out_->error = error;
      out_->error_offset = static_cast<size_t>(p_ - begin_);
    }
    return false;
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  // A value at depth `depth`; `num` is set when it is the value of a "num" member.
  bool value(uint32_t depth, Num* num) {
    if (depth > max_depth_) return fail(JsonScanError::kDepth);
    if (p_ == end_) return fail(JsonScanError::kSyntax);
    switch (*p_) {
      case '{':
        return container_depth_ok(depth) && object(depth);
      case '[':
        return container_depth_ok(depth) && array(depth);
      case '"':
        return string(nullptr);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(num);
    }
  }

  bool container_depth_ok(uint32_t depth) {
    return depth < container_depth_bound_ || fail(JsonScanError::kDepth);
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return fail(JsonScanError::kSyntax);
    }
    p_ += word.size();
    return true;
  }

  bool array(uint32_t depth) {
    ++p_;  // '['
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    if (depth == 0 && p_ != end_) out_->first_element = kind_at(*p_);
    for (;;) {
      skip_space();
      if (!value(depth + 1, nullptr)) return false;
      bool more = false;
      if (!after_member(']', &more)) return false;
      if (!more) return true;
    }
  }

  // After an array element or object member: ',' (another follows, `*more`) or `close`.
  bool after_member(char close, bool* more) {
    skip_space();
    if (p_ == end_) return fail(JsonScanError::kSyntax);
    if (*p_ == ',') {
      ++p_;
      *more = true;
      return true;
    }
    if (*p_ != close) return fail(JsonScanError::kSyntax);
    ++p_;
    *more = false;
    return true;
  }

  bool object(uint32_t depth) {
    ++p_;  // '{'
    const size_t listed_before = out_->placeholders.size();
    bool placeholder = false;  // the last "_placeholder" member was `true`
    Num num;                   // the last "num" member
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return fail(JsonScanError::kSyntax);
      Key key = Key::kOther;
      if (!string(placeholders_ == Placeholders::kIgnore ? nullptr : &key)) return false;
      skip_space();
      if (p_ == end_ || *p_ != ':') return fail(JsonScanError::kSyntax);
      ++p_;
      skip_space();
      // A repeated key replaces the earlier value, as in a DOM.
      if (key == Key::kPlaceholder) placeholder = p_ != end_ && *p_ == 't';
      if (key == Key::kNum) num = Num{};
      if (!value(depth + 1, key == Key::kNum ? &num : nullptr)) return false;
      bool more = false;
      if (!after_member('}', &more)) return false;
      if (!more) break;
    }
    return !placeholder || end_placeholder(num, listed_before);
  }

  // A placeholder object just ended; the ones listed since it began are inside it.
  bool end_placeholder(const Num& num, size_t listed_before) {
    if (placeholders_ == Placeholders::kOutermost) {
      // Reported once the whole text is known to be JSON: a syntax error comes first.
      if (!num.literal) bad_placeholder_ = true;
      out_->placeholders.resize(listed_before);  // what it contains does not count
      out_->placeholders.push_back(num.literal.value_or(0));
      return true;
    }
    if (!num.index || *num.index >= attachments_) return fail(JsonScanError::kPlaceholder);
    out_->placeholders.push_back(static_cast<int64_t>(*num.index));
    return true;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and finite once converted as nlohmann does.
  // With `num`, also what the number is worth as a placeholder's "num".
  bool number(Num* num) {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_ || !digit(*p_)) return fail(JsonScanError::kSyntax);
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    bool is_float = false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !digit(*p_)) return fail(JsonScanError::kSyntax);
      while (p_ != end_ && digit(*p_)) ++p_;
      is_float = true;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return fail(JsonScanError::kSyntax);
      while (p_ != end_ && digit(*p_)) ++p_;
      is_float = true;
    }
    if (!is_float) {
      if (num == nullptr && p_ - start <= kAlwaysFiniteIntegerChars) return true;
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(start, p_, v);
      if (ptr == p_ && ec == std::errc()) {
        if (num != nullptr) {
          num->literal = v;
          if (v >= 0) num->index = static_cast<uint64_t>(v);  // "-0" is 0 too
        }
        return true;
      }
      // Beyond int64: as a double, at least 2^63 away from any attachment index.
      return std::isfinite(to_double(start)) || fail(JsonScanError::kSyntax);
    }
    // nlohmann refuses a number that overflows to infinity (and accepts an underflow).
    const double v = to_double(start);
    if (!std::isfinite(v)) return fail(JsonScanError::kSyntax);
    // JavaScript has only doubles: "1.0" and "1e0" index like 1.
    if (num != nullptr && v >= 0 && v < 9007199254740992.0 && std::floor(v) == v) {
      num->index = static_cast<uint64_t>(v);
    }
    return true;
  }

  // The number from `start` to p_ as strtod reads it (as nlohmann does).
  double to_double(const char* start) const {
    const std::string copy(start, p_);
    return std::strtod(copy.c_str(), nullptr);
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool hex4(uint32_t* out) {
    if (end_ - p_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex(p_[i]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    p_ += 4;
    *out = v;
    return true;
  }

  static void append_utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // One well-formed UTF-8 sequence starting at a byte >= 0x80 (the ranges nlohmann accepts).
  bool utf8() {
    const auto b = [&](ptrdiff_t i) { return static_cast<unsigned char>(p_[i]); };
    const auto in = [](unsigned char c, unsigned char lo, unsigned char hi) {
      return c >= lo && c <= hi;
    };
    const unsigned char c = b(0);
    const ptrdiff_t left = end_ - p_;
    if (in(c, 0xC2, 0xDF)) {
      if (left < 2 || !in(b(1), 0x80, 0xBF)) return false;
      p_ += 2;
      return true;
    }
    if (in(c, 0xE0, 0xEF)) {
      const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
      const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
      if (left < 3 || !in(b(1), lo, hi) || !in(b(2), 0x80, 0xBF)) return false;
      p_ += 3;
      return true;
    }
    if (in(c, 0xF0, 0xF4)) {
      const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
      const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
      if (left < 4 || !in(b(1), lo, hi) || !in(b(2), 0x80, 0xBF) || !in(b(3), 0x80, 0xBF)) {
        return false;
      }
      p_ += 4;
      return true;
    }
    return false;
  }

  // A string at '"'. With `key`, also classifies it as "_placeholder", "num" or other (decoding
  // escapes only when there are any).
  bool string(Key* key) {
    ++p_;  // '"'
    const char* start = p_;
    bool escaped = false;
    std::string decoded;
    for (;;) {
      // Most strings are mostly plain ASCII: skip such runs fast.
      const char* run = p_;
      p_ = skip_plain(p_, end_);
      if (key != nullptr && escaped) decoded.append(run, p_);
      if (p_ == end_) return fail(JsonScanError::kSyntax);
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c < 0x20) return fail(JsonScanError::kSyntax);
      if (c >= 0x80) {
        const char* seq = p_;
        if (!utf8()) return fail(JsonScanError::kSyntax);
        if (key != nullptr && escaped) decoded.append(seq, p_);
        continue;
      }
      // c == '\\'
      if (key != nullptr && !escaped) decoded.assign(start, p_);
      escaped = true;
      ++p_;
      if (p_ == end_) return fail(JsonScanError::kSyntax);
      const char e = *p_++;
      char plain = 0;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          plain = e;
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return fail(JsonScanError::kSyntax);
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(JsonScanError::kSyntax);
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return fail(JsonScanError::kSyntax);
            p_ += 2;
            if (!hex4(&low) || low < 0xDC00 || low > 0xDFFF) return fail(JsonScanError::kSyntax);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          if (key != nullptr) append_utf8(cp, &decoded);
          continue;
        }
        default:
          return fail(JsonScanError::kSyntax);
      }
      if (key != nullptr) decoded.push_back(plain);
    }
    if (key != nullptr) {
      const std::string_view text =
          escaped ? std::string_view(decoded) : std::string_view(start, p_);
      *key = text == "_placeholder" ? Key::kPlaceholder : text == "num" ? Key::kNum : Key::kOther;
    }
    ++p_;  // '"'
    return true;
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  const uint32_t max_depth_;
  const uint64_t container_depth_bound_;  // arrays and objects must be at a smaller depth
  const Placeholders placeholders_;
  const uint32_t attachments_;
  const bool skip_bom_;
  JsonScan* const out_;
  bool bad_placeholder_ = false;
};

}  // namespace

JsonScan scan_json(std::string_view text, const ScanOptions& options) {
  JsonScan out;
  Scanner(text, options, &out).run();
  if (out.error != JsonScanError::kNone) out.placeholders.clear();
  return out;
}

}  // namespace herald::json
