// JSON-lines logger: formatting, level control, and per-key rate limiting.
#include "common/log/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald::log {

namespace detail {
std::atomic<uint8_t> g_level{static_cast<uint8_t>(Level::kInfo)};
}

namespace {

void stderr_sink(std::string_view line) {
  // One write(2) per record keeps lines whole when several threads log at once.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::atomic<Sink> g_sink{&stderr_sink};

std::string timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

struct LimitState {
  int64_t window_start_s = 0;
  int count = 0;
  uint64_t suppressed = 0;
};

std::mutex g_limit_mu;
std::unordered_map<std::string, LimitState>& limit_states() {
  static auto* states = new std::unordered_map<std::string, LimitState>();
  return *states;
}

}  // namespace

Result<Level> parse_level(std::string_view name) {
  if (name == "trace") return Level::kTrace;
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "off") return Level::kOff;
  return invalid_argument("unknown log level '" + std::string(name) +
                          "' (expected trace, debug, info, warn, error or off)");
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "unknown";
}

void set_level(Level level) {
  detail::g_level.store(static_cast<uint8_t>(level), std::memory_order_relaxed);
}
Level level() {
  return static_cast<Level>(detail::g_level.load(std::memory_order_relaxed));
}

void set_sink(Sink sink) {
  g_sink.store(sink ? sink : &stderr_sink);
}

void write(Level lvl, std::string_view component, std::string_view msg,
           const nlohmann::json& fields) {
  if (!enabled(lvl)) return;
  nlohmann::json record = nlohmann::json::object();
  record["ts"] = timestamp();
  record["level"] = level_name(lvl);
  record["component"] = component;
  record["msg"] = msg;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) record[key] = value;
  } else if (!fields.is_null()) {
    record["detail"] = fields;
  }
  // Replace invalid UTF-8 from peers instead of throwing.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  g_sink.load()(line);
}

void write_limited(std::string_view key, int per_second, Level lvl, std::string_view component,
                   std::string_view msg, const nlohmann::json& fields) {
  if (!enabled(lvl)) return;
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  uint64_t suppressed = 0;
  {
    std::lock_guard lock(g_limit_mu);
    auto& state = limit_states()[std::string(key)];
    if (state.window_start_s != now_s) {
      state.window_start_s = now_s;
      state.count = 0;
    }
    if (state.count >= per_second) {
      ++state.suppressed;
      return;
    }
    ++state.count;
    suppressed = state.suppressed;
    state.suppressed = 0;
  }
  if (suppressed == 0) {
    write(lvl, component, msg, fields);
    return;
  }
  nlohmann::json with_count = fields.is_object() ? fields : nlohmann::json::object();
  with_count["suppressed"] = suppressed;
  write(lvl, component, msg, with_count);
}

}  // namespace herald::log
