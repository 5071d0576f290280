// Validation of server-initiated emits: reserved names, JSON args, placeholders, sizes, rooms.
#include "broker/fanout/emit_validation.h"

#include <gtest/gtest.h>

namespace herald::broker {
namespace {

TEST(EmitValidation, ReservedAndEmptyEventNamesAreRefused) {
  EmitLimits limits;
  for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                           "removeListener", ""}) {
    EXPECT_EQ(validate_event_name(name, limits).code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(validate_event_name("message", limits).ok());
  EXPECT_FALSE(validate_event_name(std::string(257, 'x'), limits).ok());
}

TEST(EmitValidation, ArgsMustBeAJsonArray) {
  EmitLimits limits;
  std::string args;
  EXPECT_TRUE(validate_args(&args, 0, 0, limits).ok());
  EXPECT_EQ(args, "[]");
  args = R"({"a":1})";
  EXPECT_FALSE(validate_args(&args, 0, 0, limits).ok());
  args = "[1,";
  EXPECT_FALSE(validate_args(&args, 0, 0, limits).ok());
  args = R"([1,"two",{"three":3}])";
  EXPECT_TRUE(validate_args(&args, 0, 0, limits).ok());
}

TEST(EmitValidation, AttachmentsMustMatchPlaceholders) {
  EmitLimits limits;
  std::string args = R"([{"a":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1}]])";
  EXPECT_TRUE(validate_args(&args, 2, 10, limits).ok());
  EXPECT_FALSE(validate_args(&args, 1, 10, limits).ok());
  EXPECT_FALSE(validate_args(&args, 3, 10, limits).ok());
  std::string dup = R"([{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])";
  EXPECT_FALSE(validate_args(&dup, 2, 10, limits).ok());
  std::string gap = R"([{"_placeholder":true,"num":1}])";
  EXPECT_FALSE(validate_args(&gap, 1, 10, limits).ok());
  std::string bad = R"([{"_placeholder":true,"num":"x"}])";
  EXPECT_FALSE(validate_args(&bad, 1, 10, limits).ok());
  std::string none = "[]";
  EXPECT_FALSE(validate_args(&none, 1, 10, limits).ok());
}

TEST(EmitValidation, SizesAreBounded) {
  EmitLimits limits;
  limits.max_payload_bytes = 100;
  std::string args = "[\"" + std::string(90, 'x') + "\"]";
  EXPECT_TRUE(validate_args(&args, 0, 0, limits).ok());
  EXPECT_FALSE(validate_args(&args, 0, 20, limits).ok());
  std::string deep = std::string(100, '[') + std::string(100, ']');
  limits.max_payload_bytes = 1000;
  EXPECT_FALSE(validate_args(&deep, 0, 0, limits).ok());
}

TEST(EmitValidation, NamespacesAndRooms) {
  EmitLimits limits;
  std::string ns;
  EXPECT_TRUE(normalize_namespace(&ns, limits).ok());
  EXPECT_EQ(ns, "/");
  ns = "chat";
  EXPECT_FALSE(normalize_namespace(&ns, limits).ok());
  EXPECT_TRUE(validate_rooms({"a", "b"}, "rooms", limits).ok());
  EXPECT_FALSE(validate_rooms({""}, "rooms", limits).ok());
  EXPECT_FALSE(validate_rooms({std::string(1025, 'r')}, "rooms", limits).ok());
  limits.max_rooms = 1;
  EXPECT_FALSE(validate_rooms({"a", "b"}, "rooms", limits).ok());
}

}  // namespace
}  // namespace herald::broker
