// gRPC TLS credentials on grpc::experimental's TLS API: a FileWatcherCertificateProvider re-reads
// the PEM files every reload_interval_s (gRPC 1.51).
#include "common/tls/grpc_tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>

namespace herald::tls {

namespace {

Status readable(const std::string& path, std::string_view what, std::string_view key) {
  std::ifstream in(path);
  if (!in) {
    return invalid_argument(std::string(what) + "." + std::string(key) + ": cannot read '" + path +
                            "'");
  }
  return Status::ok_status();
}

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(
    const config::GrpcTlsConfig& config, std::string_view what) {
  if (!config.enabled) return grpc::InsecureServerCredentials();
  if (config.cert_file.empty() || config.key_file.empty()) {
    return invalid_argument(std::string(what) + ": TLS needs cert_file and key_file");
  }
  if (Status s = readable(config.cert_file, what, "cert_file"); !s.ok()) return s;
  if (Status s = readable(config.key_file, what, "key_file"); !s.ok()) return s;
  if (!config.ca_file.empty()) {
    if (Status s = readable(config.ca_file, what, "ca_file"); !s.ok()) return s;
  }
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.key_file, config.cert_file, config.ca_file, config.reload_interval_s);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (config.ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials(
    const config::GrpcTlsConfig& config, std::string_view what) {
  if (!config.enabled) return grpc::InsecureChannelCredentials();
  if (!config.cert_file.empty()) {
    if (Status s = readable(config.cert_file, what, "cert_file"); !s.ok()) return s;
    if (Status s = readable(config.key_file, what, "key_file"); !s.ok()) return s;
  }
  if (!config.ca_file.empty()) {
    if (Status s = readable(config.ca_file, what, "ca_file"); !s.ok()) return s;
  }
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (!config.cert_file.empty() || !config.ca_file.empty()) {
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        config.key_file, config.cert_file, config.ca_file, config.reload_interval_s);
    options.set_certificate_provider(provider);
    if (!config.ca_file.empty()) options.watch_root_certs();
    if (!config.cert_file.empty()) options.watch_identity_key_cert_pairs();
  }
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace herald::tls
