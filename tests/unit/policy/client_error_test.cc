// Tests for the client-facing error codes and their JSON form.
#include "common/client_error.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(policy_client_error, CodeNames) {
  EXPECT_EQ(to_string(ClientErrorCode::kValidationFailed), "VALIDATION_FAILED");
  EXPECT_EQ(to_string(ClientErrorCode::kForbidden), "FORBIDDEN");
  EXPECT_EQ(to_string(ClientErrorCode::kRateLimited), "RATE_LIMITED");
  EXPECT_EQ(to_string(ClientErrorCode::kUnknownEvent), "UNKNOWN_EVENT");
  EXPECT_EQ(to_string(ClientErrorCode::kPayloadTooLarge), "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(to_string(ClientErrorCode::kUnavailable), "UNAVAILABLE");
  EXPECT_EQ(to_string(ClientErrorCode::kInternal), "INTERNAL");
  EXPECT_EQ(to_string(ClientErrorCode::kMissingToken), "MISSING_TOKEN");
  EXPECT_EQ(to_string(ClientErrorCode::kExpiredToken), "EXPIRED_TOKEN");
  EXPECT_EQ(to_string(ClientErrorCode::kInvalidToken), "INVALID_TOKEN");
}

TEST(policy_client_error, JsonOmitsNullDetails) {
  ClientError e{ClientErrorCode::kForbidden, "no", nullptr};
  EXPECT_EQ(e.to_json(), (nlohmann::json{{"code", "FORBIDDEN"}, {"message", "no"}}));
  e.details = nlohmann::json::array({{{"field", "text"}}});
  EXPECT_EQ(e.to_json()["details"][0]["field"], "text");
}

}  // namespace
}  // namespace herald
