// The standalone bus: NATS subject semantics (wildcards, queue groups) inside one process, with
// synchronous dispatch on the publisher's thread and no serialization.
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "common/bus/bus.h"

namespace herald::bus {

std::string_view bus_state_name(BusState state) {
  switch (state) {
    case BusState::kConnected:
      return "connected";
    case BusState::kReconnecting:
      return "reconnecting";
    case BusState::kDisconnected:
      return "disconnected";
  }
  return "unknown";
}

namespace {

std::vector<std::string_view> tokens_of(std::string_view subject) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = subject.find('.', start);
    if (dot == std::string_view::npos) {
      out.push_back(subject.substr(start));
      return out;
    }
    out.push_back(subject.substr(start, dot - start));
    start = dot + 1;
  }
}

bool matches(const std::vector<std::string>& pattern,
             const std::vector<std::string_view>& subject) {
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    if (pattern[i] == ">") return subject.size() > i;
    if (i >= subject.size()) return false;
    if (pattern[i] != "*" && pattern[i] != subject[i]) return false;
  }
  return i == subject.size();
}

struct Entry {
  uint64_t id;
  std::string subject;
  std::vector<std::string> pattern;  // only for wildcard subscriptions
  std::string queue_group;
  std::shared_ptr<const Handler> handler;
};

class InProcessBus final : public Bus, public std::enable_shared_from_this<InProcessBus> {
 public:
  void publish(const std::string& subject, EnvelopePtr envelope) override {
    std::vector<std::shared_ptr<const Handler>> targets;
    {
      std::shared_lock lock(mu_);
      std::map<std::string_view, std::vector<const Entry*>> groups;
      auto consider = [&](const Entry& e) {
        if (e.queue_group.empty()) {
          targets.push_back(e.handler);
        } else {
          groups[e.queue_group].push_back(&e);
        }
      };
      if (auto it = exact_.find(subject); it != exact_.end()) {
        for (const auto& e : it->second) consider(e);
      }
      if (!wildcard_.empty()) {
        auto toks = tokens_of(subject);
        for (const auto& e : wildcard_) {
          if (matches(e.pattern, toks)) consider(e);
        }
      }
      for (auto& [name, members] : groups) {
        size_t pick = round_robin_.fetch_add(1, std::memory_order_relaxed) % members.size();
        targets.push_back(members[pick]->handler);
      }
    }
    for (const auto& handler : targets) (*handler)(subject, envelope);
  }

  std::unique_ptr<Subscription> subscribe(const std::string& subject, Handler handler,
                                          const std::string& queue_group) override {
    Entry e{next_id_.fetch_add(1),
            subject,
            {},
            queue_group,
            std::make_shared<const Handler>(std::move(handler))};
    const bool wildcard = subject.find_first_of("*>") != std::string::npos;
    if (wildcard) {
      for (auto t : tokens_of(subject)) e.pattern.emplace_back(t);
    }
    const uint64_t id = e.id;
    {
      std::unique_lock lock(mu_);
      if (wildcard) {
        wildcard_.push_back(std::move(e));
      } else {
        exact_[subject].push_back(std::move(e));
      }
    }
    return std::make_unique<InProcessSubscription>(weak_from_this(), subject, wildcard, id);
  }

  BusState state() const override { return BusState::kConnected; }
  void on_state_change(std::function<void(BusState)>) override {}  // never changes

  void unsubscribe(const std::string& subject, bool wildcard, uint64_t id) {
    std::unique_lock lock(mu_);
    auto drop = [id](std::vector<Entry>& v) {
      std::erase_if(v, [id](const Entry& e) { return e.id == id; });
    };
    if (wildcard) {
      drop(wildcard_);
      return;
    }
    auto it = exact_.find(subject);
    if (it == exact_.end()) return;
    drop(it->second);
    if (it->second.empty()) exact_.erase(it);
  }

 private:
  class InProcessSubscription final : public Subscription {
   public:
    InProcessSubscription(std::weak_ptr<InProcessBus> bus, std::string subject, bool wildcard,
                          uint64_t id)
        : bus_(std::move(bus)), subject_(std::move(subject)), wildcard_(wildcard), id_(id) {}
    ~InProcessSubscription() override {
      if (auto bus = bus_.lock()) bus->unsubscribe(subject_, wildcard_, id_);
    }

   private:
    std::weak_ptr<InProcessBus> bus_;
    std::string subject_;
    bool wildcard_;
    uint64_t id_;
  };

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::vector<Entry>> exact_;
  std::vector<Entry> wildcard_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> round_robin_{0};
};

// Owns the shared bus so subscriptions can outlive neither it nor dangle.
class InProcessBusHandle final : public Bus {
 public:
  InProcessBusHandle() : impl_(std::make_shared<InProcessBus>()) {}
  void publish(const std::string& subject, EnvelopePtr envelope) override {
    impl_->publish(subject, std::move(envelope));
  }
  std::unique_ptr<Subscription> subscribe(const std::string& subject, Handler handler,
                                          const std::string& queue_group) override {
    return impl_->subscribe(subject, std::move(handler), queue_group);
  }
  BusState state() const override { return impl_->state(); }
  void on_state_change(std::function<void(BusState)> listener) override {
    impl_->on_state_change(std::move(listener));
  }

 private:
  std::shared_ptr<InProcessBus> impl_;
};

}  // namespace

std::unique_ptr<Bus> make_in_process_bus() {
  return std::make_unique<InProcessBusHandle>();
}

}  // namespace herald::bus
