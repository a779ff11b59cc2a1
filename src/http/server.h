// A small HTTP/1.1 server (Boost.Beast inside, nothing of it in this header).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace contacts::http {

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // raw request target, e.g. "/api/contacts/?title=x"
  std::string path;    // target before '?', not decoded
  std::string query;   // target after '?', not decoded ("" when absent)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // Value of the first header named `lower_name`, or nullptr.
  const std::string* header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added by the server
  std::string body;
  void set_header(std::string name, std::string value);
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  unsigned threads = 2;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
};

// Called on a server thread for every well-formed request; must not throw
// (the server answers 500 JSON if it does). Called concurrently from several threads.
using Handler = std::function<Response(const Request&)>;

// Listens and serves until SIGINT/SIGTERM, then returns. `on_listening` is called once
// with the bound port (useful with port 0). Throws std::runtime_error when it cannot bind.
void serve(const ServerOptions& options, Handler handler,
           std::function<void(uint16_t)> on_listening = {});

}  // namespace contacts::http
