// herald-notify: what an internal service does — push an event to a user or a room over gRPC.
//
//   herald-notify --server 127.0.0.1:50051 --user alice --event notification --args
//   '[{"text":"hi"}]' herald-notify --room lobby --ns /chat --event message --args '["hello"]'
//   [--token API_TOKEN]
//
// Prints {"sockets": N} (sockets reached, cluster-wide) and exits 0, or prints the gRPC error and
// exits 1.
#include <grpcpp/grpcpp.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "herald/v1/realtime.grpc.pb.h"

namespace {

struct Options {
  std::string server = "127.0.0.1:50051";
  std::string token;
  std::string user;
  std::vector<std::string> rooms;
  std::vector<std::string> except_rooms;
  std::string ns = "/";
  std::string event;
  std::string args = "[]";
  bool is_volatile = false;
  bool all = false;
  int timeout_ms = 5000;
};

void usage() {
  std::cerr
      << "usage: herald-notify [--server HOST:PORT] [--token API_TOKEN] [--ns NS]\n"
         "                     (--user ID | --room ROOM ... | --all) [--except-room ROOM ...]\n"
         "                     --event NAME [--args JSON_ARRAY] [--volatile] [--timeout-ms N]\n";
}

bool parse(int argc, char** argv, Options* o) {
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
    if (a == "--user" && value(&o->user)) continue;
    if (a == "--room" && value(&v)) {
      o->rooms.push_back(v);
      continue;
    }
    if (a == "--except-room" && value(&v)) {
      o->except_rooms.push_back(v);
      continue;
    }
    if (a == "--ns" && value(&o->ns)) continue;
    if (a == "--event" && value(&o->event)) continue;
    if (a == "--args" && value(&o->args)) continue;
    if (a == "--timeout-ms" && value(&v)) {
      o->timeout_ms = std::atoi(v.c_str());
      continue;
    }
    if (a == "--volatile") {
      o->is_volatile = true;
      continue;
    }
    if (a == "--all") {
      o->all = true;
      continue;
    }
    std::cerr << "herald-notify: unexpected argument '" << a << "'\n";
    return false;
  }
  int targets = (o->user.empty() ? 0 : 1) + (o->rooms.empty() ? 0 : 1) + (o->all ? 1 : 0);
  if (o->event.empty() || targets != 1) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, &opt)) {
    usage();
    return 2;
  }
  auto channel = grpc::CreateChannel(opt.server, grpc::InsecureChannelCredentials());
  auto stub = herald::v1::Realtime::NewStub(channel);

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(opt.timeout_ms));
  if (!opt.token.empty()) ctx.AddMetadata("authorization", "Bearer " + opt.token);

  grpc::Status status;
  uint32_t sockets = 0;
  if (!opt.user.empty()) {
    herald::v1::PushToUserRequest req;
    req.set_user_id(opt.user);
    req.set_ns(opt.ns);
    req.set_event(opt.event);
    req.set_args_json(opt.args);
    req.set_volatile_(opt.is_volatile);
    herald::v1::PushToUserResponse resp;
    status = stub->PushToUser(&ctx, req, &resp);
    sockets = resp.sockets();
  } else {
    herald::v1::BroadcastRequest req;
    req.set_ns(opt.ns);
    for (const auto& r : opt.rooms) req.add_rooms(r);
    for (const auto& r : opt.except_rooms) req.add_except_rooms(r);
    req.set_event(opt.event);
    req.set_args_json(opt.args);
    req.set_volatile_(opt.is_volatile);
    herald::v1::BroadcastResponse resp;
    status = stub->Broadcast(&ctx, req, &resp);
    sockets = resp.sockets();
  }
  if (!status.ok()) {
    std::cerr << "herald-notify: " << status.error_code() << " " << status.error_message() << "\n";
    return 1;
  }
  std::cout << "{\"sockets\": " << sockets << "}\n";
  return 0;
}
