// Tests for naming threads (what top -H and /proc/<pid>/task/*/comm show).
#include "common/process/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace herald::process {
namespace {

std::string name_of_this_thread() {
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof(buf));
  return buf;
}

TEST(ThreadName, NamesTheCallingThreadAndCutsAt15Bytes) {
  std::string short_name, long_name;
  std::thread([&] {
    set_thread_name("edge-shard-3");
    short_name = name_of_this_thread();
    set_thread_name("a-name-longer-than-fifteen-bytes");
    long_name = name_of_this_thread();
  }).join();
  EXPECT_EQ(short_name, "edge-shard-3");
  EXPECT_EQ(long_name, "a-name-longer-t");
}

}  // namespace
}  // namespace herald::process
