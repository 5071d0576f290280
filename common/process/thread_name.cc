// set_thread_name: pthread_setname_np on the calling thread.
#include "common/process/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <array>

namespace herald::process {

void set_thread_name(std::string_view name) {
  std::array<char, 16> buf{};  // 15 characters and the NUL
  const std::size_t n = std::min(name.size(), buf.size() - 1);
  std::copy_n(name.data(), n, buf.data());
  pthread_setname_np(pthread_self(), buf.data());
}

}  // namespace herald::process
