// The HTTP server (http/server.h) end to end: each input is sent on a loopback connection to a
// server running in this process (small limits, an echo handler, a streamed-body route, a
// deferred route), then the client closes its side. The server must answer or close, never
// crash, and keep serving: after every input a well-formed request gets its 200.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <string_view>
#include <thread>

#include "http/server.h"

using namespace contacts;

namespace {

class DiscardSink final : public http::BodySink {
 public:
  bool write(std::string_view bytes) override { return bytes.find("REJECT") == std::string_view::npos; }
};

http::Response handle(const http::Request& request) {
  http::Response r;
  if (request.path == "/deferred") {
    r.deferred = [](std::function<void(http::Response)> done) {
      std::thread([done] {
        http::Response later;
        later.body = "later";
        done(std::move(later));
      }).detach();
    };
    return r;
  }
  r.set_header("Content-Type", "text/plain");
  r.body = request.method + " " + request.target + " " + std::to_string(request.body.size());
  return r;
}

uint16_t start_server() {
  static std::promise<uint16_t> listening;
  static std::thread thread([] {
    http::ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.handle_signals = false;
    options.max_header_bytes = 4 * 1024;
    options.max_target_bytes = 4 * 1024;
    options.max_body_bytes = 16 * 1024;
    options.max_streamed_body_bytes = 64 * 1024;
    options.io_timeout = std::chrono::milliseconds(2000);
    options.route_body = [](const http::Request& head) {
      http::BodyRoute route;
      if (head.path == "/stream") route.sink = std::make_unique<DiscardSink>();
      return route;
    };
    http::serve(options, handle, [](uint16_t port) { listening.set_value(port); });
  });
  thread.detach();
  return listening.get_future().get();
}

// Sends `bytes`, closes the sending side, reads until the server closes (or 3 s pass).
std::string exchange(uint16_t port, std::string_view bytes) {
  // Each connection comes from its own 127.x.y.z: hundreds a second, each closed by this side
  // first, would otherwise leave their ports in TIME_WAIT for a minute and use up 127.0.0.1's
  // ephemeral range (connect() failing with EADDRNOTAVAIL was the one "finding" of a
  // 10-minute run). A refused connect is retried before it counts as a failure.
  static std::atomic<uint32_t> next_source{1};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = -1;
  for (int attempt = 0;; ++attempt) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) std::abort();
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7F000000u | (next_source++ % 0xFFFFFEu + 1));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0 &&
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      break;
    }
    const int error = errno;
    ::close(fd);
    if (attempt == 100) {
      std::fprintf(stderr, "fuzz_http: cannot connect to the server: %s\n", std::strerror(error));
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  timeval timeout{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (an error answer)
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint16_t port = start_server();
  (void)exchange(port, std::string_view(reinterpret_cast<const char*>(data), size));
  // A well-formed request must get its 200 within three tries of 3 s (one try may meet a
  // machine busy with the fuzzer itself; a server that stopped serving fails all three).
  std::string ok;
  for (int attempt = 0; attempt < 3 && ok.rfind("HTTP/1.1 200 ", 0) != 0; ++attempt) {
    ok = exchange(port, "GET /ping HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n");
  }
  if (ok.rfind("HTTP/1.1 200 ", 0) != 0) {  // the server stopped serving
    std::fprintf(stderr, "a well-formed request after the input got: [%s]\n", ok.c_str());
    std::abort();
  }
  return 0;
}
