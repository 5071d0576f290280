// Fuzzes the bus subject token encoding (common/bus/subjects.h): any name encodes to one NATS
// token that decodes back to it; a token decodes only if it is the canonical encoding of its
// result; subjects built from two names split back into exactly those tokens. Also parses the
// input as a socket/session id (the ids the edge routes by, carried in subjects and messages).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/bus/subjects.h"
#include "common/ids.h"

namespace {

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':' || c == '-' || c == '~';
}

void check_token(std::string_view name) {
  const std::string token = herald::bus::encode_token(name);
  // A NATS token: non-empty, no '.', no wildcards, no whitespace.
  if (token.empty()) std::abort();
  for (char c : token) {
    if (!is_token_char(c)) std::abort();
  }
  const std::optional<std::string> back = herald::bus::decode_token(token);
  if (!back || *back != name) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  check_token(input);
  // The input as a token: decoding is the exact inverse of encoding.
  if (const std::optional<std::string> decoded = herald::bus::decode_token(input)) {
    if (herald::bus::encode_token(*decoded) != input) std::abort();
  }

  // Two names split at the first NUL: the subject has exactly the two encoded tokens after the
  // fixed part, so different (ns, room) pairs never share a subject.
  const size_t cut = input.find('\0');
  const std::string_view ns = input.substr(0, cut);
  const std::string_view room =
      cut == std::string_view::npos ? std::string_view() : input.substr(cut + 1);
  const herald::bus::Subjects subjects("herald");
  const std::string subject = subjects.room(ns, room);
  const std::string head = "herald.room.";
  if (subject.compare(0, head.size(), head) != 0) std::abort();
  const std::string_view rest = std::string_view(subject).substr(head.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || rest.find('.', dot + 1) != std::string_view::npos) {
    std::abort();
  }
  const auto ns_back = herald::bus::decode_token(rest.substr(0, dot));
  const auto room_back = herald::bus::decode_token(rest.substr(dot + 1));
  if (!ns_back || *ns_back != ns || !room_back || *room_back != room) std::abort();
  if (subjects.handle(ns, room).find('*') != std::string::npos) std::abort();

  // Ids: whatever parses names a shard in range and a 4-character edge tag.
  if (const auto parts = herald::parse_id(input)) {
    if (parts->edge_tag.size() != herald::kEdgeTagLength || parts->shard >= herald::kMaxShards) {
      std::abort();
    }
    if (input.size() != herald::kIdLength) std::abort();
  }
  return 0;
}
