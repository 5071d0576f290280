// HandshakeInfo: what the client's HTTP handshake request said, kept for the session's life
// (every namespace CONNECT sends it to the broker). Packed in one exact-size allocation, since
// an idle connection carries it.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "edge/engineio/string_pairs.h"

namespace herald::eio {

class HandshakeInfo {
 public:
  HandshakeInfo() = default;
  // `headers`: lower-case names, selected headers only; `query`: decoded query parameters, in
  // request order; `remote_address`: "ip:port".
  HandshakeInfo(PairsView headers, PairsView query, std::string_view remote_address, bool secure)
      : headers_end_(static_cast<uint32_t>(headers.bytes().size())),
        query_end_(static_cast<uint32_t>(headers_end_ + query.bytes().size())),
        remote_end_(static_cast<uint32_t>(query_end_ + remote_address.size())),
        secure_(secure) {
    if (remote_end_ == 0) return;
    data_ = std::make_unique_for_overwrite<char[]>(remote_end_);
    copy(0, headers.bytes());
    copy(headers_end_, query.bytes());
    copy(query_end_, remote_address);
  }

  PairsView headers() const { return {data_.get(), headers_end_}; }
  PairsView query() const { return {data_.get() + headers_end_, query_end_ - headers_end_}; }
  std::string_view remote_address() const {
    return {data_.get() + query_end_, remote_end_ - query_end_};
  }
  bool secure() const { return secure_; }

 private:
  void copy(uint32_t at, std::string_view bytes) {
    if (!bytes.empty()) std::memcpy(data_.get() + at, bytes.data(), bytes.size());
  }

  std::unique_ptr<char[]> data_;  // headers, then query, then remote address
  uint32_t headers_end_ = 0;
  uint32_t query_end_ = 0;
  uint32_t remote_end_ = 0;
  bool secure_ = false;
};

}  // namespace herald::eio
