// Test helpers: parse inline YAML policies and schemas, failing the test on a parse error.
#pragma once

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "broker/policy/policy.h"
#include "broker/policy/schema.h"

namespace herald::policy::testing {

inline PolicySet must_parse(std::string_view yaml) {
  Result<PolicySet> set = parse_policy_document(yaml);
  EXPECT_TRUE(set.ok()) << set.status().to_string();
  if (!set.ok()) return PolicySet{};
  return std::move(set).value();
}

inline std::string parse_error(std::string_view yaml) {
  Result<PolicySet> set = parse_policy_document(yaml);
  if (set.ok()) return "<parsed>";
  return set.status().message();
}

// An ArgsSchema from the YAML of an event's `schema:` value.
inline ArgsSchema must_schema(std::string_view yaml) {
  internal::ParseBudget budget;
  YAML::Node node = YAML::Load(std::string(yaml));
  Result<ArgsSchema> s = parse_args_schema(node, "schema", YAML::Node(), "args", budget);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  if (!s.ok()) return ArgsSchema{};
  return std::move(s).value();
}

// The same from an `args:` list.
inline ArgsSchema must_args(std::string_view yaml) {
  internal::ParseBudget budget;
  YAML::Node node = YAML::Load(std::string(yaml));
  Result<ArgsSchema> s = parse_args_schema(YAML::Node(), "schema", node, "args", budget);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  if (!s.ok()) return ArgsSchema{};
  return std::move(s).value();
}

}  // namespace herald::policy::testing
