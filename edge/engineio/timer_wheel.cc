// Hashed timer wheel (see timer_wheel.h).
#include "edge/engineio/timer_wheel.h"

#include <algorithm>

namespace herald::eio {

void WheelTimer::cancel_timer() {
  if (next == nullptr) return;
  prev->next = next;
  next->prev = prev;
  prev = next = nullptr;
}

TimerWheel::TimerWheel(std::chrono::milliseconds tick, std::size_t slots)
    : tick_(std::max(tick, std::chrono::milliseconds(1))),
      slot_count_(slots),
      slots_(new WheelNode[slots]),
      start_(std::chrono::steady_clock::now()) {
  for (std::size_t i = 0; i < slot_count_; ++i) slots_[i].prev = slots_[i].next = &slots_[i];
}

void TimerWheel::link(WheelNode& head, WheelNode& node) {
  node.prev = head.prev;
  node.next = &head;
  head.prev->next = &node;
  head.prev = &node;
}

void TimerWheel::unlink(WheelNode& node) {
  node.prev->next = node.next;
  node.next->prev = node.prev;
  node.prev = node.next = nullptr;
}

void TimerWheel::schedule(WheelTimer& timer, std::chrono::milliseconds delay) {
  timer.cancel_timer();
  // Deadlines count from the real time, not from the last processed tick, so a late tick does
  // not shorten them; +1 rounds up so they never fire early.
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start_);
  const uint64_t due = static_cast<uint64_t>((elapsed + delay) / tick_) + 1;
  timer.due_ = std::max(due, current_ + 1);
  link(slots_[timer.due_ % slot_count_], static_cast<WheelNode&>(timer));
}

void TimerWheel::advance(std::chrono::steady_clock::time_point now) {
  const auto target = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - start_) / tick_);
  if (target <= current_) return;
  const uint64_t from = current_ + 1;
  const uint64_t steps = std::min<uint64_t>(target - current_, slot_count_);
  current_ = target;
  // Collect first, then fire: callbacks may cancel or schedule any timer, including the ones
  // collected (unlinking works on whatever list a node is in).
  WheelNode firing;
  firing.prev = firing.next = &firing;
  for (uint64_t t = from; t < from + steps; ++t) {
    WheelNode& head = slots_[t % slot_count_];
    for (WheelNode* n = head.next; n != &head;) {
      WheelNode* next = n->next;
      auto* timer = static_cast<WheelTimer*>(n);
      if (timer->due_ <= current_) {
        unlink(*n);
        link(firing, *n);
      }
      n = next;
    }
  }
  while (firing.next != &firing) {
    auto* timer = static_cast<WheelTimer*>(firing.next);
    unlink(*firing.next);
    timer->on_timer();
  }
}

}  // namespace herald::eio
