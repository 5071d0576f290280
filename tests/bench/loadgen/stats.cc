// Histogram, /proc readers and regression for herald-loadgen (see stats.h).
#include "tests/bench/loadgen/stats.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace herald::bench {

std::size_t Histogram::index(std::uint64_t v) {
  if (v < (std::uint64_t{2} << kSubBits)) return static_cast<std::size_t>(v);
  int e = 63 - std::countl_zero(v);  // e > kSubBits
  std::uint64_t sub = (v >> (e - kSubBits)) & ((1u << kSubBits) - 1);
  return (static_cast<std::size_t>(e - kSubBits + 1) << kSubBits) + static_cast<std::size_t>(sub);
}

std::uint64_t Histogram::lower_bound(std::size_t i) {
  if (i < (std::size_t{2} << kSubBits)) return i;
  int e = static_cast<int>(i >> kSubBits) + kSubBits - 1;
  std::uint64_t sub = i & ((1u << kSubBits) - 1);
  return (std::uint64_t{1} << e) | (sub << (e - kSubBits));
}

void Histogram::record(std::uint64_t ns) {
  ++buckets_[index(ns)];
  ++count_;
  sum_ += ns;
  max_ = std::max(max_, ns);
}

void Histogram::merge(const Histogram& o) {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
}

std::uint64_t Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      std::uint64_t lo = lower_bound(i);
      std::uint64_t hi = i + 1 < kBuckets ? lower_bound(i + 1) : lo;
      return std::min(max_, lo + (hi - lo) / 2);
    }
  }
  return max_;
}

nlohmann::json Histogram::summary_us() const {
  auto us = [](double ns) { return std::round(ns / 10.0) / 100.0; };  // 0.01 µs resolution
  return {{"count", count_},
          {"mean_us", us(mean())},
          {"p50_us", us(static_cast<double>(quantile(0.50)))},
          {"p90_us", us(static_cast<double>(quantile(0.90)))},
          {"p99_us", us(static_cast<double>(quantile(0.99)))},
          {"p999_us", us(static_cast<double>(quantile(0.999)))},
          {"max_us", us(static_cast<double>(max_))}};
}

std::optional<double> process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may contain spaces: parse after its closing parenthesis.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields 3.. : state(3) ... utime(14) stime(15).
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::stoull(field);
    if (f == 15) stime = std::stoull(field);
  }
  static const long ticks = sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

std::optional<std::uint64_t> process_rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return std::nullopt;
}

void CpuMeter::start() {
  start_.clear();
  for (pid_t p : pids_) start_.push_back(process_cpu_seconds(p).value_or(0.0));
}

double CpuMeter::total_since_start() const {
  double total = 0;
  for (std::size_t i = 0; i < pids_.size() && i < start_.size(); ++i) {
    total += process_cpu_seconds(pids_[i]).value_or(start_[i]) - start_[i];
  }
  return total;
}

nlohmann::json CpuMeter::stop_json(double wall_seconds) const {
  nlohmann::json per = nlohmann::json::object();
  double total = 0;
  for (std::size_t i = 0; i < pids_.size() && i < start_.size(); ++i) {
    double used = process_cpu_seconds(pids_[i]).value_or(start_[i]) - start_[i];
    per[std::to_string(pids_[i])] = used;
    total += used;
  }
  return {{"server_cpu_s", total},
          {"server_cpu_per_process_s", per},
          {"server_cpu_utilization", wall_seconds > 0 ? total / wall_seconds : 0.0}};
}

double slope(const std::vector<std::pair<double, double>>& points) {
  if (points.size() < 2) return 0.0;
  double n = static_cast<double>(points.size()), sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  double den = n * sxx - sx * sx;
  return den == 0 ? 0.0 : (n * sxy - sx * sy) / den;
}

}  // namespace herald::bench
