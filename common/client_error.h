// Client-facing error codes and the {code, message, details} value sent back to Socket.IO clients.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace herald {

// The codes a client can see: connect refusals (CONNECT_ERROR data.code) and event refusals.
enum class ClientErrorCode {
  kValidationFailed,
  kForbidden,
  kRateLimited,
  kUnknownEvent,
  kPayloadTooLarge,
  kUnavailable,
  kInternal,
  kMissingToken,
  kExpiredToken,
  kInvalidToken,
};

// "VALIDATION_FAILED", "FORBIDDEN", ... as clients see them.
std::string_view to_string(ClientErrorCode code);

struct ClientError {
  ClientErrorCode code = ClientErrorCode::kInternal;
  std::string message;
  nlohmann::json details;  // null when there is nothing more to say

  // {"code": "...", "message": "...", "details": ...}; details omitted when null.
  nlohmann::json to_json() const;
};

}  // namespace herald
