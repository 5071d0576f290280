// Validation of server-initiated emits.
#include "broker/fanout/emit_validation.h"

#include <array>
#include <nlohmann/json.hpp>
#include <set>

namespace herald::broker {

namespace {

// Collects placeholder numbers; false when a placeholder is malformed or nesting passes 64.
bool collect_placeholders(const nlohmann::json& value, std::vector<int64_t>* nums, int depth) {
  if (depth > 64) return false;
  if (value.is_object()) {
    auto flag = value.find("_placeholder");
    if (flag != value.end() && flag->is_boolean() && flag->get<bool>()) {
      auto num = value.find("num");
      if (num == value.end() || !num->is_number_integer()) return false;
      nums->push_back(num->get<int64_t>());
      return true;
    }
    for (const auto& [key, item] : value.items()) {
      if (!collect_placeholders(item, nums, depth + 1)) return false;
    }
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (!collect_placeholders(item, nums, depth + 1)) return false;
    }
  }
  return true;
}

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
  nlohmann::json parsed = nlohmann::json::parse(*args_json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid_argument("args_json: not valid JSON");
  if (!parsed.is_array()) return invalid_argument("args_json: must be a JSON array");
  std::vector<int64_t> nums;
  if (!collect_placeholders(parsed, &nums, 0)) {
    return invalid_argument("args_json: malformed binary placeholder or nested too deeply");
  }
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
