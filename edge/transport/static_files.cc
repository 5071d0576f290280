// Static file serving with traversal protection.
#include "edge/transport/static_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace herald::edge {
namespace {

namespace fs = std::filesystem;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a path; nullopt on a malformed escape or a decoded NUL, '\\' or '%'.
std::optional<std::string> decode_path(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
      if (c == '%') return std::nullopt;
    }
    if (c == '\0' || c == '\\') return std::nullopt;
    out += c;
  }
  return out;
}

HttpResponse status_response(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

StaticFiles::StaticFiles(std::string url_prefix, std::string directory)
    : prefix_(std::move(url_prefix)) {
  if (prefix_.empty() || directory.empty()) return;
  if (prefix_.back() != '/') prefix_ += '/';
  std::error_code ec;
  fs::path root = fs::canonical(directory, ec);
  if (!ec && fs::is_directory(root, ec)) root_ = root.string();
}

std::string_view StaticFiles::content_type_for(std::string_view name) {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "png") return "image/png";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "wasm") return "application/wasm";
  return "application/octet-stream";
}

std::optional<HttpResponse> StaticFiles::serve(std::string_view path) const {
  if (prefix_.empty()) return std::nullopt;
  // "/demo" is the directory itself.
  if (path.size() + 1 == prefix_.size() && prefix_.compare(0, path.size(), path) == 0) {
    path = prefix_;
  }
  if (path.substr(0, prefix_.size()) != prefix_) return std::nullopt;
  if (root_.empty()) return status_response(404, "Not Found");
  auto rel = decode_path(path.substr(prefix_.size()));
  if (!rel) return status_response(400, "Bad Request");
  if (rel->empty() || rel->back() == '/') *rel += "index.html";
  // No segment may be "." or ".." or empty, and no absolute paths.
  std::size_t start = 0;
  while (start <= rel->size()) {
    const std::size_t end = std::min(rel->find('/', start), rel->size());
    const std::string_view seg(rel->data() + start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return status_response(404, "Not Found");
    start = end + 1;
  }
  std::error_code ec;
  const fs::path full = fs::canonical(fs::path(root_) / *rel, ec);
  if (ec) return status_response(404, "Not Found");
  const std::string full_s = full.string();
  // Symlinks may not lead out of the directory.
  if (full_s.size() <= root_.size() || full_s.compare(0, root_.size(), root_) != 0 ||
      full_s[root_.size()] != '/') {
    return status_response(404, "Not Found");
  }
  if (!fs::is_regular_file(full, ec)) return status_response(404, "Not Found");
  const auto size = fs::file_size(full, ec);
  if (ec || size > kMaxFileBytes) return status_response(404, "Not Found");
  std::ifstream in(full, std::ios::binary);
  if (!in) return status_response(404, "Not Found");
  HttpResponse r;
  r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  r.content_type = std::string(content_type_for(full_s));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace herald::edge
