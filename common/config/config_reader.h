// ConfigReader: typed reads from one YAML/JSON document with env and flag overrides, refusing
// unknown keys and bad values with the key's full path.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::config {

// Precedence, highest first: set_override() (command-line --set), environment variables
// (HERALD_<PATH>: path upper-cased, '.' and '-' become '_'), the document, the caller's default.
class ConfigReader {
 public:
  // An empty document: every value keeps its default unless overridden.
  ConfigReader();
  static Result<ConfigReader> from_file(const std::string& path);
  static Result<ConfigReader> from_string(std::string_view text, std::string origin = "<string>");

  // Environment lookups go through this (tests inject a map). nullptr disables env overrides.
  using EnvLookup = const char* (*)(const char* name);
  void set_env_lookup(EnvLookup lookup) { env_ = lookup; }
  void set_override(std::string path, std::string value);

  static std::string env_name(std::string_view path);

  // Each read marks `path` as known. A missing key leaves *out untouched (the default).
  void read(std::string_view path, std::string* out);
  void read(std::string_view path, bool* out);
  void read(std::string_view path, int64_t* out, int64_t min, int64_t max);
  void read(std::string_view path, uint32_t* out, uint32_t min = 0, uint32_t max = UINT32_MAX);
  void read(std::string_view path, double* out, double min, double max);
  // A YAML sequence of strings, or in an override a comma-separated list.
  void read(std::string_view path, std::vector<std::string>* out);
  // A string that must be one of `allowed`.
  void read_enum(std::string_view path, std::string* out, std::vector<std::string_view> allowed);

  // Hands a whole subtree to a specialised parser, which checks its own keys. Marks it known.
  // Returns an undefined node when absent.
  YAML::Node subtree(std::string_view path);
  // Marks a key known without reading it (for sections another process parses).
  void accept(std::string_view path) { known_.insert(std::string(path)); }

  void add_error(std::string message);
  bool has(std::string_view path) const;

  // The first recorded error, else an error naming every key in the document or overrides that
  // no read asked for, else OK.
  Status finish() const;

  const std::string& origin() const { return origin_; }

 private:
  YAML::Node find(std::string_view path) const;
  // The override or env value for path, if any.
  const std::string* override_for(std::string_view path, std::string* env_storage) const;
  void collect_unknown(const YAML::Node& node, const std::string& prefix,
                       std::vector<std::string>* unknown) const;
  bool is_known_or_under_known(const std::string& path) const;

  YAML::Node root_;
  std::string origin_ = "<defaults>";
  std::map<std::string, std::string, std::less<>> overrides_;
  std::set<std::string, std::less<>> known_;
  std::vector<std::string> errors_;
  EnvLookup env_ = nullptr;
};

}  // namespace herald::config
