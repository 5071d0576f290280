// ConfigReader implementation: YAML lookups by dotted path, overrides, strict key checking.
#include "common/config/config_reader.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace herald::config {

namespace {

// Splits "a.b.c" into tokens. Namespace names contain '/', never '.', so dots are safe here.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    parts.emplace_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

bool parse_bool(std::string_view v, bool* out) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") {
    *out = true;
    return true;
  }
  if (v == "false" || v == "no" || v == "off" || v == "0") {
    *out = false;
    return true;
  }
  return false;
}

bool parse_int(const std::string& v, int64_t* out) {
  if (v.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || end != v.c_str() + v.size()) return false;
  *out = n;
  return true;
}

bool parse_double(const std::string& v, double* out) {
  if (v.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (errno != 0 || end != v.c_str() + v.size()) return false;
  *out = d;
  return true;
}

}  // namespace

namespace {
const char* process_env(const char* name) {
  return std::getenv(name);
}
}  // namespace

ConfigReader::ConfigReader() : root_(YAML::NodeType::Map), env_(&process_env) {}

Result<ConfigReader> ConfigReader::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid_argument("cannot open config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_string(ss.str(), path);
}

Result<ConfigReader> ConfigReader::from_string(std::string_view text, std::string origin) {
  ConfigReader reader;
  reader.origin_ = std::move(origin);
  try {
    YAML::Node doc = YAML::Load(std::string(text));
    if (doc.IsNull()) {
      doc = YAML::Node(YAML::NodeType::Map);
    } else if (!doc.IsMap()) {
      return invalid_argument(reader.origin_ + ": the top level must be a mapping of sections");
    }
    reader.root_ = doc;
  } catch (const YAML::Exception& e) {
    return invalid_argument(reader.origin_ + ": " + e.what());
  }
  return reader;
}

void ConfigReader::set_override(std::string path, std::string value) {
  overrides_[std::move(path)] = std::move(value);
}

std::string ConfigReader::env_name(std::string_view path) {
  std::string name = "HERALD_";
  for (char c : path) {
    if (c == '.' || c == '-') {
      name.push_back('_');
    } else if (c >= 'a' && c <= 'z') {
      name.push_back(static_cast<char>(c - 'a' + 'A'));
    } else {
      name.push_back(c);
    }
  }
  return name;
}

YAML::Node ConfigReader::find(std::string_view path) const {
  YAML::Node node = root_;
  for (const auto& part : split_path(path)) {
    if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    // Lookups through a const node never insert the key they look for.
    const YAML::Node& lookup = node;
    YAML::Node next = lookup[part];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    node.reset(next);  // re-point the handle; assignment would overwrite the parent's value
  }
  return node;
}

bool ConfigReader::has(std::string_view path) const {
  std::string env;
  if (override_for(path, &env) != nullptr) return true;
  YAML::Node n = find(path);
  return n.IsDefined() && !n.IsNull();
}

const std::string* ConfigReader::override_for(std::string_view path,
                                              std::string* env_storage) const {
  auto it = overrides_.find(path);
  if (it != overrides_.end()) return &it->second;
  if (env_ != nullptr) {
    if (const char* v = env_(env_name(path).c_str()); v != nullptr) {
      *env_storage = v;
      return env_storage;
    }
  }
  return nullptr;
}

void ConfigReader::add_error(std::string message) {
  errors_.push_back(std::move(message));
}

void ConfigReader::read(std::string_view path, std::string* out) {
  known_.insert(std::string(path));
  std::string env;
  if (const std::string* v = override_for(path, &env)) {
    *out = *v;
    return;
  }
  YAML::Node n = find(path);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsScalar()) {
    add_error(std::string(path) + ": expected a string");
    return;
  }
  *out = n.Scalar();
}

void ConfigReader::read(std::string_view path, bool* out) {
  std::string text;
  bool present = has(path);
  read(path, &text);
  if (!present) return;
  if (!parse_bool(text, out))
    add_error(std::string(path) + ": expected true or false, got '" + text + "'");
}

void ConfigReader::read(std::string_view path, int64_t* out, int64_t min, int64_t max) {
  std::string text;
  bool present = has(path);
  read(path, &text);
  if (!present) return;
  int64_t v = 0;
  if (!parse_int(text, &v)) {
    add_error(std::string(path) + ": expected an integer, got '" + text + "'");
    return;
  }
  if (v < min || v > max) {
    add_error(std::string(path) + ": " + std::to_string(v) + " is out of range [" +
              std::to_string(min) + ", " + std::to_string(max) + "]");
    return;
  }
  *out = v;
}

void ConfigReader::read(std::string_view path, uint32_t* out, uint32_t min, uint32_t max) {
  int64_t v = *out;
  read(path, &v, min, max);
  *out = static_cast<uint32_t>(v);
}

void ConfigReader::read(std::string_view path, double* out, double min, double max) {
  std::string text;
  bool present = has(path);
  read(path, &text);
  if (!present) return;
  double v = 0;
  if (!parse_double(text, &v)) {
    add_error(std::string(path) + ": expected a number, got '" + text + "'");
    return;
  }
  if (v < min || v > max) {
    add_error(std::string(path) + ": " + text + " is out of range");
    return;
  }
  *out = v;
}

void ConfigReader::read(std::string_view path, std::vector<std::string>* out) {
  known_.insert(std::string(path));
  std::string env;
  if (const std::string* v = override_for(path, &env)) {
    out->clear();
    std::string_view rest = *v;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string item = trim(rest.substr(0, comma));
      if (!item.empty()) out->push_back(std::move(item));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return;
  }
  YAML::Node n = find(path);
  if (!n.IsDefined() || n.IsNull()) return;
  if (n.IsScalar()) {  // a single value is a one-element list
    *out = {n.Scalar()};
    return;
  }
  if (!n.IsSequence()) {
    add_error(std::string(path) + ": expected a list of strings");
    return;
  }
  out->clear();
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      add_error(std::string(path) + "[" + std::to_string(i) + "]: expected a string");
      return;
    }
    out->push_back(n[i].Scalar());
  }
}

void ConfigReader::read_enum(std::string_view path, std::string* out,
                             std::vector<std::string_view> allowed) {
  std::string v = *out;
  read(path, &v);
  for (auto a : allowed) {
    if (v == a) {
      *out = v;
      return;
    }
  }
  std::string list;
  for (auto a : allowed) {
    if (!list.empty()) list += ", ";
    list += a;
  }
  add_error(std::string(path) + ": '" + v + "' is not one of: " + list);
}

YAML::Node ConfigReader::subtree(std::string_view path) {
  known_.insert(std::string(path));
  return find(path);
}

bool ConfigReader::is_known_or_under_known(const std::string& path) const {
  if (known_.count(path)) return true;
  // A known subtree covers everything under it.
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
    if (known_.count(path.substr(0, dot))) return true;
  }
  return false;
}

void ConfigReader::collect_unknown(const YAML::Node& node, const std::string& prefix,
                                   std::vector<std::string>* unknown) const {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (is_known_or_under_known(path)) continue;
    if (kv.second.IsMap()) {
      // A section is known when any key under it was read; recurse to find the stray ones.
      bool section_used = false;
      for (const auto& k : known_) {
        if (k.size() > path.size() && k.compare(0, path.size(), path) == 0 &&
            k[path.size()] == '.') {
          section_used = true;
          break;
        }
      }
      if (section_used) {
        collect_unknown(kv.second, path, unknown);
        continue;
      }
    }
    unknown->push_back(path);
  }
}

Status ConfigReader::finish() const {
  if (!errors_.empty()) return invalid_argument(origin_ + ": " + errors_.front());
  std::vector<std::string> unknown;
  try {
    collect_unknown(root_, "", &unknown);
  } catch (const YAML::Exception& e) {
    return invalid_argument(origin_ + ": " + e.what());
  }
  for (const auto& [path, value] : overrides_) {
    if (!is_known_or_under_known(path)) unknown.push_back(path + " (override)");
  }
  if (unknown.empty()) return Status::ok_status();
  std::string msg = origin_ + ": unknown key";
  msg += unknown.size() > 1 ? "s: " : ": ";
  for (size_t i = 0; i < unknown.size(); ++i) {
    if (i) msg += ", ";
    msg += unknown[i];
  }
  return invalid_argument(msg);
}

}  // namespace herald::config
