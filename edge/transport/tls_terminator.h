// Edge TLS (edge.tls.mode on | detect): TLS is terminated on the accepting shard's thread by a
// pump that moves plaintext through a socketpair, whose other end becomes an ordinary
// HttpConnection. The HTTP, polling and websocket code (recv/sendmsg on a plain fd, shard
// migration, upgrades) is unchanged; the price is one extra copy and fd pair per TLS connection.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "edge/edge_config.h"

namespace boost::asio::ssl {
class context;
}

namespace herald::edge {

class TlsTerminator {
 public:
  // Loads the certificate and key (fails on unreadable or mismatched files).
  static Result<std::unique_ptr<TlsTerminator>> create(const EdgeTlsConfig& config);
  ~TlsTerminator();

  bool detect() const { return detect_; }
  // The current context; re-read from the files when they changed (checked at most every 10 s).
  // Any thread.
  std::shared_ptr<boost::asio::ssl::context> context();

 private:
  TlsTerminator() = default;
  EdgeTlsConfig config_;
  bool detect_ = false;
  std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::chrono::steady_clock::time_point next_check_;
  long long cert_mtime_ = 0;
  long long key_mtime_ = 0;
};

}  // namespace herald::edge
