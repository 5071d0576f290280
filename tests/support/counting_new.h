// Replaces the global operator new/delete with versions that count the bytes requested and not
// yet freed, for tests that measure the heap a structure keeps (broker_memory_test,
// presence_memory_test). Include it in exactly one source file of a test binary: it defines the
// replacements, which are global by nature.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace herald::testing {

// Bytes requested and not yet freed; what malloc adds per block comes on top.
inline std::atomic<long long> g_live_bytes{0};

inline void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n + sizeof(std::max_align_t));
  if (p == nullptr) throw std::bad_alloc();
  *static_cast<std::size_t*>(p) = n;
  g_live_bytes.fetch_add(static_cast<long long>(n), std::memory_order_relaxed);
  return static_cast<char*>(p) + sizeof(std::max_align_t);
}

inline void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  void* block = static_cast<char*>(p) - sizeof(std::max_align_t);
  g_live_bytes.fetch_sub(static_cast<long long>(*static_cast<std::size_t*>(block)),
                         std::memory_order_relaxed);
  std::free(block);
}

}  // namespace herald::testing

void* operator new(std::size_t n) {
  return herald::testing::counted_alloc(n);
}
void* operator new[](std::size_t n) {
  return herald::testing::counted_alloc(n);
}
void operator delete(void* p) noexcept {
  herald::testing::counted_free(p);
}
void operator delete[](void* p) noexcept {
  herald::testing::counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  herald::testing::counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  herald::testing::counted_free(p);
}
