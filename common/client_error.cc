// Names and JSON form of the client-facing error codes.
#include "common/client_error.h"

namespace herald {

std::string_view to_string(ClientErrorCode code) {
  switch (code) {
    case ClientErrorCode::kValidationFailed:
      return "VALIDATION_FAILED";
    case ClientErrorCode::kForbidden:
      return "FORBIDDEN";
    case ClientErrorCode::kRateLimited:
      return "RATE_LIMITED";
    case ClientErrorCode::kUnknownEvent:
      return "UNKNOWN_EVENT";
    case ClientErrorCode::kPayloadTooLarge:
      return "PAYLOAD_TOO_LARGE";
    case ClientErrorCode::kUnavailable:
      return "UNAVAILABLE";
    case ClientErrorCode::kInternal:
      return "INTERNAL";
    case ClientErrorCode::kMissingToken:
      return "MISSING_TOKEN";
    case ClientErrorCode::kExpiredToken:
      return "EXPIRED_TOKEN";
    case ClientErrorCode::kInvalidToken:
      return "INVALID_TOKEN";
  }
  return "INTERNAL";
}

nlohmann::json ClientError::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  out["code"] = std::string(to_string(code));
  out["message"] = message;
  if (!details.is_null()) out["details"] = details;
  return out;
}

}  // namespace herald
