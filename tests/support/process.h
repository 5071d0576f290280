// Test support: start real processes (nats-server, herald binaries) on free loopback ports and
// stop them by PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace herald::testing {

// A port that was free a moment ago on 127.0.0.1 (bound to port 0, read back, closed).
uint16_t pick_free_port();

// True once something accepts TCP connections on 127.0.0.1:port.
bool wait_for_port(uint16_t port, std::chrono::milliseconds timeout);

// A child process, killed (SIGTERM, then SIGKILL after a grace period) when destroyed.
class ChildProcess {
 public:
  ChildProcess() = default;
  // argv[0] is looked up in PATH. stdout/stderr go to `log_path` ("" = inherit).
  static ChildProcess start(const std::vector<std::string>& argv, const std::string& log_path = "");
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const;
  void kill_now();  // SIGKILL (crash simulation)
  void stop();      // SIGTERM, wait up to 5 s, then SIGKILL

 private:
  pid_t pid_ = -1;
};

// nats-server on a free loopback port.
class NatsServer {
 public:
  static NatsServer start();  // waits until it accepts connections
  uint16_t port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  void kill_now() { process_.kill_now(); }
  void stop() { process_.stop(); }
  void restart();  // same port

 private:
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace herald::testing
