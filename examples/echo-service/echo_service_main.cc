// herald-echo-service: echoes client events back through the HandleEvents API (see echo_service.h).
//
//   herald-echo-service [--server HOST:PORT] [--token API_TOKEN] [--ns NS ...] [--name NAME]
//
// Logs one JSON line per state change to stderr; {"msg":"echo-service registered","routes":N}
// once the broker accepted the routes. Runs until SIGINT or SIGTERM, then exits 0.
#include <pthread.h>

#include <csignal>
#include <iostream>
#include <string>
#include <thread>

#include "examples/echo-service/echo_service.h"

namespace {

void usage() {
  std::cerr
      << "usage: herald-echo-service [--server HOST:PORT] [--token API_TOKEN] [--ns NS ...]\n"
         "                           [--name NAME]\n"
         "  --server  the broker's gRPC address (default 127.0.0.1:50051)\n"
         "  --token   API token, sent as 'authorization: Bearer <token>'\n"
         "  --ns      a namespace to serve; repeatable (default: / /custom /anon)\n"
         "  --name    service name shown in the broker's logs (default herald-echo-service)\n";
}

bool parse(int argc, char** argv, herald::echo::EchoOptions* o) {
  bool default_namespaces = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--server" && value(&o->server)) continue;
    if (a == "--token" && value(&o->token)) continue;
    if (a == "--name" && value(&o->service_name)) continue;
    if (a == "--ns" && value(&v)) {
      if (default_namespaces) o->namespaces.clear();  // the first --ns replaces the defaults
      default_namespaces = false;
      o->namespaces.push_back(v);
      continue;
    }
    std::cerr << "herald-echo-service: unexpected argument '" << a << "'\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  herald::echo::EchoOptions options;
  if (!parse(argc, argv, &options)) {
    usage();
    return 2;
  }

  // Block SIGINT/SIGTERM before any thread starts (gRPC's included) so that only the waiter below
  // receives them; it may then call stop(), which a signal handler could not.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  herald::echo::EchoService service(options);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    service.stop();
  });
  service.run();  // returns only after stop()
  waiter.join();
  return 0;
}
