// scan_json: checks JSON text in one pass without building a DOM (what emit validation needs for
// every Broadcast, PushToUser, EmitWithAck and HandleEvents reply or emit): syntax as RFC 8259 and
// nlohmann::json accept it (UTF-8 checked, numbers must be finite), nesting depth, and Socket.IO's
// binary placeholders {"_placeholder":true,"num":n}.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace herald::json {

enum class JsonScanError {
  kNone,
  kSyntax,       // not valid JSON
  kDepth,        // a value nested deeper than max_depth (the top value is depth 0)
  kPlaceholder,  // "_placeholder": true without an integral "num"
};

struct JsonScan {
  JsonScanError error = JsonScanError::kNone;
  bool top_is_array = false;
  // "num" of each placeholder object, in document order. As with a DOM walk that stops at a
  // placeholder, placeholders nested inside a placeholder object are not counted.
  std::vector<int64_t> placeholders;
};

JsonScan scan_json(std::string_view text, int max_depth);

}  // namespace herald::json
