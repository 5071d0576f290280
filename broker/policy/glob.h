// Glob patterns for room and namespace names: '*' matches any run of characters, nothing else is
// special.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald::policy {

// True when `text` matches `pattern` ('*' = any run of characters, possibly empty).
bool glob_match(std::string_view pattern, std::string_view text);

// Like glob_match, and on success fills `captures` with what each '*' matched, left to right; each
// '*' takes the shortest run that still lets the whole pattern match.
bool glob_capture(std::string_view pattern, std::string_view text,
                  std::vector<std::string>* captures);

}  // namespace herald::policy
