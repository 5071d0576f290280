// Checks for server-initiated emits (public API, HandleEvents emits): event name, JSON arguments,
// binary attachments against their placeholders, sizes, namespace and room names.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::broker {

struct EmitLimits {
  size_t max_event_bytes = 256;
  size_t max_payload_bytes = 1000000;  // args_json plus every attachment
  size_t max_attachments = 32;
  size_t max_rooms = 1000;  // rooms / except_rooms / except_socket_ids per request
  size_t max_room_bytes = 1024;
};

// Socket.IO's reserved event names (connect, connect_error, disconnect, disconnecting,
// newListener, removeListener): a server may not emit them.
bool is_reserved_emit_name(std::string_view event);

// Event name: non-empty, not reserved, at most max_event_bytes.
Status validate_event_name(std::string_view event, const EmitLimits& limits);

// `args_json` must be a JSON array ("" is normalized to "[]"); its binary placeholders
// ({"_placeholder":true,"num":n}) must number the attachments exactly 0..N-1; sizes bounded.
// On success *args_json is the normalized text.
Status validate_args(std::string* args_json, size_t attachment_count, size_t attachment_bytes,
                     const EmitLimits& limits);

// "" → "/"; otherwise it must start with '/' and be at most max_room_bytes.
Status normalize_namespace(std::string* ns, const EmitLimits& limits);

// Non-empty room names, at most max_rooms of them, each at most max_room_bytes.
Status validate_rooms(const std::vector<std::string>& rooms, std::string_view field,
                      const EmitLimits& limits);

}  // namespace herald::broker
