// The public API over TLS and mTLS with certificates generated here by the openssl CLI, and a
// certificate renewed on disk taking effect without a restart (api.tls.reload_interval_s).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker/api/api_server.h"
#include "common/tls/grpc_tls.h"
#include "herald/v1/realtime.grpc.pb.h"
#include "tests/unit/broker/broker_test_util.h"

namespace herald::broker::api {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

// A CA named `name` in dir/<name>-ca.{pem,key} and a leaf for "localhost"/127.0.0.1 it signed,
// dir/<name>-<leaf>.{pem,key}.
void make_ca(const fs::path& dir, const std::string& name) {
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + name + "-ca -keyout " +
      (dir / (name + "-ca.key")).string() + " -out " + (dir / (name + "-ca.pem")).string());
}
void make_leaf(const fs::path& dir, const std::string& ca, const std::string& leaf) {
  const std::string base = (dir / (ca + "-" + leaf)).string();
  std::ofstream(base + ".ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                               << "extendedKeyUsage=serverAuth,clientAuth\n";
  run("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + base + ".key -out " +
      base + ".csr");
  run("openssl x509 -req -days 2 -in " + base + ".csr -CA " + (dir / (ca + "-ca.pem")).string() +
      " -CAkey " + (dir / (ca + "-ca.key")).string() + " -CAcreateserial -extfile " + base +
      ".ext -out " + base + ".pem");
}

class ApiTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
    dir_ = fs::temp_directory_path() / ("herald-tls-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    make_ca(dir_, "a");
    make_leaf(dir_, "a", "server");
    make_leaf(dir_, "a", "client");
    make_ca(dir_, "b");
    make_leaf(dir_, "b", "server");
    bus_ = bus::make_in_process_bus();
    BrokerOptions options;
    options.broker_id = "b1";
    options.policy = broker::testing::make_policy(broker::testing::kTestPolicy);
    broker_ = Broker::create(io_, *bus_, std::move(options));
    broker_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (broker_) broker_->stop();
    if (server_) server_->shutdown();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start_server(config::GrpcTlsConfig tls) {
    ApiServerOptions api;
    api.listen = "127.0.0.1:0";
    api.tls = std::move(tls);
    auto server = ApiServer::start(api, broker_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
  }
  config::GrpcTlsConfig server_tls(const std::string& ca, bool mtls) {
    config::GrpcTlsConfig tls;
    tls.enabled = true;
    tls.cert_file = (dir_ / "server.pem").string();
    tls.key_file = (dir_ / "server.key").string();
    fs::copy_file(dir_ / (ca + "-server.pem"), tls.cert_file, fs::copy_options::overwrite_existing);
    fs::copy_file(dir_ / (ca + "-server.key"), tls.key_file, fs::copy_options::overwrite_existing);
    if (mtls) tls.ca_file = (dir_ / "a-ca.pem").string();
    tls.reload_interval_s = 1;
    return tls;
  }

  // Calls Stats over a fresh channel: trusting `ca`, presenting a client cert when `client_cert`.
  grpc::Status stats(const std::shared_ptr<grpc::ChannelCredentials>& creds) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no connection reuse across calls
    auto channel =
        grpc::CreateCustomChannel("localhost:" + std::to_string(server_->port()), creds, args);
    auto stub = v1::Realtime::NewStub(channel);
    grpc::ClientContext ctx;
    // Generous: a TLS handshake under ThreadSanitizer on a busy 2-core machine took over 3 s.
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    v1::StatsRequest req;
    v1::StatsResponse res;
    return stub->Stats(&ctx, req, &res);
  }
  std::shared_ptr<grpc::ChannelCredentials> trusting(const std::string& ca, bool client_cert) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = slurp(dir_ / (ca + "-ca.pem"));
    if (client_cert) {
      ssl.pem_cert_chain = slurp(dir_ / "a-client.pem");
      ssl.pem_private_key = slurp(dir_ / "a-client.key");
    }
    return grpc::SslCredentials(ssl);
  }

  fs::path dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread thread_;
  std::unique_ptr<bus::Bus> bus_;
  std::shared_ptr<Broker> broker_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ApiTlsTest, TlsServesVerifiedClientsAndRefusesPlaintext) {
  start_server(server_tls("a", /*mtls=*/false));
  EXPECT_TRUE(stats(trusting("a", false)).ok());
  EXPECT_FALSE(stats(grpc::InsecureChannelCredentials()).ok());
  EXPECT_FALSE(stats(trusting("b", false)).ok()) << "a client trusting another CA";
}

TEST_F(ApiTlsTest, MutualTlsRequiresAClientCertificate) {
  start_server(server_tls("a", /*mtls=*/true));
  EXPECT_TRUE(stats(trusting("a", true)).ok());
  EXPECT_FALSE(stats(trusting("a", false)).ok());
}

TEST_F(ApiTlsTest, HeraldChannelCredentialsSpeakMutualTls) {
  start_server(server_tls("a", /*mtls=*/true));
  config::GrpcTlsConfig client;
  client.enabled = true;
  client.ca_file = (dir_ / "a-ca.pem").string();
  client.cert_file = (dir_ / "a-client.pem").string();
  client.key_file = (dir_ / "a-client.key").string();
  auto creds = tls::channel_credentials(client, "edgelink.tls");
  ASSERT_TRUE(creds.ok()) << creds.status().to_string();
  EXPECT_TRUE(stats(creds.value()).ok());
}

TEST_F(ApiTlsTest, RenewedCertificateAppliesWithoutRestart) {
  start_server(server_tls("a", /*mtls=*/false));
  ASSERT_TRUE(stats(trusting("a", false)).ok());
  // Renew: the same files now hold a certificate from CA b.
  fs::copy_file(dir_ / "b-server.pem", dir_ / "server.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(dir_ / "b-server.key", dir_ / "server.key", fs::copy_options::overwrite_existing);
  bool renewed = false;
  for (int i = 0; i < 50 && !renewed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    renewed = stats(trusting("b", false)).ok();
  }
  EXPECT_TRUE(renewed) << "new connections use the renewed certificate";
  EXPECT_FALSE(stats(trusting("a", false)).ok());
}

TEST_F(ApiTlsTest, UnreadableFilesFailAtStart) {
  config::GrpcTlsConfig tls;
  tls.enabled = true;
  tls.cert_file = (dir_ / "missing.pem").string();
  tls.key_file = (dir_ / "missing.key").string();
  ApiServerOptions api;
  api.listen = "127.0.0.1:0";
  api.tls = tls;
  auto server = ApiServer::start(api, broker_);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("api.tls.cert_file"), std::string::npos);
}

}  // namespace
}  // namespace herald::broker::api
