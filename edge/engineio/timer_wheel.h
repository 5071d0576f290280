// A hashed timer wheel: one periodic tick per shard drives every heartbeat, upgrade and idle
// timeout of that shard, so an idle session costs an intrusive list node, not an asio timer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace herald::eio {

// A node of a circular doubly linked list; slots of the wheel are sentinels of this type.
struct WheelNode {
  WheelNode* prev = nullptr;
  WheelNode* next = nullptr;
};

// Embedded (by inheritance) in whatever needs a timeout. An object has at most one pending
// deadline; scheduling again replaces it. Not thread-safe: owned by one shard.
class WheelTimer : private WheelNode {
 public:
  WheelTimer() = default;
  virtual ~WheelTimer() { cancel_timer(); }
  WheelTimer(const WheelTimer&) = delete;
  WheelTimer& operator=(const WheelTimer&) = delete;

  bool timer_pending() const { return next != nullptr; }
  void cancel_timer();

  // Called by the wheel once the deadline has passed; the timer is no longer pending. The
  // owner may destroy itself or reschedule from here.
  virtual void on_timer() = 0;

 private:
  friend class TimerWheel;
  uint64_t due_ = 0;
};

class TimerWheel {
 public:
  // `tick` is the resolution; deadlines fire up to one tick late, never early.
  explicit TimerWheel(std::chrono::milliseconds tick, std::size_t slots = 1024);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  void schedule(WheelTimer& timer, std::chrono::milliseconds delay);
  // Fires every timer whose deadline is at or before `now`.
  void advance(std::chrono::steady_clock::time_point now);

  std::chrono::milliseconds tick() const { return tick_; }

 private:
  static void link(WheelNode& head, WheelNode& node);
  static void unlink(WheelNode& node);

  std::chrono::milliseconds tick_;
  std::size_t slot_count_;
  std::unique_ptr<WheelNode[]> slots_;
  std::chrono::steady_clock::time_point start_;
  uint64_t current_ = 0;  // last tick processed
};

}  // namespace herald::eio
