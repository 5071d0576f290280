// Names the calling thread, so `top -H`, `perf` and /proc/<pid>/task/*/comm tell a herald
// process's threads apart (edge shards, broker loop, EdgeLink client, admin endpoint).
#pragma once

#include <string_view>

namespace herald::process {

// Linux keeps 15 bytes; a longer name is cut. Best effort: a failure changes nothing.
void set_thread_name(std::string_view name);

}  // namespace herald::process
