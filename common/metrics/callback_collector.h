// CallbackCollector: a prometheus::Collectable whose samples are read when /metrics is scraped,
// from the atomics components already keep — nothing is locked or looked up where they count.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace herald::metrics {

// One labelled value of a family.
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

class CallbackCollector final : public prometheus::Collectable {
 public:
  using Value = std::function<double()>;
  using Samples = std::function<std::vector<Sample>()>;

  // Families of one value without labels. `value` runs on the admin thread at every scrape: it
  // must be thread-safe and cheap (read atomics).
  void counter(std::string name, std::string help, Value value);
  void gauge(std::string name, std::string help, Value value);
  // Labelled families: `samples` returns every series (a family with no series is left out).
  void counters(std::string name, std::string help, Samples samples);
  void gauges(std::string name, std::string help, Samples samples);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Entry {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    Samples samples;
  };
  void add(std::string name, std::string help, prometheus::MetricType type, Samples samples);

  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

// An uint64 atomic as a double sample (counters past 2^53 lose precision, like every Prometheus
// client).
template <typename Atomic>
double read(const Atomic& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

}  // namespace herald::metrics
