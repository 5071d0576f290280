// Shared by the fuzz targets that feed YAML to yaml-cpp.
#pragma once

#include <string_view>

namespace herald::fuzz {

// yaml-cpp 0.7 recurses once per nesting level with no depth guard, so inputs that nest deeper
// than any real config are skipped rather than reported as a (third-party) stack overflow.
inline bool yaml_too_deep(std::string_view text) {
  int depth = 0;
  int dashes = 0;
  for (char c : text) {
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') --depth;
    if (c == '-') ++dashes;
    if (depth > 64) return true;
  }
  return dashes > 512;
}

}  // namespace herald::fuzz
