// Measurement helpers for herald-loadgen: a log-linear latency histogram, /proc CPU and RSS
// readers, and a least-squares slope.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

namespace herald::bench {

// Nanosecond values in buckets of 1/64 of each power of two (≤ 1.6% relative error), exact
// below 128 ns. Fixed size (~30 KiB), O(1) record, mergeable across threads.
class Histogram {
 public:
  void record(std::uint64_t ns);
  void merge(const Histogram& other);
  std::uint64_t count() const { return count_; }
  // Value at quantile q in [0, 1] (the bucket's midpoint), 0 when empty.
  std::uint64_t quantile(double q) const;
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // {"count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}
  nlohmann::json summary_us() const;

 private:
  static constexpr int kSubBits = 6;
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) << kSubBits;
  static std::size_t index(std::uint64_t v);
  static std::uint64_t lower_bound(std::size_t index);
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
};

// CPU time (user + system, every thread) of a process, in seconds; nullopt if it is gone.
std::optional<double> process_cpu_seconds(pid_t pid);
// Resident set size (VmRSS) in bytes; nullopt if the process is gone.
std::optional<std::uint64_t> process_rss_bytes(pid_t pid);

// Sums process_cpu_seconds over a set of processes (a server and its helpers).
class CpuMeter {
 public:
  explicit CpuMeter(std::vector<pid_t> pids) : pids_(std::move(pids)) {}
  void start();
  // CPU seconds used by each process since start(), and the total.
  nlohmann::json stop_json(double wall_seconds) const;
  double total_since_start() const;
  bool empty() const { return pids_.empty(); }

 private:
  std::vector<pid_t> pids_;
  std::vector<double> start_;
};

// Least-squares slope of y over x; 0 with fewer than two distinct x.
double slope(const std::vector<std::pair<double, double>>& points);

}  // namespace herald::bench
