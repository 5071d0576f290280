// Internal helpers for reading policy YAML: typed scalars, strict maps and errors that carry the
// full key path.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace herald::policy::internal {

// Shared by one parse: aliases can make a small document expand into a huge tree, so every node
// visited is charged against a budget.
struct ParseBudget {
  size_t nodes_left = 100000;
};

std::string join_path(std::string_view path, std::string_view key);

// "path: what" as an INVALID_ARGUMENT status.
Status path_error(std::string_view path, std::string_view what);

Status charge(ParseBudget& budget, std::string_view path);

// The entries of a mapping in document order; refuses non-mappings, non-scalar and duplicate keys.
using Entries = std::vector<std::pair<std::string, YAML::Node>>;
Result<Entries> map_entries(const YAML::Node& node, std::string_view path, ParseBudget& budget);

Result<std::string> read_string(const YAML::Node& node, std::string_view path);
Result<bool> read_bool(const YAML::Node& node, std::string_view path);
Result<int64_t> read_int(const YAML::Node& node, std::string_view path);
Result<double> read_number(const YAML::Node& node, std::string_view path);

// A scalar or a sequence of scalars, as strings.
Result<std::vector<std::string>> read_string_list(const YAML::Node& node, std::string_view path);

}  // namespace herald::policy::internal
