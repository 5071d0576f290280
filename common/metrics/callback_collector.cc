// CallbackCollector: families assembled from callbacks at scrape time.
#include "common/metrics/callback_collector.h"

namespace herald::metrics {

void CallbackCollector::counter(std::string name, std::string help, Value value) {
  add(std::move(name), std::move(help), prometheus::MetricType::Counter,
      [value = std::move(value)] {
        return std::vector<Sample>{{{}, value()}};
      });
}

void CallbackCollector::gauge(std::string name, std::string help, Value value) {
  add(std::move(name), std::move(help), prometheus::MetricType::Gauge, [value = std::move(value)] {
    return std::vector<Sample>{{{}, value()}};
  });
}

void CallbackCollector::counters(std::string name, std::string help, Samples samples) {
  add(std::move(name), std::move(help), prometheus::MetricType::Counter, std::move(samples));
}

void CallbackCollector::gauges(std::string name, std::string help, Samples samples) {
  add(std::move(name), std::move(help), prometheus::MetricType::Gauge, std::move(samples));
}

void CallbackCollector::add(std::string name, std::string help, prometheus::MetricType type,
                            Samples samples) {
  std::lock_guard lock(mu_);
  entries_.push_back({std::move(name), std::move(help), type, std::move(samples)});
}

std::vector<prometheus::MetricFamily> CallbackCollector::Collect() const {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mu_);
    entries = entries_;
  }
  std::vector<prometheus::MetricFamily> out;
  out.reserve(entries.size());
  for (const Entry& e : entries) {
    std::vector<Sample> samples = e.samples();
    if (samples.empty()) continue;
    prometheus::MetricFamily family;
    family.name = e.name;
    family.help = e.help;
    family.type = e.type;
    family.metric.reserve(samples.size());
    for (Sample& s : samples) {
      prometheus::ClientMetric m;
      for (auto& [k, v] : s.labels) m.label.push_back({std::move(k), std::move(v)});
      if (e.type == prometheus::MetricType::Counter) {
        m.counter.value = s.value;
      } else {
        m.gauge.value = s.value;
      }
      family.metric.push_back(std::move(m));
    }
    out.push_back(std::move(family));
  }
  return out;
}

}  // namespace herald::metrics
