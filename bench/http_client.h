// A blocking HTTP/1.1 client connection for the load generator (plain POSIX sockets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace contacts::bench {

struct Endpoint {
  std::string host;  // name or numeric address
  uint16_t port = 0;
};

// The outcome of one request. `ok` is false when no complete response was read (connect
// failure, timeout, reset, malformed response); then `error` says why. `cache_hit` is true
// when the response carried `X-Cache-Hit: true` (answered from the service's response cache).
struct HttpResult {
  bool ok = false;
  int status = 0;
  size_t body_bytes = 0;
  bool cache_hit = false;
  std::string error;
};

// Complete bytes of a `GET target` request with keep-alive, a Host header and `headers`
// (each "Name: value", sent as given).
std::string build_get_request(const Endpoint& endpoint, std::string_view target,
                              const std::vector<std::string>& headers);

// One keep-alive connection, used by one thread at a time. Reads status line, headers and a
// body framed by Content-Length, chunked transfer coding or the end of the connection.
// Reconnects when the server closed the connection (Connection: close, HTTP/1.0, EOF).
class HttpConnection {
 public:
  // `timeout_s` bounds every connect, send and receive.
  HttpConnection(Endpoint endpoint, double timeout_s);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends `request` and reads one final response (1xx interim responses are skipped). A
  // reused connection that the server closed before answering is retried once on a fresh
  // connection. Never throws.
  HttpResult round_trip(std::string_view request);

 private:
  struct Head {
    int status = 0;
    long long content_length = -1;  // -1 when absent
    bool chunked = false;
    bool close = false;
    bool cache_hit = false;  // X-Cache-Hit: true
  };

  HttpResult attempt(std::string_view request, bool& nothing_received);
  bool open(std::string& error);
  void close();
  bool send_all(std::string_view data, std::string& error);
  bool fill(std::string& error);  // appends at least one byte to buffer_, false on EOF/error
  bool read_head(Head& head, std::string& error);
  bool read_exact(size_t n, std::string& error);
  bool read_line(std::string& line, std::string& error);
  bool read_chunked(size_t& body_bytes, std::string& error);
  bool read_until_close(size_t& body_bytes, std::string& error);

  Endpoint endpoint_;
  double timeout_s_;
  int fd_ = -1;
  bool reused_ = false;
  bool eof_ = false;
  std::string buffer_;  // bytes received but not yet consumed
};

}  // namespace contacts::bench
