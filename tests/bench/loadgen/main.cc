// herald-loadgen: drives a Socket.IO server (Herald or the Node.js reference) with many client
// connections and prints the scenario's results as one JSON object on stdout.
//
//   herald-loadgen --scenario connect --url http://127.0.0.1:3000 --connections 10000
//                  --pid <server pid> [--mem-pid <pid>] [--src-ips 4] [--hold-s 10]
//   herald-loadgen --scenario fanout --url U [--url U2 ...] --receivers 1000 --mode both
//                  --rate 100 --duration-s 10 --window 8 --pid <pid> ...
//   herald-loadgen --scenario echo --url U --clients 50 --duration-s 10 --pid <pid>
//   herald-loadgen --scenario push --url U --grpc HOST:PORT [--push-kind broadcast|user] ...
//
// See docs/benchmarks.md for what each scenario measures.
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/bench/loadgen/scenarios.h"

namespace {

using herald::bench::Options;

void usage() {
  std::cerr << "usage: herald-loadgen --scenario connect|fanout|echo|push --url http://HOST:PORT "
               "[--url ...]\n"
               "  common:  --transport websocket|polling  --threads N (1)  --secret S  --kid K\n"
               "           --pid PID (server CPU, repeatable)  --mem-pid PID  --timeout-s S (120)\n"
               "           --src-ips N (connect from 127.0.0.1..N)  --concurrency N (256)\n"
               "  connect: --connections N (10000)  --hold-s S (10)\n"
               "  fanout:  --receivers N (1000)  --mode saturated|rate|both  --rate R (100)\n"
               "           --duration-s S (10)  --window W (8)  --payload BYTES (64)\n"
               "  push:    fanout's options and --grpc HOST:PORT  --push-kind broadcast|user\n"
               "           --rpc-window N (32)\n"
               "  echo:    --clients K (50)  --duration-s S  --payload BYTES\n";
}

bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "herald-loadgen: " << a << " needs a value\n";
      return false;
    }
    std::string v = argv[++i];
    auto num = [&](auto* out) {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || d < 0) return false;
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(d);
      return true;
    };
    bool ok = true;
    if (a == "--scenario") {
      o->scenario = v;
    } else if (a == "--url") {
      herald::bench::Target t;
      ok = herald::bench::parse_url(v, &t);
      if (ok) o->targets.push_back(t);
    } else if (a == "--transport") {
      ok = v == "websocket" || v == "polling";
      o->transport = v == "polling" ? herald::bench::Transport::kPolling
                                    : herald::bench::Transport::kWebsocket;
    } else if (a == "--threads") {
      ok = num(&o->threads) && o->threads >= 1 && o->threads <= 16;
    } else if (a == "--secret") {
      o->secret = v;
    } else if (a == "--kid") {
      o->kid = v;
    } else if (a == "--pid") {
      pid_t p = 0;
      ok = num(&p) && p > 0;
      o->cpu_pids.push_back(p);
    } else if (a == "--mem-pid") {
      ok = num(&o->mem_pid);
    } else if (a == "--timeout-s") {
      ok = num(&o->timeout_s);
    } else if (a == "--src-ips") {
      ok = num(&o->source_ips) && o->source_ips >= 1 && o->source_ips <= 250;
    } else if (a == "--concurrency") {
      ok = num(&o->concurrency) && o->concurrency >= 1;
    } else if (a == "--connections") {
      ok = num(&o->connections) && o->connections >= 1;
    } else if (a == "--hold-s") {
      ok = num(&o->hold_s);
    } else if (a == "--receivers") {
      ok = num(&o->receivers) && o->receivers >= 1;
    } else if (a == "--mode") {
      o->mode = v;
      ok = v == "saturated" || v == "rate" || v == "both";
    } else if (a == "--rate") {
      ok = num(&o->rate) && o->rate > 0;
    } else if (a == "--duration-s") {
      ok = num(&o->duration_s) && o->duration_s > 0 && o->duration_s <= 3600;
    } else if (a == "--window") {
      ok = num(&o->window) && o->window >= 1 && o->window <= 4096;
    } else if (a == "--payload") {
      ok = num(&o->payload) && o->payload <= 100000;
    } else if (a == "--grpc") {
      o->grpc = v;
    } else if (a == "--push-kind") {
      o->push_kind = v;
      ok = v == "broadcast" || v == "user";
    } else if (a == "--rpc-window") {
      ok = num(&o->rpc_window) && o->rpc_window >= 1;
    } else if (a == "--clients") {
      ok = num(&o->clients) && o->clients >= 1;
    } else {
      std::cerr << "herald-loadgen: unknown option " << a << "\n";
      return false;
    }
    if (!ok) {
      std::cerr << "herald-loadgen: bad value for " << a << ": " << v << "\n";
      return false;
    }
  }
  if (o->targets.empty() || o->scenario.empty()) return false;
  if (o->scenario == "push" && o->grpc.empty()) {
    std::cerr << "herald-loadgen: push needs --grpc\n";
    return false;
  }
  return o->scenario == "connect" || o->scenario == "fanout" || o->scenario == "echo" ||
         o->scenario == "push";
}

// Many connections need many descriptors: raise the soft limit to the hard one (and the hard
// one too when privileged).
void raise_nofile(std::uint64_t wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_max < wanted) {
    rlimit more{wanted, wanted};
    if (setrlimit(RLIMIT_NOFILE, &more) == 0) return;
  }
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) {
    usage();
    return 2;
  }
  std::uint64_t sockets = o.scenario == "connect" ? o.connections : o.receivers + o.clients;
  raise_nofile(sockets * (o.transport == herald::bench::Transport::kPolling ? 2 : 1) + 1024);

  nlohmann::json params = {
      {"threads", o.threads},
      {"transport", o.transport == herald::bench::Transport::kPolling ? "polling" : "websocket"},
      {"server_pids", o.cpu_pids}};
  nlohmann::json results;
  if (o.scenario == "connect") {
    params.update({{"connections", o.connections},
                   {"concurrency", o.concurrency},
                   {"hold_s", o.hold_s},
                   {"src_ips", o.source_ips}});
    results = herald::bench::run_connect(o);
  } else if (o.scenario == "fanout" || o.scenario == "push") {
    params.update({{"receivers", o.receivers},
                   {"nodes", o.targets.size()},
                   {"mode", o.mode},
                   {"rate", o.rate},
                   {"duration_s", o.duration_s},
                   {"window", o.window},
                   {"payload", o.payload}});
    if (o.scenario == "push") params["push_kind"] = o.push_kind;
    results = herald::bench::run_fanout(o, o.scenario == "push");
  } else {
    params.update({{"clients", o.clients}, {"duration_s", o.duration_s}, {"payload", o.payload}});
    results = herald::bench::run_echo(o);
  }
  nlohmann::json out = {{"scenario", o.scenario}, {"params", params}, {"results", results}};
  std::cout << out.dump(2) << std::endl;
  return results.contains("error") ? 1 : 0;
}
