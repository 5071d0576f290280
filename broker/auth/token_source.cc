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

// JSON whitespace.
std::size_t skip_ws(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// A string at s[i] == '"' made of printable ASCII without escapes, which JSON takes literally:
// its content, with i moved past the closing quote. Anything else is not for the fast path.
std::optional<std::string_view> plain_string(std::string_view s, std::size_t& i) {
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  const std::size_t begin = ++i;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return s.substr(begin, i++ - begin);
    if (c < 0x20 || c >= 0x7f || c == '\\') return std::nullopt;
  }
  return std::nullopt;
}

// {"k":"v",...} with plain strings only: the last "token" member (JSON.parse and nlohmann keep
// the last of repeated keys); nullopt as a whole when the text has any other shape.
std::optional<std::optional<std::string_view>> token_of_plain_object(std::string_view s) {
  std::optional<std::string_view> token;
  std::size_t i = skip_ws(s, 0);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  i = skip_ws(s, i + 1);
  if (i < s.size() && s[i] == '}')
    return skip_ws(s, i + 1) == s.size() ? std::optional(token) : std::nullopt;
  while (true) {
    auto key = plain_string(s, i);
    if (!key) return std::nullopt;
    i = skip_ws(s, i);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    i = skip_ws(s, i + 1);
    auto value = plain_string(s, i);
    if (!value) return std::nullopt;
    if (*key == "token") token = value;
    i = skip_ws(s, i);
    if (i >= s.size()) return std::nullopt;
    if (s[i] == '}') break;
    if (s[i] != ',') return std::nullopt;
    i = skip_ws(s, i + 1);
  }
  if (skip_ws(s, i + 1) != s.size()) return std::nullopt;
  return token;
}

}  // namespace

std::optional<std::string> token_from_auth_json(std::string_view auth_json) {
  if (auth_json.empty()) return std::nullopt;
  if (auto plain = token_of_plain_object(auth_json)) {
    if (!*plain) return std::nullopt;
    return non_empty(**plain);
  }
  const nlohmann::json auth = nlohmann::json::parse(auth_json, nullptr, /*allow_exceptions=*/false);
  return token_from_auth(auth);  // a discarded (invalid) parse is not an object
}

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

std::optional<std::string> extract_token_from_auth_json(
    std::string_view auth_json, std::optional<std::string_view> query_token,
    std::optional<std::string_view> authorization_header) {
  if (auto token = token_from_auth_json(auth_json)) return token;
  if (query_token && !query_token->empty()) return std::string(*query_token);
  if (authorization_header) return token_from_authorization(*authorization_header);
  return std::nullopt;
}

}  // namespace herald::auth
