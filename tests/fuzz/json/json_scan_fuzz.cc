// Fuzzes scan_json (common/json) against nlohmann's DOM parser: the same texts are valid (a leading
// BOM skipped as nlohmann does); on valid ones the top value's and first element's kinds, both
// depth rules and the broker's placeholders (a DOM walk that stops at a placeholder) agree. The
// first byte picks the depth limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/json/json_scan.h"

namespace {

using herald::json::DepthRule;
using herald::json::JsonScanError;
using herald::json::Kind;
using herald::json::Placeholders;
using herald::json::ScanOptions;
using Json = nlohmann::json;

Kind kind_of(const Json& v) {
  if (v.is_object()) return Kind::kObject;
  if (v.is_array()) return Kind::kArray;
  if (v.is_string()) return Kind::kString;
  if (v.is_boolean()) return Kind::kBool;
  if (v.is_null()) return Kind::kNull;
  return Kind::kNumber;
}

// The deepest value's depth (the top value is 0), and the most containers open at once.
void depths(const Json& v, uint32_t depth, uint32_t* values, uint32_t* containers) {
  if (depth > *values) *values = depth;
  if (!v.is_object() && !v.is_array()) return;
  if (depth + 1 > *containers) *containers = depth + 1;
  for (const Json& item : v) depths(item, depth + 1, values, containers);
}

// The broker's placeholders on a DOM: outermost placeholder objects listed (their "num" an integer
// literal in int64), nested ones only checked. Keys in nlohmann's order, so compare sorted.
bool dom_placeholders(const Json& value, std::vector<int64_t>* nums, bool list) {
  bool ok = true;
  if (value.is_object()) {
    auto flag = value.find("_placeholder");
    if (flag != value.end() && flag->is_boolean() && flag->get<bool>()) {
      auto num = value.find("num");
      // nlohmann keeps integer literals of [2^63, 2^64) unsigned; the scanner wants int64.
      ok = num != value.end() && num->is_number_integer() &&
           !(num->is_number_unsigned() && num->get<uint64_t>() > INT64_MAX);
      if (ok && list) nums->push_back(num->get<int64_t>());
      list = false;
    }
  }
  if (value.is_object() || value.is_array()) {
    for (const Json& item : value) ok = dom_placeholders(item, nums, list) && ok;
  }
  return ok;
}

// Whether some object repeats a key: a DOM keeps only the last value, the scanner sees all.
bool repeats_a_key(std::string_view text) {
  std::vector<std::set<std::string>> open;
  bool repeated = false;
  Json::parser_callback_t callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) open.emplace_back();
    if (event == Json::parse_event_t::key &&
        !open.back().insert(parsed.get<std::string>()).second) {
      repeated = true;
    }
    if (event == Json::parse_event_t::object_end) open.pop_back();
    return true;
  };
  (void)Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  return repeated;
}

herald::json::JsonScan scan(std::string_view text, uint32_t max_depth, DepthRule rule) {
  ScanOptions options;
  options.max_depth = max_depth;
  options.depth_rule = rule;
  options.placeholders = Placeholders::kOutermost;
  options.skip_bom = true;  // as nlohmann does
  return herald::json::scan_json(text, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint32_t limit = data[0] % 16;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  // No depth bound that an input of this size could reach: the syntax verdict alone.
  const herald::json::JsonScan full = scan(text, 1u << 20, DepthRule::kValues);
  // nlohmann's lexer takes a NUL byte outside a string for the end of the input; JSON has none
  // there, and the scanner refuses it (as the edge did before parsing).
  if (text.find('\0') != std::string_view::npos) {
    if (full.error != JsonScanError::kSyntax) std::abort();
    return 0;
  }
  const Json dom = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if ((full.error == JsonScanError::kSyntax) != dom.is_discarded()) std::abort();
  if (text.starts_with("\xEF\xBB\xBF") &&
      herald::json::scan_json(text, ScanOptions{}).error != JsonScanError::kSyntax) {
    std::abort();  // without skip_bom a byte order mark is refused
  }
  if (dom.is_discarded()) return 0;

  if (full.top != kind_of(dom)) std::abort();
  const Kind first = dom.is_array() && !dom.empty() ? kind_of(dom[0]) : Kind::kNone;
  if (full.first_element != first) std::abort();

  if (!repeats_a_key(text)) {
    std::vector<int64_t> nums;
    const bool placeholders_ok = dom_placeholders(dom, &nums, true);
    if ((full.error == JsonScanError::kNone) != placeholders_ok) std::abort();
    std::vector<int64_t> found = full.placeholders;
    std::sort(found.begin(), found.end());
    std::sort(nums.begin(), nums.end());
    if (placeholders_ok && found != nums) std::abort();
  }

  uint32_t value_depth = 0;
  uint32_t container_depth = 0;
  depths(dom, 0, &value_depth, &container_depth);
  const bool values_too_deep = scan(text, limit, DepthRule::kValues).error == JsonScanError::kDepth;
  if (values_too_deep != (value_depth > limit)) std::abort();
  const bool containers_too_deep =
      scan(text, limit, DepthRule::kContainers).error == JsonScanError::kDepth;
  if (containers_too_deep != (container_depth > limit)) std::abort();
  return 0;
}
