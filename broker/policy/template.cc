// Template parsing ("{...}" placeholders, "{{"/"}}" escapes) and expansion against claims/args/ns.
#include "broker/policy/template.h"

#include <charconv>

namespace herald::policy {
namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

size_t to_index(std::string_view s) {
  size_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) return static_cast<size_t>(-1);
  return out;
}

std::vector<std::string> split_dots(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? s.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

Result<TemplateRef> parse_ref(std::string_view expr, RefSourceMask allowed, size_t ns_captures) {
  TemplateRef ref;
  ref.text = std::string(expr);
  std::vector<std::string> segs = split_dots(expr);
  for (const std::string& seg : segs) {
    if (seg.empty()) return invalid_argument("empty path segment in '{" + ref.text + "}'");
  }
  const std::string& head = segs[0];
  std::vector<std::string> rest(segs.begin() + 1, segs.end());
  if (head == "sub") {
    if (!rest.empty()) return invalid_argument("'{sub}' takes no path");
    ref.source = RefSource::kSub;
  } else if (head == "claims") {
    if (rest.empty()) return invalid_argument("'{claims}' needs a claim name, e.g. {claims.team}");
    ref.source = RefSource::kClaims;
    ref.path = std::move(rest);
  } else if (head == "args") {
    ref.source = RefSource::kArgs;
    if (!rest.empty() && all_digits(rest[0])) {
      ref.index = to_index(rest[0]);
      ref.positional = true;
      if (ref.index > 255)
        return invalid_argument("argument position too large in '{" + ref.text + "}'");
      rest.erase(rest.begin());
    }
    ref.path = std::move(rest);
  } else if (head == "ns") {
    if (rest.empty()) {
      ref.source = RefSource::kNsName;
    } else {
      if (rest.size() != 1 || !all_digits(rest[0])) {
        return invalid_argument("'{" + ref.text + "}': use {ns} or {ns.N} with N >= 1");
      }
      ref.source = RefSource::kNs;
      ref.index = to_index(rest[0]);
      if (ref.index == 0) return invalid_argument("'{" + ref.text + "}': use {ns.N} with N >= 1");
      if (ref.index > ns_captures) {
        return invalid_argument("'{" + ref.text + "}': the namespace pattern has " +
                                std::to_string(ns_captures) + " '*'");
      }
    }
  } else {
    return invalid_argument("unknown placeholder '{" + ref.text +
                            "}' (use sub, claims.*, args.*, ns, ns.N)");
  }
  if ((allowed & ref_bit(ref.source)) == 0) {
    return invalid_argument("placeholder '{" + ref.text + "}' is not allowed here");
  }
  return ref;
}

// Walks object keys (and numeric array indexes) below `root`; null when absent.
const nlohmann::json* walk(const nlohmann::json* root, const std::vector<std::string>& path) {
  const nlohmann::json* cur = root;
  for (const std::string& seg : path) {
    if (cur == nullptr) return nullptr;
    if (cur->is_object()) {
      auto it = cur->find(seg);
      cur = it == cur->end() ? nullptr : &*it;
    } else if (cur->is_array() && all_digits(seg)) {
      size_t i = to_index(seg);
      cur = i < cur->size() ? &(*cur)[i] : nullptr;
    } else {
      return nullptr;
    }
  }
  return cur;
}

// Scalar to text; false for types that make no sense in a name.
bool scalar_text(const nlohmann::json& v, std::string* out) {
  if (v.is_string()) {
    *out = v.get_ref<const std::string&>();
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.dump();
    return true;
  }
  return false;
}

}  // namespace

std::string TemplateRef::field_path() const {
  std::string out;
  if (positional || path.empty()) out = "args[" + std::to_string(index) + "]";
  for (const std::string& seg : path) {
    if (!out.empty()) out += '.';
    out += seg;
  }
  return out;
}

Result<Template> Template::parse(std::string_view text, RefSourceMask allowed, size_t ns_captures) {
  Template t;
  t.text_ = std::string(text);
  std::string literal;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal += '}';
      ++i;
    } else if (c == '}') {
      return invalid_argument("unmatched '}' in template '" + t.text_ + "' (write '}}')");
    } else if (c == '{') {
      size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        return invalid_argument("unclosed '{' in template '" + t.text_ + "'");
      }
      std::string_view expr = text.substr(i + 1, close - i - 1);
      if (expr.find('{') != std::string_view::npos) {
        return invalid_argument("nested '{' in template '" + t.text_ + "'");
      }
      Result<TemplateRef> ref = parse_ref(expr, allowed, ns_captures);
      if (!ref.ok()) return ref.status();
      if (!literal.empty()) t.parts_.push_back({std::move(literal), -1});
      literal.clear();
      t.refs_.push_back(std::move(ref).value());
      t.parts_.push_back({{}, static_cast<int>(t.refs_.size() - 1)});
      i = close;
    } else {
      literal += c;
    }
  }
  if (!literal.empty()) t.parts_.push_back({std::move(literal), -1});
  return t;
}

bool Template::uses(RefSource source) const {
  for (const TemplateRef& r : refs_) {
    if (r.source == source) return true;
  }
  return false;
}

Expansion Template::expand(const TemplateScope& scope) const {
  Expansion out;
  out.values.emplace_back();
  for (const Part& part : parts_) {
    if (part.ref < 0) {
      for (std::string& v : out.values) v += part.literal;
      continue;
    }
    const TemplateRef& ref = refs_[static_cast<size_t>(part.ref)];
    auto fail = [&](ExpandFailure f) {
      out.values.clear();
      out.failure = f;
      out.failed = &ref;
      return out;
    };
    std::vector<std::string> choices;
    const nlohmann::json* value = nullptr;
    switch (ref.source) {
      case RefSource::kSub:
        if (scope.sub.empty()) return fail(ExpandFailure::kMissing);
        choices.emplace_back(scope.sub);
        break;
      case RefSource::kNsName:
        if (scope.ns_name.empty()) return fail(ExpandFailure::kMissing);
        choices.emplace_back(scope.ns_name);
        break;
      case RefSource::kNs:
        if (scope.ns_captures == nullptr || ref.index == 0 ||
            ref.index > scope.ns_captures->size()) {
          return fail(ExpandFailure::kMissing);
        }
        choices.push_back((*scope.ns_captures)[ref.index - 1]);
        break;
      case RefSource::kClaims:
        value = walk(scope.claims, ref.path);
        break;
      case RefSource::kArgs:
        if (scope.args != nullptr && scope.args->is_array() && ref.index < scope.args->size()) {
          value = walk(&(*scope.args)[ref.index], ref.path);
        }
        break;
    }
    if (ref.source == RefSource::kClaims || ref.source == RefSource::kArgs) {
      if (value == nullptr || value->is_null()) return fail(ExpandFailure::kMissing);
      std::string text;
      if (value->is_array()) {
        for (const nlohmann::json& item : *value) {
          if (!scalar_text(item, &text)) return fail(ExpandFailure::kBadType);
          choices.push_back(std::move(text));
        }
      } else if (scalar_text(*value, &text)) {
        choices.push_back(std::move(text));
      } else {
        return fail(ExpandFailure::kBadType);
      }
    }
    if (choices.empty()) {
      out.values.clear();  // an empty array claim grants nothing; not an error
      return out;
    }
    if (out.values.size() * choices.size() > kMaxExpansions) return fail(ExpandFailure::kTooMany);
    std::vector<std::string> next;
    next.reserve(out.values.size() * choices.size());
    for (const std::string& prefix : out.values) {
      for (const std::string& choice : choices) {
        if (prefix.size() + choice.size() > kMaxExpandedBytes) return fail(ExpandFailure::kTooLong);
        next.push_back(prefix + choice);
      }
    }
    out.values = std::move(next);
  }
  return out;
}

std::string describe_failure(const Expansion& expansion) {
  if (expansion.ok() || expansion.failed == nullptr) return {};
  const TemplateRef& ref = *expansion.failed;
  std::string what = "'{" + ref.text + "}'";
  switch (expansion.failure) {
    case ExpandFailure::kMissing:
      return what + " has no value";
    case ExpandFailure::kBadType:
      return what + " must be a string, an integer or an array of them";
    case ExpandFailure::kTooMany:
      return what + " expands to more than " + std::to_string(kMaxExpansions) + " values";
    case ExpandFailure::kTooLong:
      return what + " expands to more than " + std::to_string(kMaxExpandedBytes) + " bytes";
    case ExpandFailure::kNone:
      break;
  }
  return {};
}

}  // namespace herald::policy
