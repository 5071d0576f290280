// A recursive-descent JSON checker: bounded recursion (max_depth), no allocation except the
// placeholder list, and key decoding only for keys that contain escapes.
#include "common/json/json_scan.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

namespace herald::json {

namespace {

class Scanner {
 public:
  Scanner(std::string_view text, int max_depth, JsonScan* out)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth), out_(out) {}

  void run() {
    skip_space();
    out_->top_is_array = p_ != end_ && *p_ == '[';
    if (!value(0)) return;
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

  bool fail(JsonScanError error) {
    if (out_->error == JsonScanError::kNone) out_->error = error;
    return false;
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool value(int depth) {
    if (depth > max_depth_) return fail(JsonScanError::kDepth);
    if (p_ == end_) return fail(JsonScanError::kSyntax);
    switch (*p_) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string(nullptr);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(nullptr);
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return fail(JsonScanError::kSyntax);
    }
    p_ += word.size();
    return true;
  }

  bool array(int depth) {
    ++p_;  // '['
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      if (!value(depth + 1)) return false;
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

  bool object(int depth) {
    ++p_;  // '{'
    const size_t placeholders_before = out_->placeholders.size();
    bool placeholder = false;  // the last "_placeholder" member was `true`
    bool num_valid = false;    // the last "num" member was an integer
    int64_t num = 0;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return fail(JsonScanError::kSyntax);
      Key key = Key::kOther;
      if (!string(&key)) return false;
      skip_space();
      if (p_ == end_ || *p_ != ':') return fail(JsonScanError::kSyntax);
      ++p_;
      skip_space();
      // A repeated key replaces the earlier value, as in a DOM.
      if (key == Key::kPlaceholder) {
        placeholder = p_ != end_ && *p_ == 't';
        if (!value(depth + 1)) return false;
      } else if (key == Key::kNum && p_ != end_ && *p_ != '{' && *p_ != '[' && *p_ != '"' &&
                 *p_ != 't' && *p_ != 'f' && *p_ != 'n') {
        if (depth + 1 > max_depth_) return fail(JsonScanError::kDepth);
        std::optional<int64_t> integer;
        if (!number(&integer)) return false;
        num_valid = integer.has_value();
        num = integer.value_or(0);
      } else {
        if (key == Key::kNum) num_valid = false;
        if (!value(depth + 1)) return false;
      }
      bool more = false;
      if (!after_member('}', &more)) return false;
      if (!more) break;
    }
    if (placeholder) {
      // Reported once the whole text is known to be JSON: a syntax error comes first.
      if (!num_valid) bad_placeholder_ = true;
      out_->placeholders.resize(placeholders_before);  // what it contains does not count
      out_->placeholders.push_back(num);
    }
    return true;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; a fraction or exponent must stay finite.
  // *integer is set when the number has neither and fits in int64.
  bool number(std::optional<int64_t>* integer) {
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
    if (is_float) {
      // nlohmann refuses a number that overflows to infinity (and accepts an underflow).
      const std::string copy(start, p_);
      if (!std::isfinite(std::strtod(copy.c_str(), nullptr))) return fail(JsonScanError::kSyntax);
      return true;
    }
    if (integer != nullptr) {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(start, p_, v);
      if (ptr == p_ && ec == std::errc()) *integer = v;
    }
    return true;
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
      if (c != '\\') {
        if (key != nullptr && escaped) decoded.push_back(static_cast<char>(c));
        ++p_;
        continue;
      }
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

  const char* p_;
  const char* const end_;
  const int max_depth_;
  JsonScan* const out_;
  bool bad_placeholder_ = false;
};

}  // namespace

JsonScan scan_json(std::string_view text, int max_depth) {
  JsonScan out;
  Scanner(text, max_depth, &out).run();
  if (out.error != JsonScanError::kNone) out.placeholders.clear();
  return out;
}

}  // namespace herald::json
