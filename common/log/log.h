// Structured logging: one JSON object per line on stderr, with level, component and fields.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace herald::log {

enum class Level : uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kOff };

Result<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

namespace detail {
extern std::atomic<uint8_t> g_level;
}

inline bool enabled(Level level) {
  return static_cast<uint8_t>(level) >= detail::g_level.load(std::memory_order_relaxed);
}
void set_level(Level level);
Level level();

// Where records go; tests capture them. The default writes to stderr.
using Sink = void (*)(std::string_view line);
void set_sink(Sink sink);

// Writes {"ts","level","component","msg",...fields}. Prefer the HLOG_* macros, which skip
// building the fields when the level is off.
void write(Level level, std::string_view component, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json());

// Like write(), but at most `per_second` records per key (a short static string) per second;
// the next record that passes reports how many were suppressed. For floods of bad input.
void write_limited(std::string_view key, int per_second, Level level, std::string_view component,
                   std::string_view msg, const nlohmann::json& fields = nlohmann::json());

}  // namespace herald::log

// HLOG_INFO("edge", "listening", {{"address", addr}}) — the braces build a JSON object.
#define HERALD_LOG_AT(lvl, component, msg, ...)                                 \
  do {                                                                          \
    if (::herald::log::enabled(lvl))                                            \
      ::herald::log::write(lvl, component, msg, ::nlohmann::json(__VA_ARGS__)); \
  } while (0)
#define HLOG_TRACE(component, msg, ...) \
  HERALD_LOG_AT(::herald::log::Level::kTrace, component, msg, __VA_ARGS__)
#define HLOG_DEBUG(component, msg, ...) \
  HERALD_LOG_AT(::herald::log::Level::kDebug, component, msg, __VA_ARGS__)
#define HLOG_INFO(component, msg, ...) \
  HERALD_LOG_AT(::herald::log::Level::kInfo, component, msg, __VA_ARGS__)
#define HLOG_WARN(component, msg, ...) \
  HERALD_LOG_AT(::herald::log::Level::kWarn, component, msg, __VA_ARGS__)
#define HLOG_ERROR(component, msg, ...) \
  HERALD_LOG_AT(::herald::log::Level::kError, component, msg, __VA_ARGS__)
