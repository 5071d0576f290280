// Tests for event payload schemas: every type and rule, nesting, unknown fields, details format.
#include "broker/policy/schema.h"

#include <gtest/gtest.h>

#include "tests/unit/policy/policy_test_util.h"

namespace herald::policy {
namespace {

using nlohmann::json;
using testing::must_args;
using testing::must_schema;

// "field:rule" of each detail, for compact assertions.
std::vector<std::string> rules(const json& details) {
  std::vector<std::string> out;
  for (const json& d : details) {
    out.push_back(d["field"].get<std::string>() + ":" + d["rule"].get<std::string>());
  }
  return out;
}

std::vector<std::string> check(const ArgsSchema& s, const json& args) {
  return rules(validate_args(s, args));
}

using Rules = std::vector<std::string>;

TEST(policy_schema, FieldMapIsTheFirstArgument) {
  ArgsSchema s =
      must_schema("{room: {type: string, max: 200}, text: {type: string, min: 1, max: 2000}}");
  EXPECT_TRUE(s.present);
  EXPECT_TRUE(s.first_arg);
  EXPECT_EQ(check(s, json::parse(R"([{"room":"r","text":"hi"}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"room":"r"}])")), Rules{"text:required"});
  EXPECT_EQ(check(s, json::parse(R"([{"room":"r","text":""}])")), Rules{"text:min"});
  EXPECT_EQ(check(s, json::parse(R"([{"room":"r","text":"hi","extra":1}])")),
            Rules{"extra:unknown"});
  EXPECT_EQ(check(s, json::parse(R"(["nope"])")), Rules{"args[0]:type"});
  EXPECT_EQ(check(s, json::parse(R"([])")), Rules{"args[0]:required"});
  EXPECT_EQ(check(s, json::parse(R"([{"room":"r","text":"hi"}, 2])")), Rules{"args[1]:unknown"});
  EXPECT_EQ(check(s, json::parse(R"({"room":"r"})")), Rules{"args:type"});
}

TEST(policy_schema, DetailsCarryMessages) {
  ArgsSchema s = must_schema("{text: {type: string, max: 3}}");
  json details = validate_args(s, json::parse(R"([{"text":"abcd"}])"));
  ASSERT_EQ(details.size(), 1u);
  EXPECT_EQ(
      details[0],
      (json{{"field", "text"}, {"rule", "max"}, {"message", "must be at most 3 characters"}}));
}

TEST(policy_schema, StringRules) {
  ArgsSchema s = must_schema(
      "{a: {type: string, min: 2, max: 3}, b: {type: string, enum: [red, green], optional: true},"
      " c: {type: string, pattern: 'img-*.png', optional: true}}");
  EXPECT_EQ(check(s, json::parse(R"([{"a":"ab"}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"a":"a"}])")), Rules{"a:min"});
  EXPECT_EQ(check(s, json::parse(R"([{"a":"abcd"}])")), Rules{"a:max"});
  // Length counts code points, not bytes: three 3-byte characters.
  EXPECT_EQ(check(s, json::parse("[{\"a\":\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\"}]")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"a":12}])")), Rules{"a:type"});
  EXPECT_EQ(check(s, json::parse(R"([{"a":"ab","b":"green"}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"a":"ab","b":"blue"}])")), Rules{"b:enum"});
  EXPECT_EQ(check(s, json::parse(R"([{"a":"ab","c":"img-1.png"}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"a":"ab","c":"img-1.gif"}])")), Rules{"c:pattern"});
  EXPECT_EQ(utf8_length("h\xC3\xA9llo"), 5u);
}

TEST(policy_schema, IntegerRules) {
  ArgsSchema s = must_schema(
      "{n: {type: integer, min: -5, max: 10}, e: {type: integer, enum: [1, 2], optional: true}}");
  EXPECT_EQ(check(s, json::parse(R"([{"n":0}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"n":-5}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"n":10}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"n":3.0}])")), Rules{});  // integral float
  EXPECT_EQ(check(s, json::parse(R"([{"n":3.5}])")), Rules{"n:type"});
  EXPECT_EQ(check(s, json::parse(R"([{"n":"3"}])")), Rules{"n:type"});
  EXPECT_EQ(check(s, json::parse(R"([{"n":-6}])")), Rules{"n:min"});
  EXPECT_EQ(check(s, json::parse(R"([{"n":11}])")), Rules{"n:max"});
  EXPECT_EQ(check(s, json::parse(R"([{"n":18446744073709551615}])")), Rules{"n:max"});
  EXPECT_EQ(check(s, json::parse(R"([{"n":-1e300}])")), Rules{"n:min"});
  EXPECT_EQ(check(s, json::parse(R"([{"n":1,"e":2}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"n":1,"e":3}])")), Rules{"e:enum"});
}

TEST(policy_schema, NumberRules) {
  ArgsSchema s = must_schema(
      "{x: {type: number, min: 0.5, max: 1.5}, e: {type: number, enum: [0.25, 2], optional: "
      "true}}");
  EXPECT_EQ(check(s, json::parse(R"([{"x":1}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"x":1.5}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"x":0.4}])")), Rules{"x:min"});
  EXPECT_EQ(check(s, json::parse(R"([{"x":1.6}])")), Rules{"x:max"});
  EXPECT_EQ(check(s, json::parse(R"([{"x":true}])")), Rules{"x:type"});
  EXPECT_EQ(check(s, json::parse(R"([{"x":1,"e":2.0}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"x":1,"e":0.3}])")), Rules{"e:enum"});
}

TEST(policy_schema, BooleanAnyAndNull) {
  ArgsSchema s = must_schema(
      "{b: boolean, a: any, n: {type: string, nullable: true}, o: {type: integer, optional: "
      "true}}");
  EXPECT_EQ(check(s, json::parse(R"([{"b":true,"a":{"deep":[1]},"n":null}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"b":1,"a":null,"n":"s"}])")), Rules{"b:type"});
  // Optional means "may be absent", not "may be null".
  EXPECT_EQ(check(s, json::parse(R"([{"b":false,"a":1,"n":null,"o":null}])")), Rules{"o:type"});
  EXPECT_EQ(check(s, json::parse(R"([{"b":false,"a":1}])")), Rules{"n:required"});
}

TEST(policy_schema, NestedObjectsAndArrays) {
  ArgsSchema s = must_schema(R"(
    author: {type: object, fields: {name: {type: string, max: 5}, id: integer}}
    tags: {type: array, min: 1, max: 3, items: {type: string, max: 4}}
    points: {type: array, optional: true, items: {type: object, fields: {x: number, y: number}}}
    meta: {type: object, additional: true, fields: {v: integer}}
  )");
  json ok =
      json::parse(R"([{"author":{"name":"bob","id":1},"tags":["a"],"meta":{"v":1,"free":{}}}])");
  EXPECT_EQ(check(s, ok), Rules{});
  json bad = json::parse(R"([{
    "author":{"name":"robert","id":"x","age":3},
    "tags":["a","bbbbb",3],
    "points":[{"x":1,"y":2},{"x":"1"},{"x":1,"y":2,"z":3}],
    "meta":{}
  }])");
  EXPECT_EQ(check(s, bad), (Rules{"author.id:type", "author.name:max", "author.age:unknown",
                                  "meta.v:required", "points[1].x:type", "points[1].y:required",
                                  "points[2].z:unknown", "tags[1]:max", "tags[2]:type"}));
  EXPECT_EQ(check(s, json::parse(R"([{"author":{"name":"a","id":1},"tags":[]}])")),
            (Rules{"meta:required", "tags:min"}));
  EXPECT_EQ(
      check(s, json::parse(
                   R"([{"author":{"name":"a","id":1},"tags":["a","b","c","d"],"meta":{"v":0}}])")),
      Rules{"tags:max"});
  EXPECT_EQ(check(s, json::parse(R"([{"author":[],"tags":{},"meta":{"v":0}}])")),
            (Rules{"author:type", "tags:type"}));
}

TEST(policy_schema, EmptyObjectWithoutAdditionalAcceptsOnlyEmpty) {
  ArgsSchema s = must_schema("{type: object}");
  EXPECT_EQ(check(s, json::parse(R"([{}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"([{"a":1}])")), Rules{"a:unknown"});
  ArgsSchema free = must_schema("{type: object, additional: true}");
  EXPECT_EQ(check(free, json::parse(R"([{"a":1}])")), Rules{});
}

TEST(policy_schema, FullSpecUnderSchemaKey) {
  ArgsSchema s = must_schema("{type: string, max: 3}");
  EXPECT_EQ(check(s, json::parse(R"(["abc"])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"(["abcd"])")), Rules{"args[0]:max"});
  // A field called "type" whose spec is a mapping keeps the field-map meaning.
  ArgsSchema field = must_schema("{type: {type: string}}");
  EXPECT_EQ(check(field, json::parse(R"([{"type":"x"}])")), Rules{});
}

TEST(policy_schema, PositionalArgs) {
  ArgsSchema s = must_args(
      "[{type: string, max: 3}, {type: object, fields: {room: string}}, {type: integer, optional: "
      "true}]");
  EXPECT_FALSE(s.first_arg);
  EXPECT_EQ(check(s, json::parse(R"(["abc", {"room":"r"}])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"(["abc", {"room":"r"}, 3])")), Rules{});
  EXPECT_EQ(check(s, json::parse(R"(["abcd", {"room":1, "x":2}])")),
            (Rules{"args[0]:max", "args[1].room:type", "args[1].x:unknown"}));
  EXPECT_EQ(check(s, json::parse(R"(["a"])")), Rules{"args[1]:required"});
  EXPECT_EQ(check(s, json::parse(R"(["a", {"room":"r"}, 1, 2])")), Rules{"args[3]:unknown"});
}

TEST(policy_schema, NoSchemaAcceptsAnything) {
  ArgsSchema none;
  EXPECT_EQ(check(none, json::parse(R"([1, "two", {"three": 3}])")), Rules{});
}

TEST(policy_schema, DetailsAreCapped) {
  ArgsSchema s = must_schema("{a: string}");
  json obj = {{"a", "x"}};
  for (int i = 0; i < 100; ++i) obj["k" + std::to_string(i)] = i;
  EXPECT_EQ(validate_args(s, json::array({obj})).size(), kMaxValidationDetails);
}

TEST(policy_schema, ParseErrors) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"{a: {max: 3}}", "schema.a: missing key 'type'"},
      {"{a: {type: strin}}", "schema.a.type: unknown type 'strin'"},
      {"{a: {type: string, maxx: 3}}", "schema.a.maxx: unknown key"},
      {"{a: {type: string, max: -1}}", "schema.a.max: must be >= 0"},
      {"{a: {type: string, max: x}}", "schema.a.max: must be an integer"},
      {"{a: {type: number, min: nope}}", "schema.a.min: must be a number"},
      {"{a: {type: string, min: 5, max: 3}}", "schema.a: min is greater than max"},
      {"{a: {type: boolean, min: 1}}", "schema.a.min: not allowed for type boolean"},
      {"{a: {type: boolean, enum: [true]}}", "schema.a.enum: not allowed for type boolean"},
      {"{a: {type: string, enum: []}}", "schema.a.enum: must be a non-empty list"},
      {"{a: {type: integer, enum: [1, x]}}", "schema.a.enum[1]: must be an integer"},
      {"{a: {type: integer, pattern: x}}", "schema.a.pattern: not allowed for type integer"},
      {"{a: {type: string, fields: {}}}", "schema.a.fields: not allowed for type string"},
      {"{a: {type: string, items: string}}", "schema.a.items: not allowed for type string"},
      {"{a: {type: object, additional: maybe}}", "schema.a.additional: must be true or false"},
      {"{a: {type: string, optional: true, required: true}}",
       "use either 'optional' or 'required'"},
      {"{a: {type: object, fields: {b: {type: array, items: {type: nope}}}}}",
       "schema.a.fields.b.items.type: unknown type 'nope'"},
      {"{a: [1]}", "schema.a: must be a mapping"},
  };
  for (const Case& c : cases) {
    internal::ParseBudget budget;
    Result<ArgsSchema> s =
        parse_args_schema(YAML::Load(c.yaml), "schema", YAML::Node(), "args", budget);
    ASSERT_FALSE(s.ok()) << c.yaml;
    EXPECT_NE(s.status().message().find(c.error), std::string::npos)
        << c.yaml << " -> " << s.status().message();
  }
}

TEST(policy_schema, DepthLimit) {
  std::string yaml = "string";
  for (size_t i = 0; i < kMaxSchemaDepth + 2; ++i) yaml = "{type: array, items: " + yaml + "}";
  internal::ParseBudget budget;
  Result<ArgsSchema> s =
      parse_args_schema(YAML::Load(yaml), "schema", YAML::Node(), "args", budget);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nested deeper"), std::string::npos);
}

TEST(policy_schema, ArgsErrors) {
  internal::ParseBudget budget;
  Result<ArgsSchema> both = parse_args_schema(YAML::Load("{a: string}"), "e.schema",
                                              YAML::Load("[string]"), "e.args", budget);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().message(), "e.args: use either 'schema' or 'args'");
  Result<ArgsSchema> order =
      parse_args_schema(YAML::Node(), "e.schema",
                        YAML::Load("[{type: string, optional: true}, string]"), "e.args", budget);
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().message(),
            "e.args[1]: a required argument cannot follow an optional one");
}

}  // namespace
}  // namespace herald::policy
