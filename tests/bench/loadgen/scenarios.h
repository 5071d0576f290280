// herald-loadgen scenarios: connect (rate, handshake latency, idle memory), fanout (room
// broadcast: saturated and fixed rate), echo (acked round trips) and push (gRPC Broadcast /
// PushToUser). Each returns its results as JSON.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/bench/loadgen/client.h"

namespace herald::bench {

struct Options {
  std::string scenario;
  std::vector<Target> targets;  // receivers are spread over them; senders use the first
  Transport transport = Transport::kWebsocket;
  std::string secret = "herald-bench-secret-0123456789abcdef";
  std::string kid = "bench";
  int threads = 1;
  int source_ips = 1;           // connect from 127.0.0.1 .. 127.0.0.N
  std::vector<pid_t> cpu_pids;  // server processes whose CPU is measured
  pid_t mem_pid = 0;            // server process whose RSS is sampled (connect)
  double timeout_s = 120;       // bound on any connect ramp or drain

  // connect
  std::uint32_t connections = 10000;
  std::uint32_t concurrency = 256;
  double hold_s = 10;

  // fanout / push
  std::uint32_t receivers = 1000;
  std::string mode = "both";            // saturated | rate | both
  double rate = 100;                    // messages per second in rate mode
  double duration_s = 10;               // per phase
  std::uint32_t window = 8;             // saturated: messages not yet delivered to every receiver
  std::uint32_t payload = 64;           // padding bytes in each message
  std::string grpc;                     // push: host:port of herald.v1.Realtime
  std::string push_kind = "broadcast";  // broadcast | user
  std::uint32_t rpc_window = 32;        // push: concurrent RPCs

  // echo
  std::uint32_t clients = 50;
};

nlohmann::json run_connect(const Options& o);
nlohmann::json run_fanout(const Options& o, bool push);
nlohmann::json run_echo(const Options& o);

}  // namespace herald::bench
