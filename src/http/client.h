// A small HTTP/1.1 client for calls to other services (Livy's REST API): one request per
// connection, plain HTTP, every step bounded by one deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace contacts::http {

// "host:port" split; throws std::invalid_argument (message without the value's name) unless
// the host is non-empty and the port an integer in 1..65535. "[::1]:10000" for IPv6.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
HostPort parse_host_port(std::string_view text);

// "http://host[:port][/prefix]": the port defaults to 80, the prefix (without a trailing '/')
// to "". Throws std::invalid_argument for anything else (https included: not supported).
struct Url {
  HostPort endpoint;
  std::string prefix;
};
Url parse_url(std::string_view text);

struct ClientResponse {
  int status = 0;
  std::string body;
};

// Thrown when the call fails: could not connect, timed out, or the answer is not HTTP.
class ClientError : public std::runtime_error {
 public:
  ClientError(std::string what, bool timed_out)
      : std::runtime_error(std::move(what)), timed_out_(timed_out) {}
  bool timed_out() const { return timed_out_; }

 private:
  bool timed_out_;
};

// Sends `method` `target` (a path with its query) to `endpoint`, with `body` as JSON when not
// empty, and reads the whole answer (at most `max_body` bytes). Any status is returned; throws
// ClientError when no answer arrived before `deadline`. Thread-safe (nothing shared).
ClientResponse request(const HostPort& endpoint, std::string_view method, std::string_view target,
                       std::string_view body, std::chrono::steady_clock::time_point deadline,
                       size_t max_body = 16u << 20);

}  // namespace contacts::http
