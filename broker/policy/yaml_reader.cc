// Strict YAML readers for policy config; yaml-cpp exceptions never escape.
#include "broker/policy/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <set>

namespace herald::policy::internal {

std::string join_path(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

Status path_error(std::string_view path, std::string_view what) {
  std::string msg(path);
  msg += ": ";
  msg += what;
  return invalid_argument(std::move(msg));
}

Status charge(ParseBudget& budget, std::string_view path) {
  if (budget.nodes_left == 0) return path_error(path, "policy document too large");
  --budget.nodes_left;
  return Status::ok_status();
}

Result<Entries> map_entries(const YAML::Node& node, std::string_view path, ParseBudget& budget) {
  Status st = charge(budget, path);
  if (!st.ok()) return st;
  if (node.IsNull()) return Entries{};
  if (!node.IsMap()) return path_error(path, "must be a mapping");
  Entries out;
  std::set<std::string, std::less<>> seen;
  try {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) return path_error(path, "keys must be plain strings");
      std::string key = it->first.Scalar();
      if (!seen.insert(key).second) return path_error(join_path(path, key), "duplicate key");
      out.emplace_back(std::move(key), it->second);
    }
  } catch (const YAML::Exception& e) {
    return path_error(path, e.what());
  }
  return out;
}

Result<std::string> read_string(const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) return path_error(path, "must be a string");
  return node.Scalar();
}

Result<bool> read_bool(const YAML::Node& node, std::string_view path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return path_error(path, "must be true or false");
}

Result<int64_t> read_int(const YAML::Node& node, std::string_view path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    int64_t v = 0;
    const char* begin = s.data();
    if (!s.empty() && s[0] == '+') ++begin;
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return v;
  }
  return path_error(path, "must be an integer");
}

Result<double> read_number(const YAML::Node& node, std::string_view path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    double v = 0;
    const char* begin = s.data();
    if (!s.empty() && s[0] == '+') ++begin;
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty() && std::isfinite(v)) {
      return v;
    }
  }
  return path_error(path, "must be a number");
}

Result<std::vector<std::string>> read_string_list(const YAML::Node& node, std::string_view path) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return path_error(path, "must be a string or a list of strings");
  size_t i = 0;
  for (const YAML::Node& item : node) {
    std::string item_path = std::string(path) + "[" + std::to_string(i++) + "]";
    if (!item.IsScalar()) return path_error(item_path, "must be a string");
    out.push_back(item.Scalar());
  }
  return out;
}

}  // namespace herald::policy::internal
