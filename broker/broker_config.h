// The broker's configuration sections: broker.*, api.*, auth.* and namespaces (the policy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/auth/jwt_verifier.h"
#include "broker/policy/policy.h"
#include "common/config/common_config.h"
#include "common/config/config_reader.h"

namespace herald::broker {

// What happens when the token of a live socket expires (auth.on_expiry).
enum class OnExpiry {
  kDisconnect,  // disconnect at exp with reason "token expired"
  kGrace,       // at exp emit "herald:token_expired" to the socket; disconnect grace_s later
                // unless it refreshed its token ("herald:refresh_token")
};

struct AuthSettings {
  auth::JwtConfig jwt;
  OnExpiry on_expiry = OnExpiry::kDisconnect;
  uint32_t grace_s = 30;
  bool dev_tokens_enabled = false;  // auth.dev_tokens.enabled: the demo's token-minting endpoint
  bool has_keys() const { return !jwt.keys.empty() || !jwt.jwks_file.empty(); }
};

struct ApiSettings {
  // api.bearer_tokens: callers must send "authorization: Bearer <one of these>". Empty = no caller
  // authentication (a warning is logged at startup).
  std::vector<std::string> bearer_tokens;
  uint32_t max_payload_bytes = 1000000;   // args_json + attachments of one API emit
  uint32_t max_rooms_per_request = 1000;  // rooms / except lists in one request
  uint32_t handler_timeout_ms = 30000;    // a forwarded event without a Reply fails UNAVAILABLE
  uint32_t max_emit_timeout_ms = 600000;  // EmitWithAck.timeout_ms upper bound
  uint32_t max_message_bytes = 16 * 1024 * 1024;  // gRPC max receive message size
  config::GrpcTlsConfig tls;  // api.tls.*: on when cert_file is set; client_ca_file → mTLS
};

// broker.presence_events: [{ns: "/chat", rooms: ["team:*"]}] — namespace and room globs whose
// joins and leaves are announced to the room's other members.
struct PresenceEventRule {
  std::string ns;
  std::vector<std::string> rooms;
};

struct BrokerConfig {
  std::string grpc_listen = "127.0.0.1:50051";      // public herald.v1.Realtime API
  std::string edgelink_listen = "127.0.0.1:50052";  // cluster mode: EdgeLink streams from edges
  ApiSettings api;
  AuthSettings auth;
  std::vector<PresenceEventRule> presence_events;
  // namespaces: the policy. Absent: a single "/" namespace with auth none (demo default).
  std::shared_ptr<const policy::PolicySet> policy;
};

// Reads broker.*, api.*, auth.* and namespaces (keeping defaults for absent keys). Errors go to
// the reader (reader.finish() reports them). Secrets may come from the environment:
// HERALD_AUTH_SECRET (auth.secret, a single HMAC key) and HERALD_API_BEARER_TOKENS
// (comma-separated).
//
//   auth:
//     secret: "..."                    # shorthand for one HMAC key (kid-less)
//     keys:                            # or a list of keys
//       - {kid: k1, secret: "...", algs: [HS256]}
//       - {kid: k2, secret_file: /run/secrets/jwt}
//       - {kid: k3, pem: "-----BEGIN PUBLIC KEY-----..."}
//       - {kid: k4, pem_file: /etc/herald/jwt.pem, algs: [RS256]}
//     jwks_file: /etc/herald/jwks.json
//     jwks_reload_s: 60
//     leeway_s: 30
//     audience: my-app
//     issuer: https://auth.example.com
//     require_sub: true
//     allowed_algs: [HS256, RS256]
//     on_expiry: disconnect            # or grace
//     grace_s: 30
//     dev_tokens: {enabled: false}
void read_broker_config(config::ConfigReader& reader, BrokerConfig* out);

// The policy used when the configuration has no `namespaces` section.
std::shared_ptr<const policy::PolicySet> default_policy();

}  // namespace herald::broker
