// Fuzzes configuration loading as the processes do it (standalone_server.cc, edge/main.cc,
// broker/main.cc): ConfigReader::from_string, then read_common_config, read_edge_config and
// read_broker_config (auth keys, presence rules, the namespaces policy), then finish().
//
// Input: a YAML/JSON document, optionally followed by a line "%%" and override lines:
// "path=value" is a --set override, "$NAME=value" an environment variable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "broker/broker_config.h"
#include "common/config/common_config.h"
#include "common/config/config_reader.h"
#include "edge/edge_config.h"
#include "tests/fuzz/support/yaml_depth.h"

namespace {

// The environment the reader sees (EnvLookup is a plain function pointer).
std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}

const char* lookup_env(const char* name) {
  auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view document = input;
  std::string_view extra;
  if (const size_t split = input.find("\n%%\n"); split != std::string_view::npos) {
    document = input.substr(0, split);
    extra = input.substr(split + 4);
  }
  if (herald::fuzz::yaml_too_deep(document)) return 0;

  herald::Result<herald::config::ConfigReader> reader =
      herald::config::ConfigReader::from_string(document, "fuzz.yaml");
  if (!reader.ok()) {
    if (reader.status().message().empty()) std::abort();
    return 0;
  }
  fake_env().clear();
  reader->set_env_lookup(&lookup_env);
  while (!extra.empty()) {
    const size_t end = extra.find('\n');
    const std::string_view line = extra.substr(0, end);
    extra = end == std::string_view::npos ? std::string_view() : extra.substr(end + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (!line.empty() && line[0] == '$') {
      fake_env()[std::string(line.substr(1, eq - 1))] = std::string(line.substr(eq + 1));
    } else {
      reader->set_override(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
  }

  herald::config::CommonConfig common;
  herald::edge::EdgeConfig edge;
  herald::broker::BrokerConfig broker;
  herald::config::read_common_config(*reader, &common);
  herald::edge::read_edge_config(*reader, &edge);
  herald::broker::read_broker_config(*reader, &broker);
  const herald::Status status = reader->finish();
  if (!status.ok()) {
    if (status.message().empty()) std::abort();
    return 0;
  }
  // An accepted configuration is usable as the processes use it.
  if (broker.policy == nullptr) std::abort();
  if (edge.path.empty() || edge.path.front() != '/' || edge.path.back() != '/') std::abort();
  if (edge.max_payload < 1024 || edge.ping_interval_ms < 100) std::abort();
  for (const auto& ns : broker.policy->namespaces()) {
    if (broker.policy->find(ns.name, nullptr) == nullptr) std::abort();
  }
  return 0;
}
