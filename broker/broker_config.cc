// Reading the broker's configuration sections.
#include "broker/broker_config.h"

#include <optional>

#include "broker/auth/algorithm.h"
#include "common/config/common_config.h"

namespace herald::broker {

namespace {

std::string scalar(const YAML::Node& node) {
  try {
    return node.as<std::string>();
  } catch (const YAML::Exception&) {
    return {};
  }
}

// One entry of auth.keys.
void read_key(config::ConfigReader& reader, const YAML::Node& node, const std::string& path,
              std::vector<auth::KeySpec>* out) {
  if (!node.IsMap()) {
    reader.add_error(path + ": must be a mapping with secret, secret_file, pem or pem_file");
    return;
  }
  auth::KeySpec spec;
  int material = 0;
  // Two spellings: {type: secret|pem, value|file: ...} or {secret|secret_file|pem|pem_file: ...}.
  std::optional<auth::KeySpec::Type> explicit_type;
  bool generic = false;
  for (const auto& kv : node) {
    const std::string key = scalar(kv.first);
    const std::string kpath = path + "." + key;
    const YAML::Node& value = kv.second;
    if (key == "algs") {
      if (!value.IsSequence()) {
        reader.add_error(kpath + ": must be a list of algorithm names");
        continue;
      }
      for (const auto& alg : value) {
        std::string name = scalar(alg);
        if (!auth::parse_algorithm(name)) {
          reader.add_error(kpath + ": unknown algorithm '" + name + "'");
        }
        spec.algs.push_back(name);
      }
      continue;
    }
    if (!value.IsScalar()) {
      reader.add_error(kpath + ": must be a string");
      continue;
    }
    std::string text = scalar(value);
    if (key == "kid") {
      spec.kid = text;
    } else if (key == "secret") {
      spec.type = auth::KeySpec::Type::kSecret;
      spec.value = text;
      ++material;
    } else if (key == "secret_file") {
      spec.type = auth::KeySpec::Type::kSecret;
      spec.file = text;
      ++material;
    } else if (key == "pem") {
      spec.type = auth::KeySpec::Type::kPem;
      spec.value = text;
      ++material;
    } else if (key == "pem_file") {
      spec.type = auth::KeySpec::Type::kPem;
      spec.file = text;
      ++material;
    } else if (key == "type") {
      if (text != "secret" && text != "pem") {
        reader.add_error(kpath + ": must be secret or pem");
        continue;
      }
      explicit_type = text == "secret" ? auth::KeySpec::Type::kSecret : auth::KeySpec::Type::kPem;
    } else if (key == "value") {
      spec.value = text;
      ++material;
      generic = true;
    } else if (key == "file") {
      spec.file = text;
      ++material;
      generic = true;
    } else {
      reader.add_error(kpath + ": unknown key");
    }
  }
  if (material != 1) {
    reader.add_error(path +
                     ": needs exactly one of secret, secret_file, pem, pem_file, value, file");
    return;
  }
  if (explicit_type) {
    if (!generic && *explicit_type != spec.type) {
      reader.add_error(path + ".type: contradicts the key material given");
      return;
    }
    spec.type = *explicit_type;
  }
  out->push_back(std::move(spec));
}

void read_auth(config::ConfigReader& reader, AuthSettings* out) {
  auth::JwtConfig& jwt = out->jwt;
  std::string secret;
  reader.read("auth.secret", &secret);
  if (!secret.empty()) {
    auth::KeySpec spec;
    spec.type = auth::KeySpec::Type::kSecret;
    spec.value = secret;
    jwt.keys.push_back(std::move(spec));
  }
  YAML::Node keys = reader.subtree("auth.keys");
  if (keys.IsDefined() && !keys.IsNull()) {
    if (!keys.IsSequence()) {
      reader.add_error("auth.keys: must be a list");
    } else {
      for (size_t i = 0; i < keys.size(); ++i) {
        read_key(reader, keys[i], "auth.keys[" + std::to_string(i) + "]", &jwt.keys);
      }
    }
  }
  reader.read("auth.jwks_file", &jwt.jwks_file);
  int64_t reload = jwt.jwks_reload_s;
  reader.read("auth.jwks_reload_s", &reload, -1, 86400);
  jwt.jwks_reload_s = static_cast<int>(reload);
  int64_t leeway = jwt.leeway_s;
  reader.read("auth.leeway_s", &leeway, 0, 3600);
  jwt.leeway_s = static_cast<int>(leeway);
  std::string audience, issuer;
  reader.read("auth.audience", &audience);
  if (!audience.empty()) jwt.audience = audience;
  reader.read("auth.issuer", &issuer);
  if (!issuer.empty()) jwt.issuer = issuer;
  reader.read("auth.require_sub", &jwt.require_sub);
  reader.read("auth.allowed_algs", &jwt.allowed_algs);
  for (const std::string& alg : jwt.allowed_algs) {
    if (!auth::parse_algorithm(alg)) {
      reader.add_error("auth.allowed_algs: unknown algorithm '" + alg + "'");
    }
  }
  std::string on_expiry = "disconnect";
  reader.read_enum("auth.on_expiry", &on_expiry, {"disconnect", "grace"});
  out->on_expiry = on_expiry == "grace" ? OnExpiry::kGrace : OnExpiry::kDisconnect;
  reader.read("auth.grace_s", &out->grace_s, 0, 86400);
  reader.read("auth.dev_tokens.enabled", &out->dev_tokens_enabled);
}

}  // namespace

std::shared_ptr<const policy::PolicySet> default_policy() {
  Result<policy::PolicySet> set =
      policy::parse_policy_document("namespaces:\n  /:\n    auth: none\n");
  if (!set.ok()) return std::make_shared<const policy::PolicySet>();
  return std::make_shared<const policy::PolicySet>(std::move(set).value());
}

void read_broker_config(config::ConfigReader& reader, BrokerConfig* out) {
  reader.read("broker.grpc_listen", &out->grpc_listen);
  reader.read("broker.edgelink_listen", &out->edgelink_listen);
  for (const char* key : {"broker.grpc_listen", "broker.edgelink_listen"}) {
    const std::string& value =
        std::string_view(key) == "broker.grpc_listen" ? out->grpc_listen : out->edgelink_listen;
    std::string host;
    uint16_t port = 0;
    if (Status s = config::split_host_port(value, key, &host, &port); !s.ok()) {
      reader.add_error(s.message());
    }
  }

  YAML::Node rules = reader.subtree("broker.presence_events");
  if (rules.IsDefined() && !rules.IsNull()) {
    if (!rules.IsSequence()) {
      reader.add_error("broker.presence_events: must be a list of {ns, rooms}");
    } else {
      for (size_t i = 0; i < rules.size(); ++i) {
        const std::string path = "broker.presence_events[" + std::to_string(i) + "]";
        const YAML::Node& rule = rules[i];
        PresenceEventRule parsed;
        bool ok = rule.IsMap();
        if (ok) {
          for (const auto& kv : rule) {
            const std::string key = scalar(kv.first);
            if (key == "ns" && kv.second.IsScalar()) {
              parsed.ns = scalar(kv.second);
            } else if (key == "rooms" && kv.second.IsSequence()) {
              for (const auto& room : kv.second) parsed.rooms.push_back(scalar(room));
            } else if (key == "rooms" && kv.second.IsScalar()) {
              parsed.rooms.push_back(scalar(kv.second));
            } else {
              reader.add_error(path + "." + key + ": unknown key or bad value");
              ok = false;
            }
          }
        }
        if (!ok || parsed.ns.empty() || parsed.rooms.empty()) {
          reader.add_error(path + ": needs ns and rooms (room name globs)");
          continue;
        }
        out->presence_events.push_back(std::move(parsed));
      }
    }
  }

  ApiSettings& api = out->api;
  reader.read("api.bearer_tokens", &api.bearer_tokens);
  for (const std::string& token : api.bearer_tokens) {
    if (token.size() < 16) reader.add_error("api.bearer_tokens: tokens must be at least 16 bytes");
  }
  reader.read("api.max_payload_bytes", &api.max_payload_bytes, 1, 64 * 1024 * 1024);
  reader.read("api.max_rooms_per_request", &api.max_rooms_per_request, 1, 100000);
  reader.read("api.handler_timeout_ms", &api.handler_timeout_ms, 10, 3600000);
  reader.read("api.max_emit_timeout_ms", &api.max_emit_timeout_ms, 1, 3600000);
  reader.read("api.max_message_bytes", &api.max_message_bytes, 1024, 256 * 1024 * 1024);
  config::read_grpc_tls(reader, "api.tls", &api.tls, "client_ca_file", /*enabled_by_cert=*/true,
                        /*client=*/false);

  read_auth(reader, &out->auth);

  YAML::Node namespaces = reader.subtree("namespaces");
  if (!namespaces.IsDefined() || namespaces.IsNull()) {
    out->policy = default_policy();
  } else {
    Result<policy::PolicySet> set = policy::parse_policy(namespaces, "namespaces");
    if (!set.ok()) {
      reader.add_error(set.status().message());
    } else {
      out->policy = std::make_shared<const policy::PolicySet>(std::move(set).value());
      bool needs_keys = false;
      for (const auto& ns : out->policy->namespaces()) {
        needs_keys = needs_keys || ns.auth != policy::AuthMode::kNone;
      }
      if (needs_keys && !out->auth.has_keys()) {
        reader.add_error(
            "auth: a namespace accepts tokens (auth: required/optional) but no auth.keys, "
            "auth.secret or auth.jwks_file is configured");
      }
    }
  }
}

}  // namespace herald::broker
