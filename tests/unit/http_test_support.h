// Test support for the HTTP server: a server on a thread and a plain POSIX socket client
// (no Beast here, so the tests see exactly the bytes on the wire).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <future>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "http/server.h"

namespace contacts::http::testing {

// Echoes what the server parsed, so tests can check the Request it built.
inline Response echo_handler(const Request& request) {
  if (request.path == "/throw") throw std::runtime_error("secret: /etc/db.sqlite SELECT *");
  Response response;
  if (request.path == "/status") {
    response.status = std::stoi(request.query);
    return response;
  }
  response.set_header("Content-Type", "text/plain");
  const std::string* probe = request.header("x-probe");
  response.body = request.method + "|" + request.path + "|" + request.query + "|" +
                  (probe != nullptr ? *probe : "") + "|" + request.body;
  return response;
}

// serve() on a thread, on an ephemeral port, stopped through `register_stop`.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = small_limits(), Handler handler = echo_handler) {
    options.port = 0;
    options.handle_signals = false;
    options.register_stop = [this](std::function<void()> stop) { stop_ = std::move(stop); };
    std::promise<uint16_t> listening;
    auto port = listening.get_future();
    thread_ = std::thread([options, handler, listening = std::move(listening)]() mutable {
      try {
        serve(options, handler, [&listening](uint16_t p) { listening.set_value(p); });
      } catch (...) {
        listening.set_exception(std::current_exception());
      }
    });
    port_ = port.get();
  }
  ~TestServer() {
    stop_();
    thread_.join();
  }
  uint16_t port() const { return port_; }

  static ServerOptions small_limits() {
    ServerOptions options;
    options.threads = 4;
    options.max_header_bytes = 8 * 1024;
    options.max_body_bytes = 4 * 1024;
    return options;
  }

 private:
  std::function<void()> stop_;
  std::thread thread_;
  uint16_t port_ = 0;
};

struct ParsedResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "<absent>" : it->second;
  }
};

// A blocking socket connected to `port` on loopback, with a 5 s receive timeout (so a broken
// server fails a test instead of hanging it) and, when `receive_buffer` > 0, that SO_RCVBUF.
inline int connect_loopback(uint16_t port, int receive_buffer = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  const timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect");
  }
  return fd;
}

// A blocking client connection (see connect_loopback).
class Client {
 public:
  explicit Client(uint16_t port) : fd_(connect_loopback(port)) {}
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send");
      sent += static_cast<size_t>(n);
    }
  }

  // Reads one response framed by Content-Length (none for HEAD).
  ParsedResponse read_response(bool head_request = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) throw std::runtime_error("connection closed inside a response head");
    }
    ParsedResponse response;
    response.status = std::stoi(buffer_.substr(9, 3));
    size_t line = buffer_.find("\r\n") + 2;
    while (line < end) {
      const size_t next = buffer_.find("\r\n", line);
      const size_t colon = buffer_.find(':', line);
      std::string name = buffer_.substr(line, colon - line);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      response.headers[name] = buffer_.substr(colon + 2, next - colon - 2);
      line = next + 2;
    }
    buffer_.erase(0, end + 4);
    const auto length = response.headers.find("content-length");
    const size_t body_size =
        head_request || length == response.headers.end() ? 0 : std::stoul(length->second);
    while (buffer_.size() < body_size) {
      if (!fill()) throw std::runtime_error("connection closed inside a body");
    }
    response.body = buffer_.substr(0, body_size);
    buffer_.erase(0, body_size);
    return response;
  }

  // True when the server closed the connection (EOF or reset) with nothing more to read.
  bool closed_by_server() { return buffer_.empty() && !fill(); }

 private:
  bool fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      throw std::runtime_error("timed out waiting for the server");
    }
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string buffer_;
};

inline std::string get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

inline std::string post(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

inline constexpr const char* kJson = "application/json; charset=utf-8";

inline void expect_json_error_and_close(Client& client, int status, const std::string& detail) {
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(response.header("content-type"), kJson);
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_EQ(response.body, R"({"detail": ")" + detail + R"("})");
  EXPECT_EQ(response.header("x-request-id").size(), 32u);  // contract section 1: every answer
  EXPECT_TRUE(client.closed_by_server());
}

}  // namespace contacts::http::testing
