// Static files under edge.static_path (the demo page): GET/HEAD only, no path traversal, no
// symlinks out of the directory, a fixed content-type table.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "edge/transport/eio_server.h"

namespace herald::edge {

class StaticFiles {
 public:
  static constexpr std::size_t kMaxFileBytes = 8 * 1024 * 1024;

  StaticFiles(std::string url_prefix, std::string directory);

  bool enabled() const { return !prefix_.empty() && !root_.empty(); }
  // nullopt: `path` is not under the prefix. Otherwise the file, 404 or 403.
  std::optional<HttpResponse> serve(std::string_view path) const;

  static std::string_view content_type_for(std::string_view file_name);

 private:
  std::string prefix_;
  std::string root_;  // canonical directory, "" when disabled or missing
};

}  // namespace herald::edge
