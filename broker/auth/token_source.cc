// Token extraction from the handshake auth object, query string and Authorization header.
#include "broker/auth/token_source.h"

namespace herald::auth {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::string> non_empty(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return std::string(s);
}

}  // namespace

std::optional<std::string> token_from_auth(const nlohmann::json& auth) {
  if (!auth.is_object()) return std::nullopt;
  auto it = auth.find("token");
  if (it == auth.end() || !it->is_string()) return std::nullopt;
  return non_empty(it->get_ref<const std::string&>());
}

std::optional<std::string> token_from_query_string(std::string_view query) {
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != "token" || eq == std::string_view::npos) continue;
    auto value = percent_decode(pair.substr(eq + 1));
    if (!value) return std::nullopt;
    return non_empty(*value);
  }
  return std::nullopt;
}

std::optional<std::string> token_from_authorization(std::string_view header_value) {
  std::string_view v = trim(header_value);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || !is_space(v[kScheme.size()])) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = v[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  return non_empty(trim(v.substr(kScheme.size())));
}

std::optional<std::string> extract_token(const nlohmann::json& auth,
                                         std::optional<std::string_view> query_token,
                                         std::optional<std::string_view> authorization_header) {
  if (auto token = token_from_auth(auth)) return token;
  if (query_token && !query_token->empty()) return std::string(*query_token);
  if (authorization_header) return token_from_authorization(*authorization_header);
  return std::nullopt;
}

}  // namespace herald::auth
