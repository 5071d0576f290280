// Templates such as "user:{sub}" or "{args.room}": parsed once from config, expanded per
// connect/event.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::policy {

// Where a placeholder takes its value from.
enum class RefSource {
  kSub,     // {sub}: the verified subject
  kClaims,  // {claims.a.b}: a claim, by path
  kArgs,    // {args.room} (first argument's field) or {args.1.room} (positional)
  kNsName,  // {ns}: the namespace the socket connected to
  kNs,      // {ns.1}: the part matched by the first '*' of a namespace pattern
};

// Bit mask of RefSource values a template may use in a given config position.
using RefSourceMask = unsigned;
constexpr RefSourceMask ref_bit(RefSource s) {
  return 1u << static_cast<unsigned>(s);
}
constexpr RefSourceMask kIdentityRefs = ref_bit(RefSource::kSub) | ref_bit(RefSource::kClaims) |
                                        ref_bit(RefSource::kNsName) | ref_bit(RefSource::kNs);
constexpr RefSourceMask kAllRefs = kIdentityRefs | ref_bit(RefSource::kArgs);

// A template cannot expand to more than this many values (array claims multiply).
constexpr size_t kMaxExpansions = 256;
// Longest value a template may produce, in bytes (room names end up in bus subjects).
constexpr size_t kMaxExpandedBytes = 1024;

struct TemplateRef {
  RefSource source = RefSource::kSub;
  size_t index = 0;               // argument position (kArgs) or 1-based capture number (kNs)
  bool positional = false;        // kArgs written with an explicit position ({args.1.room})
  std::vector<std::string> path;  // object keys / array indexes below the source
  std::string text;               // as written, e.g. "args.room"

  // The client-visible field a kArgs reference names: "room", or "args[1].room" when positional.
  std::string field_path() const;
};

// What a template draws its values from; every pointer may be null (= value absent).
struct TemplateScope {
  std::string_view sub;
  const nlohmann::json* claims = nullptr;
  const nlohmann::json* args = nullptr;  // the event's argument array
  std::string_view ns_name;
  const std::vector<std::string>* ns_captures = nullptr;
};

enum class ExpandFailure { kNone, kMissing, kBadType, kTooMany, kTooLong };

struct Expansion {
  std::vector<std::string> values;  // several when a placeholder yields an array
  ExpandFailure failure = ExpandFailure::kNone;
  const TemplateRef* failed = nullptr;  // the placeholder that failed

  bool ok() const { return failure == ExpandFailure::kNone; }
};

class Template {
 public:
  Template() = default;

  // `allowed` limits the sources; `ns_captures` is how many '*' the namespace pattern has.
  static Result<Template> parse(std::string_view text, RefSourceMask allowed, size_t ns_captures);

  Expansion expand(const TemplateScope& scope) const;

  bool uses(RefSource source) const;
  bool is_literal() const { return refs_.empty(); }
  const std::string& text() const { return text_; }

 private:
  struct Part {
    std::string literal;
    int ref = -1;  // index into refs_, or -1 for a literal part
  };
  std::string text_;
  std::vector<Part> parts_;
  std::vector<TemplateRef> refs_;
};

// Human text for a failed expansion, e.g. "claim 'team' is missing".
std::string describe_failure(const Expansion& expansion);

}  // namespace herald::policy
