// scan_json: checks JSON text in one pass without building a DOM or copying strings (what the
// edge's decoder needs for every packet a client sends, and the broker's emit validation for
// every Broadcast, PushToUser, EmitWithAck and HandleEvents reply or emit): syntax exactly as
// nlohmann::json accepts it (UTF-8 checked, numbers must be finite, a leading BOM optionally),
// nesting depth, the kinds of the top value and of an array's first element, and Socket.IO's binary
// placeholders {"_placeholder":true,"num":n}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace herald::json {

enum class JsonScanError {
  kNone,
  kSyntax,       // not valid JSON
  kDepth,        // nested deeper than ScanOptions::max_depth
  kPlaceholder,  // "_placeholder": true without a valid "num" (see Placeholders)
};

enum class Kind : uint8_t { kNone, kNull, kBool, kNumber, kString, kObject, kArray };

// How max_depth bounds nesting. The top value is at depth 0; a value inside one array is at 1.
enum class DepthRule : uint8_t {
  kValues,      // no value deeper than max_depth: a scalar counts like an array or object
  kContainers,  // at most max_depth arrays/objects open at once; scalars do not count
};

// Which objects are placeholders, what a valid "num" is, and when a bad one is reported. In all
// modes an object is a placeholder when its last "_placeholder" member is `true`, and its last
// "num" member is the one that counts (a repeated key replaces the earlier value, as in a DOM).
enum class Placeholders : uint8_t {
  kIgnore,  // no placeholder semantics (keys are not even decoded)
  // As a DOM walk that stops at a placeholder (the broker's emit validation): only the outermost
  // placeholders are listed; "num" must be an integer literal that fits int64 (no fraction or
  // exponent); a bad one is reported only once the whole text is known to be valid JSON.
  kOutermost,
  // As socket.io-parser's reconstructPacket (the edge's decoder): every placeholder object is
  // listed, nested ones too; "num" must be a number JavaScript sees as an integer (1.0 counts) in
  // 0..attachments-1; the first bad one ends the scan, like any other error at that point.
  kEvery,
};

struct ScanOptions {
  uint32_t max_depth = 64;
  DepthRule depth_rule = DepthRule::kValues;
  Placeholders placeholders = Placeholders::kIgnore;
  uint32_t attachments = 0;  // kEvery: how many binary attachments "num" may reference
  // Skip a UTF-8 byte order mark at the very start, as nlohmann does (JSON.parse does not).
  bool skip_bom = false;
};

struct JsonScan {
  JsonScanError error = JsonScanError::kNone;
  size_t error_offset = 0;  // on error: the byte offset where the scan stopped
  // On success: the top value's kind and, when that is a non-empty array, its first element's.
  Kind top = Kind::kNone;
  Kind first_element = Kind::kNone;
  // On success: the "num" of each placeholder object (see Placeholders), in the order the
  // objects end.
  std::vector<int64_t> placeholders;
};

// The recursion goes as deep as the nesting, so max_depth bounds the stack used.
JsonScan scan_json(std::string_view text, const ScanOptions& options);

}  // namespace herald::json
