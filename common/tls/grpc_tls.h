// gRPC credentials from GrpcTlsConfig: TLS (and mTLS) with certificates re-read from their files,
// so renewed certificates apply to new connections without a restart.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string_view>

#include "common/config/common_config.h"
#include "common/status.h"

namespace herald::tls {

// Insecure credentials when !config.enabled. Otherwise TLS with cert_file/key_file (required),
// and when ca_file is set, client certificates required and verified against it (mTLS). Fails
// when a file cannot be read now. `what` names the config section in errors ("api.tls").
Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(
    const config::GrpcTlsConfig& config, std::string_view what);

// Insecure credentials when !config.enabled. Otherwise TLS verifying the server against ca_file
// (empty: the system roots), presenting cert_file/key_file when set (mTLS).
Result<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials(
    const config::GrpcTlsConfig& config, std::string_view what);

}  // namespace herald::tls
