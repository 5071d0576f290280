// Payload schemas for client events: a whitelist of typed fields, checked before any action runs.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/policy/yaml_reader.h"
#include "common/status.h"

namespace herald::policy {

// Schemas nest at most this deep (objects/arrays inside objects/arrays); validation recursion is
// bounded by the schema, never by the payload.
constexpr size_t kMaxSchemaDepth = 16;
// At most this many per-field details are reported for one refusal.
constexpr size_t kMaxValidationDetails = 32;

enum class SchemaType { kAny, kString, kInteger, kNumber, kBoolean, kObject, kArray };

std::string_view to_string(SchemaType type);

struct Schema;

struct SchemaField {
  std::string name;
  std::vector<Schema> schema;  // exactly one; a vector because Schema is incomplete here
};

struct Schema {
  SchemaType type = SchemaType::kAny;
  bool optional = false;  // a field or argument that may be absent
  bool nullable = false;  // null accepted in place of the value
  // string: length in code points; array: item count; integer: value.
  std::optional<int64_t> min_int, max_int;
  // number: value.
  std::optional<double> min_num, max_num;
  std::vector<nlohmann::json> enum_values;  // empty = any value of the type
  std::optional<std::string> pattern;       // string glob ('*' = any run)
  std::vector<SchemaField> fields;          // object: sorted by name
  bool additional = false;                  // object: accept undeclared fields
  std::vector<Schema> items;                // array: zero or one item schema
};

// How an event's argument array is checked.
struct ArgsSchema {
  bool present = false;      // no schema: arguments are not checked
  bool first_arg = false;    // `schema:` form: paths are relative to the first argument
  std::vector<Schema> args;  // one per position; more arguments than this are refused
};

// One type spec (`{type: string, max: 10}` or the shorthand `string`) at `path`.
Result<Schema> parse_schema(const YAML::Node& node, std::string_view path, size_t depth,
                            internal::ParseBudget& budget);

// An event's `schema` (field map for the first argument, or a full spec) and/or `args` (positional
// specs). Either may be a null node; both set is an error.
Result<ArgsSchema> parse_args_schema(const YAML::Node& schema_node, std::string_view schema_path,
                                     const YAML::Node& args_node, std::string_view args_path,
                                     internal::ParseBudget& budget);

// Checks `args` (the event's argument array). Returns the details array
// [{"field","rule","message"}, ...]; empty when valid.
nlohmann::json validate_args(const ArgsSchema& schema, const nlohmann::json& args);

// Checks one value; `path` is the field name reported for errors at the top.
nlohmann::json validate_value(const Schema& schema, const nlohmann::json& value,
                              std::string_view path);

// Number of Unicode code points in UTF-8 text (continuation bytes are not counted).
size_t utf8_length(std::string_view text);

}  // namespace herald::policy
