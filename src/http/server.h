// A small HTTP/1.1 server (Boost.Beast inside, nothing of it in this header).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace contacts::http {

// Receives a request body in chunks, for routes whose bodies are too large to hold in memory.
class BodySink {
 public:
  // What the server answers when write() returns false: a status and a JSON body.
  struct Rejection {
    int status = 400;
    std::string_view json = R"({"detail": "Malformed request body."})";
  };
  virtual ~BodySink() = default;
  // The next bytes of the body, in order. Returning false stops reading: the server answers
  // rejection() without calling the handler.
  virtual bool write(std::string_view bytes) = 0;
  virtual Rejection rejection() const { return {}; }
};

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // raw request target, e.g. "/api/contacts/?title=x"
  std::string path;    // target before '?', not decoded
  std::string query;   // target after '?', not decoded ("" when absent)
  std::string peer;    // the client's IP address, as the connection shows it
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;  // empty when the body went to a BodySink
  // The sink the body was streamed to (see ServerOptions::route_body), or nullptr. It stays
  // alive until the response is written.
  BodySink* streamed_body = nullptr;
  // Value of the first header named `lower_name`, or nullptr.
  const std::string* header(std::string_view lower_name) const;
  // Whether If-None-Match is "*" or names `etag` (weak comparison, as RFC 9110 13.1.2 asks
  // for GET and HEAD): answer 304 then.
  bool if_none_match(std::string_view etag) const;
};

// Produces a response body piece by piece, for bodies too large to hold in memory (exports).
// The server calls fill() on one of its threads, never twice at once for one response, and
// asks for the next piece only once the previous one is written to the socket: a slow client
// makes the server wait, it never makes it buffer more than one piece.
class BodySource {
 public:
  // Runs when the response is complete, when the client went away or missed the io_timeout
  // deadline of a write, or at once for HEAD: whatever the source holds is released then.
  virtual ~BodySource() = default;
  // Replaces `out` with the next bytes of the body: about `max_bytes` (more only when one
  // unit of the body, e.g. a CSV row, is larger), possibly none. Returns false when the body
  // ends with these bytes. Throwing (or answering while the server stops) ends the response
  // abruptly: the connection closes without the body's end, so the client sees a truncated
  // body, never a complete-looking one.
  virtual bool fill(std::string& out, size_t max_bytes) = 0;
};

// The server adds Content-Length (the body's size; none for 204 and 304), Date (unless the
// handler set one) and, when the connection closes, "Connection: close". It drops any
// Content-Length, Transfer-Encoding or Connection the handler set ("Connection: close" still
// closes the connection after this response), and any header whose name is not an HTTP token
// or whose value contains control characters. A status outside 200..999 is answered as 500.
//
// With a `body_source`, `body` is ignored and the body is streamed: "Transfer-Encoding:
// chunked" to HTTP/1.1 clients (the connection may then serve further requests), and to
// HTTP/1.0 clients the raw bytes until the connection closes. HEAD gets the same head and no
// body (the source is destroyed without being called).
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::unique_ptr<BodySource> body_source;
  // For an answer that takes time (a read, a password check). When set, the rest of this
  // Response is ignored: the server calls `deferred` once with a `done` function and goes on
  // serving other connections; the handler's work, on threads of its own (never the
  // server's), calls done(answer) exactly once, from any thread, and that answer is sent.
  std::function<void(std::function<void(Response)> done)> deferred;
  // Where body_source->fill() runs. Empty: on a server thread. Set: the server hands each
  // fill to this function, which runs the job on threads of the handler's own (never the
  // server's) and returns true, or returns false at once when it cannot take the job now (the
  // server asks again shortly). The source is not touched by the server while a fill runs.
  std::function<bool(std::function<void()> job)> fill_runner;
  // The route that answered, as the handler names it (its template), for on_exchange's
  // metrics and logs; empty when no route matched. Must point at storage that outlives the
  // server (a routing table).
  std::string_view route;
  // Replaces the value of the header named `name` (case-insensitively; later duplicates are
  // removed), or appends it. To send a header several times, push_back onto `headers`.
  void set_header(std::string name, std::string value);
  // Value of the first header named `name` (case-insensitively), or nullptr.
  const std::string* header(std::string_view name) const;
};

// What to do with the body of a request, decided from its head alone.
struct BodyRoute {
  std::optional<Response> reject;  // answer this at once; the body is never read
  std::unique_ptr<BodySink> sink;         // stream the body here (limit: max_streamed_body_bytes)
  // Neither set: the body is read into Request::body (limit: max_body_bytes).
};

// One request answered, as the server reports it once the answer is written (or its write
// failed, or its body_source failed and the connection was reset): for metrics and access logs.
struct Exchange {
  const Request* request;     // nullptr when the request head could not be parsed
  const Response& response;   // as the server wrote it (a body_source may be gone by now)
  std::chrono::nanoseconds duration;  // from the request head read to the answer written
  uint64_t body_bytes;  // body bytes written, chunk framing aside (0 for HEAD, 204 and 304)
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  unsigned threads = 2;  // threads running the server (0 counts as 1)
  size_t max_header_bytes = 16 * 1024;  // header fields, the request line aside: past it 431
  size_t max_target_bytes = 16 * 1024;  // the request target (path and query): past it 414
  size_t max_body_bytes = 1024 * 1024;
  // Deadline for each stage of a connection: receiving a request's header, receiving its
  // body, writing a response, and waiting for the next request on a kept-alive connection.
  // A connection that misses it is closed without an answer.
  std::chrono::milliseconds io_timeout{30'000};
  // When true, SIGINT and SIGTERM stop the server. Set false when the caller handles signals
  // itself (then use `register_stop`).
  bool handle_signals = true;
  // When set, serve() calls it once, before binding, with a function that stops the server:
  // serve() returns once its threads finish their current handlers, dropping open connections
  // (as on SIGTERM). That function is thread-safe and may be called any number of times, also
  // before the server runs (serve() then returns right after on_listening) and after serve()
  // returned (then it does nothing).
  std::function<void(std::function<void()>)> register_stop;
  // Called on a server thread once a request's header is read, before its body. May be empty.
  std::function<BodyRoute(const Request& head)> route_body;
  // Limit for streamed bodies; larger ones (by Content-Length, or as they arrive) get 413
  // {"detail": "Request body too large."}. Each chunk read of a streamed body has its own
  // io_timeout deadline, so a large upload is not cut off by the per-stage deadline.
  uint64_t max_streamed_body_bytes = 2ULL * 1024 * 1024 * 1024;
  // Called on a server thread after every answer, including the server's own error answers,
  // before the connection reads its next request. Must not throw. May be empty. A request whose
  // connection closed before its answer was written is not reported.
  std::function<void(const Exchange&)> on_exchange;
};

// Called on a server thread for every well-formed request; must not throw
// (the server answers 500 JSON if it does). Called concurrently from several threads.
using Handler = std::function<Response(const Request&)>;

// Listens and serves until SIGINT/SIGTERM (see `handle_signals`) or the stop function of
// `register_stop`, then returns. `on_listening` is called once, on the calling thread, with the
// bound port (useful with port 0) before any request is served. Throws std::runtime_error
// ("cannot listen on HOST:PORT: reason") when it cannot bind.
void serve(const ServerOptions& options, Handler handler,
           std::function<void(uint16_t)> on_listening = {});

}  // namespace contacts::http
