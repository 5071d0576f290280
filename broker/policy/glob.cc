// Linear-time-per-segment glob matching: split on '*', anchor the ends, find middles leftmost.
#include "broker/policy/glob.h"

namespace herald::policy {
namespace {

// Shared matcher; `captures` may be null.
bool match_segments(std::string_view pattern, std::string_view text,
                    std::vector<std::string>* captures) {
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == text;
  // First literal segment is anchored at the start.
  std::string_view head = pattern.substr(0, star);
  if (text.substr(0, head.size()) != head) return false;
  size_t pos = head.size();
  size_t pat = star + 1;
  std::vector<std::string> caught;
  while (true) {
    size_t next = pattern.find('*', pat);
    if (next == std::string_view::npos) {
      // Last literal segment is anchored at the end.
      std::string_view tail = pattern.substr(pat);
      if (text.size() < pos + tail.size()) return false;
      if (text.substr(text.size() - tail.size()) != tail) return false;
      if (captures != nullptr) {
        caught.emplace_back(text.substr(pos, text.size() - tail.size() - pos));
        *captures = std::move(caught);
      }
      return true;
    }
    std::string_view middle = pattern.substr(pat, next - pat);
    size_t found = text.find(middle, pos);
    if (found == std::string_view::npos) return false;
    if (captures != nullptr) caught.emplace_back(text.substr(pos, found - pos));
    pos = found + middle.size();
    pat = next + 1;
  }
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  return match_segments(pattern, text, nullptr);
}

bool glob_capture(std::string_view pattern, std::string_view text,
                  std::vector<std::string>* captures) {
  return match_segments(pattern, text, captures);
}

}  // namespace herald::policy
