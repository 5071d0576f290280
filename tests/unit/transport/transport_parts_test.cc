// Unit tests of the transport's pieces without sockets: CORS matching, timer wheel, static files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "edge/engineio/timer_wheel.h"
#include "edge/transport/cors.h"
#include "edge/transport/static_files.h"

namespace herald::edge {
namespace {

TEST(CorsPolicy, Matching) {
  EXPECT_TRUE(CorsPolicy::matches("*", "https://x.y"));
  EXPECT_TRUE(CorsPolicy::matches("https://app.example.com", "https://app.example.com"));
  EXPECT_FALSE(CorsPolicy::matches("https://app.example.com", "https://app.example.com.evil"));
  EXPECT_TRUE(CorsPolicy::matches("https://*.example.com", "https://a.example.com"));
  EXPECT_TRUE(CorsPolicy::matches("https://*.example.com", "https://a.b.example.com"));
  EXPECT_FALSE(CorsPolicy::matches("https://*.example.com", "https://example.com"));
  EXPECT_FALSE(CorsPolicy::matches("https://*.example.com", "https://evil.com/.example.com"));
  EXPECT_TRUE(CorsPolicy::matches("http://localhost:*", "http://localhost:8080"));
  EXPECT_FALSE(CorsPolicy::matches("http://localhost:*", "http://localhost:"));
}

TEST(CorsPolicy, DisabledAllowsEverythingWithoutHeaders) {
  CorsPolicy p(CorsConfig{});
  EXPECT_FALSE(p.enabled());
  EXPECT_TRUE(p.allowed("https://x"));
  EXPECT_EQ(p.headers("https://x"), "");
}

struct CountingTimer : eio::WheelTimer {
  int fired = 0;
  void on_timer() override { ++fired; }
};

TEST(TimerWheel, FiresOnceAfterDeadlineAndCancels) {
  eio::TimerWheel wheel(std::chrono::milliseconds(5), 16);
  CountingTimer a, b, c;
  const auto t0 = std::chrono::steady_clock::now();
  wheel.schedule(a, std::chrono::milliseconds(20));
  wheel.schedule(b, std::chrono::milliseconds(200));  // more than one turn of 16 x 5 ms
  wheel.schedule(c, std::chrono::milliseconds(20));
  c.cancel_timer();
  wheel.advance(t0 + std::chrono::milliseconds(10));
  EXPECT_EQ(a.fired, 0);
  wheel.advance(t0 + std::chrono::milliseconds(40));
  EXPECT_EQ(a.fired, 1);
  EXPECT_EQ(b.fired, 0);
  EXPECT_EQ(c.fired, 0);
  wheel.advance(t0 + std::chrono::milliseconds(120));
  EXPECT_EQ(b.fired, 0);
  wheel.advance(t0 + std::chrono::milliseconds(260));
  EXPECT_EQ(b.fired, 1);
  EXPECT_EQ(a.fired, 1);
  EXPECT_FALSE(b.timer_pending());
}

TEST(StaticFiles, ServesInsideTheDirectoryOnly) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("herald_static_" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "index.html") << "<h1>hi</h1>";
  std::ofstream(dir / "sub" / "app.js") << "1";
  std::ofstream(dir.parent_path() / "herald_secret.txt") << "secret";
  StaticFiles files("/demo/", dir.string());
  ASSERT_TRUE(files.enabled());
  EXPECT_FALSE(files.serve("/other").has_value());
  auto r = files.serve("/demo/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "<h1>hi</h1>");
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  r = files.serve("/demo/sub/app.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(files.serve("/demo/../herald_secret.txt")->status, 404u);
  EXPECT_EQ(files.serve("/demo/%2e%2e/herald_secret.txt")->status, 404u);
  EXPECT_EQ(files.serve("/demo/sub/%5c..")->status, 400u);
  EXPECT_EQ(files.serve("/demo/missing.png")->status, 404u);
  fs::remove_all(dir);
  fs::remove(dir.parent_path() / "herald_secret.txt");
}

}  // namespace
}  // namespace herald::edge
