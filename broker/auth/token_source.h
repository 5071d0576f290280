// Finds the bearer token a client presented during the Socket.IO handshake.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace herald::auth {

// `auth.token` when it is a non-empty string.
std::optional<std::string> token_from_auth(const nlohmann::json& auth);

// The same from the auth object's JSON text (what the edge forwards). Invalid JSON or a non-object
// counts as no auth object. The usual shape — an object of plain string members — is read
// without building a DOM; anything else (escapes, non-ASCII, other value types) is parsed.
std::optional<std::string> token_from_auth_json(std::string_view auth_json);

// The `token` parameter of a raw query string ("a=1&token=x%2Ey"), percent- and '+'-decoded.
std::optional<std::string> token_from_query_string(std::string_view query);

// "Bearer <t>" (scheme case-insensitive, surrounding spaces ignored) → t.
std::optional<std::string> token_from_authorization(std::string_view header_value);

// Precedence: handshake auth object, then the `token` query parameter (already decoded), then the
// Authorization header. Empty values count as absent; nullopt means MISSING_TOKEN.
std::optional<std::string> extract_token(const nlohmann::json& auth,
                                         std::optional<std::string_view> query_token,
                                         std::optional<std::string_view> authorization_header);
std::optional<std::string> extract_token_from_auth_json(
    std::string_view auth_json, std::optional<std::string_view> query_token,
    std::optional<std::string_view> authorization_header);

}  // namespace herald::auth
