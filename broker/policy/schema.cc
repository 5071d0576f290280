// Schema parsing from policy YAML and validation of event arguments against it.
#include "broker/policy/schema.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "broker/policy/glob.h"

namespace herald::policy {

using internal::join_path;
using internal::path_error;

namespace {

Result<SchemaType> parse_type_name(const std::string& name, std::string_view path) {
  if (name == "string") return SchemaType::kString;
  if (name == "integer") return SchemaType::kInteger;
  if (name == "number") return SchemaType::kNumber;
  if (name == "boolean") return SchemaType::kBoolean;
  if (name == "object") return SchemaType::kObject;
  if (name == "array") return SchemaType::kArray;
  if (name == "any") return SchemaType::kAny;
  return path_error(
      path, "unknown type '" + name + "' (string, integer, number, boolean, object, array, any)");
}

Status not_for_type(std::string_view path, SchemaType type) {
  return path_error(path, "not allowed for type " + std::string(to_string(type)));
}

std::string format_number(double d) {
  return nlohmann::json(d).dump();
}

// Integral value of a JSON number, clamped to int64; false when not an integer.
bool integral_value(const nlohmann::json& v, int64_t* out) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    *out = u > static_cast<uint64_t>(kMax) ? kMax : static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d) return false;
    if (d >= 9.2e18) {
      *out = kMax;
    } else if (d <= -9.2e18) {
      *out = kMin;
    } else {
      *out = static_cast<int64_t>(d);
    }
    return true;
  }
  return false;
}

class Checker {
 public:
  explicit Checker(std::string root) : root_(std::move(root)) {}

  nlohmann::json take() { return std::move(details_); }

  void check(const Schema& s, const nlohmann::json& v, const std::string& path) {
    if (full()) return;
    if (v.is_null() && (s.nullable || s.type == SchemaType::kAny)) return;
    switch (s.type) {
      case SchemaType::kAny:
        return;
      case SchemaType::kString:
        check_string(s, v, path);
        return;
      case SchemaType::kInteger:
        check_integer(s, v, path);
        return;
      case SchemaType::kNumber:
        check_number(s, v, path);
        return;
      case SchemaType::kBoolean:
        if (!v.is_boolean()) type_error(s, path);
        return;
      case SchemaType::kObject:
        check_object(s, v, path);
        return;
      case SchemaType::kArray:
        check_array(s, v, path);
        return;
    }
  }

  void add(const std::string& path, std::string_view rule, std::string message) {
    if (full()) return;
    details_.push_back({{"field", path.empty() ? root_ : path},
                        {"rule", std::string(rule)},
                        {"message", std::move(message)}});
  }

 private:
  bool full() const { return details_.size() >= kMaxValidationDetails; }

  void type_error(const Schema& s, const std::string& path) {
    std::string_view name = to_string(s.type);
    std::string article = (name == "integer" || name == "object" || name == "array") ? "an " : "a ";
    add(path, "type", "must be " + article + std::string(name));
  }

  bool check_enum(const Schema& s, const nlohmann::json& v, const std::string& path) {
    if (s.enum_values.empty()) return true;
    for (const nlohmann::json& e : s.enum_values) {
      if (e == v) return true;
    }
    std::string list;
    for (size_t i = 0; i < s.enum_values.size() && i < 10; ++i) {
      if (i > 0) list += ", ";
      list += s.enum_values[i].is_string() ? s.enum_values[i].get_ref<const std::string&>()
                                           : s.enum_values[i].dump();
    }
    if (s.enum_values.size() > 10) list += ", ...";
    add(path, "enum", "must be one of: " + list);
    return false;
  }

  void check_string(const Schema& s, const nlohmann::json& v, const std::string& path) {
    if (!v.is_string()) return type_error(s, path);
    const std::string& text = v.get_ref<const std::string&>();
    auto len = static_cast<int64_t>(utf8_length(text));
    if (s.min_int && len < *s.min_int) {
      return add(path, "min", "must be at least " + std::to_string(*s.min_int) + " characters");
    }
    if (s.max_int && len > *s.max_int) {
      return add(path, "max", "must be at most " + std::to_string(*s.max_int) + " characters");
    }
    if (s.pattern && !glob_match(*s.pattern, text)) {
      return add(path, "pattern", "must match '" + *s.pattern + "'");
    }
    check_enum(s, v, path);
  }

  void check_integer(const Schema& s, const nlohmann::json& v, const std::string& path) {
    int64_t n = 0;
    if (!integral_value(v, &n)) return type_error(s, path);
    if (s.min_int && n < *s.min_int) {
      return add(path, "min", "must be at least " + std::to_string(*s.min_int));
    }
    if (s.max_int && n > *s.max_int) {
      return add(path, "max", "must be at most " + std::to_string(*s.max_int));
    }
    check_enum(s, v, path);
  }

  void check_number(const Schema& s, const nlohmann::json& v, const std::string& path) {
    if (!v.is_number()) return type_error(s, path);
    double d = v.get<double>();
    if (s.min_num && d < *s.min_num) {
      return add(path, "min", "must be at least " + format_number(*s.min_num));
    }
    if (s.max_num && d > *s.max_num) {
      return add(path, "max", "must be at most " + format_number(*s.max_num));
    }
    check_enum(s, v, path);
  }

  void check_object(const Schema& s, const nlohmann::json& v, const std::string& path) {
    if (!v.is_object()) return type_error(s, path);
    for (const SchemaField& f : s.fields) {
      std::string child = path.empty() ? f.name : path + "." + f.name;
      auto it = v.find(f.name);
      if (it == v.end()) {
        if (!f.schema[0].optional) add(child, "required", "is required");
        continue;
      }
      check(f.schema[0], *it, child);
    }
    if (s.additional) return;
    for (auto it = v.begin(); it != v.end() && !full(); ++it) {
      const std::string& key = it.key();
      auto found =
          std::lower_bound(s.fields.begin(), s.fields.end(), key,
                           [](const SchemaField& f, const std::string& k) { return f.name < k; });
      if (found == s.fields.end() || found->name != key) {
        add(path.empty() ? key : path + "." + key, "unknown", "is not an allowed field");
      }
    }
  }

  void check_array(const Schema& s, const nlohmann::json& v, const std::string& path) {
    if (!v.is_array()) return type_error(s, path);
    auto count = static_cast<int64_t>(v.size());
    if (s.min_int && count < *s.min_int) {
      return add(path, "min", "must have at least " + std::to_string(*s.min_int) + " items");
    }
    if (s.max_int && count > *s.max_int) {
      return add(path, "max", "must have at most " + std::to_string(*s.max_int) + " items");
    }
    if (s.items.empty()) return;
    std::string base = path.empty() ? root_ : path;
    for (size_t i = 0; i < v.size() && !full(); ++i) {
      check(s.items[0], v[i], base + "[" + std::to_string(i) + "]");
    }
  }

  std::string root_;
  nlohmann::json details_ = nlohmann::json::array();
};

}  // namespace

std::string_view to_string(SchemaType type) {
  switch (type) {
    case SchemaType::kAny:
      return "any";
    case SchemaType::kString:
      return "string";
    case SchemaType::kInteger:
      return "integer";
    case SchemaType::kNumber:
      return "number";
    case SchemaType::kBoolean:
      return "boolean";
    case SchemaType::kObject:
      return "object";
    case SchemaType::kArray:
      return "array";
  }
  return "any";
}

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Result<Schema> parse_schema(const YAML::Node& node, std::string_view path, size_t depth,
                            internal::ParseBudget& budget) {
  if (depth > kMaxSchemaDepth) {
    return path_error(path, "schema nested deeper than " + std::to_string(kMaxSchemaDepth));
  }
  Schema s;
  if (node.IsScalar()) {  // shorthand: `text: string`
    Status st = internal::charge(budget, path);
    if (!st.ok()) return st;
    Result<SchemaType> t = parse_type_name(node.Scalar(), path);
    if (!t.ok()) return t.status();
    s.type = *t;
    return s;
  }
  Result<internal::Entries> entries = internal::map_entries(node, path, budget);
  if (!entries.ok()) return entries.status();
  bool has_type = false;
  for (const auto& [key, value] : *entries) {
    if (key != "type") continue;
    Result<std::string> name = internal::read_string(value, join_path(path, key));
    if (!name.ok()) return name.status();
    Result<SchemaType> t = parse_type_name(*name, join_path(path, key));
    if (!t.ok()) return t.status();
    s.type = *t;
    has_type = true;
  }
  if (!has_type) return path_error(path, "missing key 'type'");
  const SchemaType type = s.type;
  bool saw_optional = false;
  for (const auto& [key, value] : *entries) {
    std::string kpath = join_path(path, key);
    if (key == "type") continue;
    if (key == "optional" || key == "required") {
      if (saw_optional) return path_error(kpath, "use either 'optional' or 'required'");
      saw_optional = true;
      Result<bool> b = internal::read_bool(value, kpath);
      if (!b.ok()) return b.status();
      s.optional = key == "optional" ? *b : !*b;
    } else if (key == "nullable") {
      Result<bool> b = internal::read_bool(value, kpath);
      if (!b.ok()) return b.status();
      s.nullable = *b;
    } else if (key == "description") {
      Result<std::string> d = internal::read_string(value, kpath);
      if (!d.ok()) return d.status();
    } else if (key == "min" || key == "max") {
      if (type == SchemaType::kNumber) {
        Result<double> d = internal::read_number(value, kpath);
        if (!d.ok()) return d.status();
        (key == "min" ? s.min_num : s.max_num) = *d;
      } else if (type == SchemaType::kString || type == SchemaType::kArray ||
                 type == SchemaType::kInteger) {
        Result<int64_t> i = internal::read_int(value, kpath);
        if (!i.ok()) return i.status();
        if (type != SchemaType::kInteger && *i < 0) return path_error(kpath, "must be >= 0");
        (key == "min" ? s.min_int : s.max_int) = *i;
      } else {
        return not_for_type(kpath, type);
      }
    } else if (key == "enum") {
      if (type != SchemaType::kString && type != SchemaType::kInteger &&
          type != SchemaType::kNumber) {
        return not_for_type(kpath, type);
      }
      if (!value.IsSequence() || value.size() == 0) {
        return path_error(kpath, "must be a non-empty list");
      }
      size_t i = 0;
      for (const YAML::Node& item : value) {
        std::string ipath = kpath + "[" + std::to_string(i++) + "]";
        Status st = internal::charge(budget, ipath);
        if (!st.ok()) return st;
        if (type == SchemaType::kString) {
          Result<std::string> v = internal::read_string(item, ipath);
          if (!v.ok()) return v.status();
          s.enum_values.emplace_back(*v);
        } else if (type == SchemaType::kInteger) {
          Result<int64_t> v = internal::read_int(item, ipath);
          if (!v.ok()) return v.status();
          s.enum_values.emplace_back(*v);
        } else {
          Result<double> v = internal::read_number(item, ipath);
          if (!v.ok()) return v.status();
          s.enum_values.emplace_back(*v);
        }
      }
    } else if (key == "pattern") {
      if (type != SchemaType::kString) return not_for_type(kpath, type);
      Result<std::string> p = internal::read_string(value, kpath);
      if (!p.ok()) return p.status();
      s.pattern = *p;
    } else if (key == "fields") {
      if (type != SchemaType::kObject) return not_for_type(kpath, type);
      Result<internal::Entries> fields = internal::map_entries(value, kpath, budget);
      if (!fields.ok()) return fields.status();
      for (const auto& [name, spec] : *fields) {
        Result<Schema> child = parse_schema(spec, join_path(kpath, name), depth + 1, budget);
        if (!child.ok()) return child.status();
        s.fields.push_back({name, {std::move(child).value()}});
      }
    } else if (key == "additional") {
      if (type != SchemaType::kObject) return not_for_type(kpath, type);
      Result<bool> b = internal::read_bool(value, kpath);
      if (!b.ok()) return b.status();
      s.additional = *b;
    } else if (key == "items") {
      if (type != SchemaType::kArray) return not_for_type(kpath, type);
      Result<Schema> item = parse_schema(value, kpath, depth + 1, budget);
      if (!item.ok()) return item.status();
      s.items.push_back(std::move(item).value());
    } else {
      return path_error(kpath, "unknown key");
    }
  }
  if (s.min_int && s.max_int && *s.min_int > *s.max_int) {
    return path_error(path, "min is greater than max");
  }
  if (s.min_num && s.max_num && *s.min_num > *s.max_num) {
    return path_error(path, "min is greater than max");
  }
  std::sort(s.fields.begin(), s.fields.end(),
            [](const SchemaField& a, const SchemaField& b) { return a.name < b.name; });
  return s;
}

Result<ArgsSchema> parse_args_schema(const YAML::Node& schema_node, std::string_view schema_path,
                                     const YAML::Node& args_node, std::string_view args_path,
                                     internal::ParseBudget& budget) {
  ArgsSchema out;
  bool has_schema = schema_node.IsDefined() && !schema_node.IsNull();
  bool has_args = args_node.IsDefined() && !args_node.IsNull();
  if (has_schema && has_args) return path_error(args_path, "use either 'schema' or 'args'");
  if (has_schema) {
    out.present = true;
    out.first_arg = true;
    bool full_spec = false;
    if (schema_node.IsMap()) {
      try {
        const YAML::Node type = schema_node["type"];
        full_spec = type && type.IsScalar();
      } catch (const YAML::Exception& e) {
        return path_error(schema_path, e.what());
      }
    } else if (schema_node.IsScalar()) {
      full_spec = true;
    }
    if (full_spec) {
      Result<Schema> s = parse_schema(schema_node, schema_path, 1, budget);
      if (!s.ok()) return s.status();
      out.args.push_back(std::move(s).value());
      return out;
    }
    // Field map: the first argument is an object with exactly these fields.
    Result<internal::Entries> fields = internal::map_entries(schema_node, schema_path, budget);
    if (!fields.ok()) return fields.status();
    Schema obj;
    obj.type = SchemaType::kObject;
    for (const auto& [name, spec] : *fields) {
      Result<Schema> child = parse_schema(spec, join_path(schema_path, name), 2, budget);
      if (!child.ok()) return child.status();
      obj.fields.push_back({name, {std::move(child).value()}});
    }
    std::sort(obj.fields.begin(), obj.fields.end(),
              [](const SchemaField& a, const SchemaField& b) { return a.name < b.name; });
    out.args.push_back(std::move(obj));
    return out;
  }
  if (has_args) {
    if (!args_node.IsSequence()) return path_error(args_path, "must be a list of type specs");
    out.present = true;
    size_t i = 0;
    bool saw_optional = false;
    for (const YAML::Node& spec : args_node) {
      std::string ipath = std::string(args_path) + "[" + std::to_string(i++) + "]";
      Result<Schema> s = parse_schema(spec, ipath, 1, budget);
      if (!s.ok()) return s.status();
      if (saw_optional && !s->optional) {
        return path_error(ipath, "a required argument cannot follow an optional one");
      }
      saw_optional = saw_optional || s->optional;
      out.args.push_back(std::move(s).value());
    }
  }
  return out;
}

nlohmann::json validate_value(const Schema& schema, const nlohmann::json& value,
                              std::string_view path) {
  Checker checker{std::string(path)};
  checker.check(schema, value, std::string(path));
  return checker.take();
}

nlohmann::json validate_args(const ArgsSchema& schema, const nlohmann::json& args) {
  if (!schema.present) return nlohmann::json::array();
  if (!args.is_array()) {
    Checker checker{"args"};
    checker.add("args", "type", "must be an array");
    return checker.take();
  }
  nlohmann::json details = nlohmann::json::array();
  for (size_t i = 0; i < schema.args.size() && details.size() < kMaxValidationDetails; ++i) {
    std::string name = "args[" + std::to_string(i) + "]";
    const Schema& s = schema.args[i];
    if (i >= args.size()) {
      if (!s.optional) {
        details.push_back({{"field", name}, {"rule", "required"}, {"message", "is required"}});
      }
      continue;
    }
    // The `schema:` form names fields relative to the first argument ("text", not "args[0].text").
    Checker checker{name};
    checker.check(s, args[i], schema.first_arg && i == 0 ? std::string() : name);
    for (nlohmann::json& d : checker.take()) {
      if (details.size() >= kMaxValidationDetails) break;
      details.push_back(std::move(d));
    }
  }
  for (size_t i = schema.args.size(); i < args.size() && details.size() < kMaxValidationDetails;
       ++i) {
    details.push_back({{"field", "args[" + std::to_string(i) + "]"},
                       {"rule", "unknown"},
                       {"message", "is not an allowed argument"}});
  }
  return details;
}

}  // namespace herald::policy
