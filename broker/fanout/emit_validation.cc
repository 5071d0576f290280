// Validation of server-initiated emits.
#include "broker/fanout/emit_validation.h"

#include <array>
#include <set>

#include "common/json/json_scan.h"

namespace herald::broker {

namespace {

using json::JsonScan;
using json::JsonScanError;
using json::scan_json;

constexpr uint32_t kMaxArgsDepth = 64;  // no value deeper; the argument array is depth 0

}  // namespace

bool is_reserved_emit_name(std::string_view event) {
  static constexpr std::array<std::string_view, 6> kReserved = {
      "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};
  for (std::string_view r : kReserved) {
    if (event == r) return true;
  }
  return false;
}

Status validate_event_name(std::string_view event, const EmitLimits& limits) {
  if (event.empty()) return invalid_argument("event: must not be empty");
  if (event.size() > limits.max_event_bytes) {
    return invalid_argument("event: longer than " + std::to_string(limits.max_event_bytes) +
                            " bytes");
  }
  if (is_reserved_emit_name(event)) {
    return invalid_argument("event: '" + std::string(event) + "' is a reserved event name");
  }
  return Status::ok_status();
}

Status validate_args(std::string* args_json, size_t attachment_count, size_t attachment_bytes,
                     const EmitLimits& limits) {
  if (args_json->empty()) *args_json = "[]";
  if (args_json->size() + attachment_bytes > limits.max_payload_bytes) {
    return invalid_argument("args_json and attachments exceed " +
                            std::to_string(limits.max_payload_bytes) + " bytes");
  }
  if (attachment_count > limits.max_attachments) {
    return invalid_argument("attachments: more than " + std::to_string(limits.max_attachments));
  }
  // One pass over the text, no DOM: this runs for every server-side emit and handler reply.
  json::ScanOptions options;
  options.max_depth = kMaxArgsDepth;
  options.depth_rule = json::DepthRule::kValues;
  options.placeholders = json::Placeholders::kOutermost;
  JsonScan scan = scan_json(*args_json, options);
  if (scan.error == JsonScanError::kSyntax) return invalid_argument("args_json: not valid JSON");
  if (scan.top != json::Kind::kArray) return invalid_argument("args_json: must be a JSON array");
  if (scan.error != JsonScanError::kNone) {
    return invalid_argument("args_json: malformed binary placeholder or nested too deeply");
  }
  const std::vector<int64_t>& nums = scan.placeholders;
  if (nums.size() != attachment_count) {
    return invalid_argument("attachments: " + std::to_string(attachment_count) +
                            " given but args_json has " + std::to_string(nums.size()) +
                            " placeholders");
  }
  std::set<int64_t> seen(nums.begin(), nums.end());
  if (seen.size() != nums.size() ||
      (!seen.empty() &&
       (*seen.begin() != 0 || *seen.rbegin() != static_cast<int64_t>(attachment_count) - 1))) {
    return invalid_argument("args_json: placeholders must number the attachments 0..N-1");
  }
  return Status::ok_status();
}

Status normalize_namespace(std::string* ns, const EmitLimits& limits) {
  if (ns->empty()) *ns = "/";
  if ((*ns)[0] != '/') return invalid_argument("ns: must start with '/'");
  if (ns->size() > limits.max_room_bytes) return invalid_argument("ns: too long");
  return Status::ok_status();
}

Status validate_rooms(const std::vector<std::string>& rooms, std::string_view field,
                      const EmitLimits& limits) {
  if (rooms.size() > limits.max_rooms) {
    return invalid_argument(std::string(field) + ": more than " + std::to_string(limits.max_rooms) +
                            " entries");
  }
  for (const std::string& room : rooms) {
    if (room.empty()) return invalid_argument(std::string(field) + ": empty name");
    if (room.size() > limits.max_room_bytes) {
      return invalid_argument(std::string(field) + ": name longer than " +
                              std::to_string(limits.max_room_bytes) + " bytes");
    }
  }
  return Status::ok_status();
}

}  // namespace herald::broker
