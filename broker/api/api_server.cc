// ApiServer: builds the gRPC server with the Realtime service, health checking and reflection.
#include "broker/api/api_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "broker/api/realtime_service.h"
#include "common/log/log.h"
#include "common/tls/grpc_tls.h"

namespace herald::broker::api {

Result<std::unique_ptr<ApiServer>> ApiServer::start(ApiServerOptions options,
                                                    std::shared_ptr<Broker> broker) {
  if (options.bearer_tokens.empty()) {
    HLOG_WARN("broker.api",
              "api.bearer_tokens is empty: the public API accepts unauthenticated callers",
              {{"listen", options.listen}});
  }
  auto credentials = tls::server_credentials(options.tls, "api.tls");
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<ApiServer> server(new ApiServer());
  server->service_ = std::make_unique<RealtimeService>(
      std::move(broker), CallerAuth(options.bearer_tokens),
      options.metrics ? std::make_unique<ApiMetrics>(*options.metrics) : nullptr);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials.value(), &server->port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return unavailable("broker.grpc_listen: cannot listen on " + options.listen);
  }
  HLOG_INFO("broker.api", "public API listening",
            {{"listen", options.listen},
             {"port", server->port_},
             {"tls", !options.tls.enabled          ? "off"
                     : options.tls.ca_file.empty() ? "tls"
                                                   : "mtls"}});
  return server;
}

int64_t ApiServer::in_flight() const {
  return service_ ? service_->in_flight() : 0;
}

ApiServer::~ApiServer() {
  shutdown();
}

void ApiServer::shutdown(std::chrono::milliseconds grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

}  // namespace herald::broker::api
