// The only translation unit that includes Beast: it is slow to compile, keep it that way.
#include "http/server.h"

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <csignal>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "http/request_id.h"
#include "http/server_wire.h"

namespace contacts::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr std::string_view kMalformed = R"({"detail": "Malformed HTTP request."})";
constexpr std::string_view kHeaderTooLarge = R"({"detail": "Request header fields too large."})";
constexpr std::string_view kUriTooLong = R"({"detail": "Request URI too long."})";
constexpr std::string_view kBodyTooLarge = R"({"detail": "Request body too large."})";
constexpr std::string_view kInternalError =
    R"({"detail": "An error occurred while processing the request. Please check your query parameters and try again."})";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// After an error answer the client may still be sending; reading (and dropping) that for a
// while lets it see the answer instead of a connection reset.
constexpr std::chrono::milliseconds kLingerTime{5'000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
// Size of the buffer a streamed body is read into; what a streaming connection holds at most.
constexpr size_t kStreamChunkBytes = 256 * 1024;
// How long a streamed response waits before asking again for a fill its runner refused.
constexpr std::chrono::milliseconds kFillRetryDelay{20};

// What a BodySource is asked for at a time: the most of a streamed response held in memory.
constexpr size_t kResponseChunkBytes = 64 * 1024;

Response json_error(int status, std::string_view body) {
  Response response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  response.body = body;
  return response;
}

std::string_view reason_phrase(int status) {
  const bhttp::status known = bhttp::int_to_status(static_cast<unsigned>(status));
  if (known == bhttp::status::unknown) return "Unknown";
  const auto reason = bhttp::obsolete_reason(known);
  return {reason.data(), reason.size()};
}

// Copies the parsed head into `out` (body empty), reusing the strings `out` already holds.
void fill_head(const bhttp::request_header<>& message, Request& out) {
  const auto method = message.method_string();
  out.method.assign(method.data(), method.size());
  const std::string_view target(message.target().data(), message.target().size());
  out.target.assign(target);
  const size_t question = target.find('?');
  out.path.assign(target.substr(0, question));
  if (question == std::string_view::npos) {
    out.query.clear();
  } else {
    out.query.assign(target.substr(question + 1));
  }
  size_t count = 0;
  for (const auto& field : message) {
    if (count == out.headers.size()) out.headers.emplace_back();
    auto& [name, value] = out.headers[count++];
    name.assign(field.name_string().data(), field.name_string().size());
    std::transform(name.begin(), name.end(), name.begin(), wire::ascii_lower);
    value.assign(field.value().data(), field.value().size());
  }
  out.headers.resize(count);
  out.body.clear();
  out.streamed_body = nullptr;
}

// Answers being computed by handlers' own threads (Response::deferred). serve() waits for
// them after the io_context stops and before it is destroyed: their completions hold sessions,
// whose sockets must not outlive the io_context.
struct DeferredAnswers {
  std::mutex mutex;
  std::condition_variable done;
  size_t pending = 0;

  void begin() {
    std::lock_guard lock(mutex);
    ++pending;
  }
  void end() {
    // Notified under the lock: once pending reaches 0, serve() may return and destroy this
    // object as soon as it can take the lock (found by ThreadSanitizer).
    std::lock_guard lock(mutex);
    --pending;
    done.notify_all();
  }
  // False when some are still pending after `timeout` (a handler that never answers).
  bool wait_all(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex);
    return done.wait_for(lock, timeout, [this] { return pending == 0; });
  }
};

// State every connection shares; outlives the io_context.
struct ServerContext {
  const ServerOptions& options;
  const Handler& handler;
  DeferredAnswers& deferred;
};

// One connection: reads a request, answers it, and repeats while the connection is kept
// alive. All its work runs on its strand, one operation at a time.
//
// The header is read with an empty_body parser whose body limit is off; once the route is
// known it becomes a string_body parser (body in memory, max_body_bytes) or a buffer_body
// parser (body streamed in chunks to a BodySink, max_streamed_body_bytes).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const ServerContext& context)
      : stream_(std::move(socket)), context_(context) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  using Step = void (Session::*)();

  void read_header() {
    head_parsed_ = false;
    head_parser_.emplace();
    // Room for a request line at its limit and header fields at theirs, each checked on its
    // own once parsed (414 and 431).
    head_parser_->header_limit(static_cast<uint32_t>(std::min<size_t>(
        context_.options.max_header_bytes + context_.options.max_target_bytes + 1024, UINT32_MAX)));
    // Checked in on_header, once the route is known. Not boost::none: Beast 1.74 compares a
    // Content-Length against an empty limit as if the limit were smaller.
    head_parser_->body_limit(std::numeric_limits<uint64_t>::max());
    stream_.expires_after(context_.options.io_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *head_parser_,
        [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec) return fail_read(ec);
    started_ = std::chrono::steady_clock::now();
    const auto& message = head_parser_->get();
    framing_ = wire::RequestFraming{message.method() == bhttp::verb::head, message.keep_alive(),
                                    message.version() == 10};
    expects_continue_ =
        message.version() >= 11 && beast::iequals(message[bhttp::field::expect], "100-continue");
    fill_head(message, request_);
    if (request_.peer.empty()) {
      error_code peer_ec;
      const auto endpoint = stream_.socket().remote_endpoint(peer_ec);
      if (!peer_ec) request_.peer = endpoint.address().to_string();
    }
    head_parsed_ = true;
    if (message.target().size() > context_.options.max_target_bytes) {
      return send_error(414, kUriTooLong);
    }
    size_t field_bytes = 0;
    for (const auto& field : message) field_bytes += field.name_string().size() + field.value().size() + 4;
    if (field_bytes > context_.options.max_header_bytes) return send_error(431, kHeaderTooLarge);
    const auto content_length = head_parser_->content_length();

    BodyRoute route;
    if (context_.options.route_body) {
      try {
        route = context_.options.route_body(request_);
      } catch (...) {
        return send_error(500, kInternalError);
      }
    }
    if (route.reject) return send_rejection(std::move(*route.reject));
    if (route.sink) {
      if (content_length && *content_length > context_.options.max_streamed_body_bytes) {
        return send_error(413, kBodyTooLarge);
      }
      sink_ = std::move(route.sink);
      stream_parser_.emplace(std::move(*head_parser_));
      head_parser_.reset();
      stream_parser_->body_limit(context_.options.max_streamed_body_bytes);
      streamed_bytes_ = 0;
      chunk_.resize(kStreamChunkBytes);
      // Beast reads into the buffer's free capacity: after a header, a few hundred bytes.
      buffer_.reserve(kStreamChunkBytes);
      return continue_then(&Session::read_stream_chunk);
    }
    if (content_length && *content_length > context_.options.max_body_bytes) {
      return send_error(413, kBodyTooLarge);
    }
    string_parser_.emplace(std::move(*head_parser_));
    head_parser_.reset();
    string_parser_->body_limit(context_.options.max_body_bytes);
    continue_then(&Session::read_body);
  }

  // Answers "Expect: 100-continue" (when the body is still to come), then runs `next`.
  void continue_then(Step next) {
    const bool done = stream_parser_ ? stream_parser_->is_done() : string_parser_->is_done();
    if (done || !expects_continue_) return (this->*next)();
    stream_.expires_after(context_.options.io_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this(), next](error_code ec, size_t) {
                       if (!ec) ((*self).*next)();
                     });
  }

  void read_body() {
    if (string_parser_->is_done()) return on_body_read();
    stream_.expires_after(context_.options.io_timeout);
    bhttp::async_read(stream_, buffer_, *string_parser_,
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (ec) return self->fail_read(ec);
                        self->on_body_read();
                      });
  }

  void on_body_read() {
    request_.body = std::move(string_parser_->get().body());
    string_parser_.reset();
    handle_request();
  }

  // One read from the socket (its own deadline) into chunk_, handed to the sink.
  void read_stream_chunk() {
    if (stream_parser_->is_done()) {
      stream_parser_.reset();
      std::vector<char>().swap(chunk_);
      buffer_.shrink_to_fit();
      request_.streamed_body = sink_.get();
      return handle_request();
    }
    auto& body = stream_parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    stream_.expires_after(context_.options.io_timeout);
    bhttp::async_read_some(
        stream_, buffer_, *stream_parser_,
        [self = shared_from_this()](error_code ec, size_t) { self->on_stream_chunk(ec); });
  }

  void on_stream_chunk(error_code ec) {
    if (ec == bhttp::error::need_buffer) ec = {};  // chunk_ is full
    if (ec) return fail_read(ec);
    const size_t received = chunk_.size() - stream_parser_->get().body().size;
    streamed_bytes_ += received;
    if (streamed_bytes_ > context_.options.max_streamed_body_bytes) {
      return send_error(413, kBodyTooLarge);
    }
    if (received > 0 && !sink_->write(std::string_view(chunk_.data(), received))) {
      const BodySink::Rejection r = sink_->rejection();
      return send_error(r.status, r.json);
    }
    read_stream_chunk();
  }

  // Parse errors get an answer; a closed, reset or timed-out connection is just dropped.
  void fail_read(error_code ec) {
    if (ec == bhttp::error::end_of_stream) return shutdown_send();
    if (ec.category() != bhttp::make_error_code(bhttp::error::bad_target).category()) {
      return;  // the socket closes when the last handler lets go of this session
    }
    if (!head_parsed_) started_ = std::chrono::steady_clock::now();
    if (ec == bhttp::error::header_limit) {
      // Over both limits together. The parser holds the target once it has read the request
      // line: none (a line past the limit) or a long one is the URI's fault.
      const size_t target = head_parser_ ? head_parser_->get().target().size() : 0;
      const bool long_line = target == 0 || target > context_.options.max_target_bytes;
      return send_error(long_line ? 414 : 431, long_line ? kUriTooLong : kHeaderTooLarge);
    }
    if (ec == bhttp::error::body_limit) return send_error(413, kBodyTooLarge);
    send_error(400, kMalformed);
  }

  void handle_request() {
    try {
      response_ = context_.handler(request_);
      if (response_.deferred) return start_deferred();
      if (!wire::is_writable_status(response_.status)) {
        response_ = json_error(500, kInternalError);
      }
    } catch (...) {
      response_ = json_error(500, kInternalError);
    }
    send_response(framing_, false);
  }

  // Hands the request to the handler's own threads; the answer comes back on this session's
  // strand. Nothing is read from the connection meanwhile (no pipelining past this request).
  void start_deferred() {
    auto start = std::move(response_.deferred);
    response_ = Response();
    auto self = shared_from_this();
    DeferredAnswers& pending = context_.deferred;
    pending.begin();
    try {
      start([self, &pending](Response answer) mutable {
        {
          // Asio wants copyable handlers in Boost 1.74: the answer travels in a shared_ptr.
          auto shared = std::make_shared<Response>(std::move(answer));
          // The session moves into the handler, and the executor (a strand of the
          // io_context) goes with this block: once pending.end() lets serve() return and
          // destroy the io_context, nothing here refers to it any more.
          const auto executor = self->stream_.get_executor();
          net::post(executor, [self = std::move(self), shared] {
            self->response_ = std::move(*shared);
            if (self->response_.deferred || !wire::is_writable_status(self->response_.status)) {
              self->response_ = json_error(500, kInternalError);
            }
            self->send_response(self->framing_, false);
          });
        }
        pending.end();
      });
    } catch (...) {
      pending.end();  // `start` throws before it hands the work on, never after
      response_ = json_error(500, kInternalError);
      send_response(framing_, false);
    }
  }

  // The route's answer to a request whose body is never read; the connection closes after it.
  void send_rejection(Response response) {
    response_ = std::move(response);
    if (!wire::is_writable_status(response_.status)) response_ = json_error(500, kInternalError);
    send_response(wire::RequestFraming{framing_.head, false, framing_.http10}, true);
  }

  void send_error(int status, std::string_view body) {
    release_body();
    response_ = json_error(status, body);
    response_.set_header("X-Request-Id",
                         request_id_for(head_parsed_ ? request_.header("x-request-id") : nullptr));
    send_response(wire::RequestFraming{}, true);
  }

  // `linger`: drain what the client still sends before closing (after a rejected request).
  void send_response(const wire::RequestFraming& request, bool linger) {
    const wire::ResponseFraming framing =
        wire::write_response_head(response_, reason_phrase(response_.status), request, head_);
    body_written_ = 0;
    if (response_.body_source) {
      if (framing.send_body) return send_streamed_head(framing);
      response_.body_source.reset();  // HEAD: the head only
    }
    const std::array<net::const_buffer, 2> buffers{
        net::buffer(head_),
        net::buffer(response_.body.data(), framing.send_body ? response_.body.size() : 0)};
    stream_.expires_after(context_.options.io_timeout);
    net::async_write(stream_, buffers,
                     [self = shared_from_this(), keep_alive = framing.keep_alive, linger](
                         error_code ec, size_t written) {
                       self->body_written_ = written - std::min(written, self->head_.size());
                       self->on_write(ec, keep_alive, linger);
                     });
  }

  // A streamed response: the head, then one chunk at a time from response_.body_source, each
  // asked for once the previous one is written (see BodySource).
  void send_streamed_head(wire::ResponseFraming framing) {
    stream_.expires_after(context_.options.io_timeout);
    net::async_write(stream_, net::buffer(head_),
                     [self = shared_from_this(), framing](error_code ec, size_t) {
                       if (ec) return self->on_write(ec, false, false);
                       self->send_next_chunk(framing);
                     });
  }

  void send_next_chunk(wire::ResponseFraming framing) {
    if (response_.fill_runner) return fill_elsewhere(framing);
    bool more = false;
    try {
      more = response_.body_source->fill(body_chunk_, kResponseChunkBytes);
    } catch (...) {
      return abort_response();
    }
    write_chunk(framing, more);
  }

  // send_next_chunk with the fill on the handler's threads (Response::fill_runner): the
  // session is idle meanwhile (nothing pending on the socket), and the outcome comes back on
  // its strand. Counted in DeferredAnswers like a deferred answer, for the same reason.
  void fill_elsewhere(wire::ResponseFraming framing) {
    enum Outcome { ended, more, failed };
    DeferredAnswers& pending = context_.deferred;
    pending.begin();
    // The job gives its session away to the strand before pending.end(): once serve() may
    // return, nothing on the handler's threads refers to the session any more.
    auto job = [self = shared_from_this(), framing, &pending]() mutable {
      Outcome outcome = failed;
      try {
        outcome = self->response_.body_source->fill(self->body_chunk_, kResponseChunkBytes) ? more
                                                                                            : ended;
      } catch (...) {
      }
      {
        const auto executor = self->stream_.get_executor();
        net::post(executor, [self = std::move(self), framing, outcome] {
          if (outcome == failed) return self->abort_response();
          self->write_chunk(framing, outcome == more);
        });
      }
      pending.end();
    };
    bool taken = false;
    try {
      taken = response_.fill_runner(std::move(job));
    } catch (...) {
    }
    if (taken) return;
    pending.end();
    // The handler's threads are saturated: ask again shortly, without holding a server thread.
    if (!retry_fill_) retry_fill_.emplace(stream_.get_executor());
    retry_fill_->expires_after(kFillRetryDelay);
    retry_fill_->async_wait([self = shared_from_this(), framing](error_code ec) {
      if (ec) return self->abort_response();
      self->send_next_chunk(framing);
    });
  }

  // Writes body_chunk_ (the fill's output; `more`: the body goes on after it) and asks for
  // the next piece once it is written.
  void write_chunk(wire::ResponseFraming framing, bool more) {
    if (!more) response_.body_source.reset();  // let go of what it holds before the last write
    if (more && body_chunk_.empty()) {
      // Nothing this time (e.g. a filter skipped many rows): let other connections run first.
      return net::post(stream_.get_executor(),
                       [self = shared_from_this(), framing] { self->send_next_chunk(framing); });
    }
    const bool framed = framing.chunked && !body_chunk_.empty();
    if (framed) wire::write_chunk_size(body_chunk_.size(), chunk_head_);
    const std::array<net::const_buffer, 4> buffers{
        net::buffer(chunk_head_.data(), framed ? chunk_head_.size() : 0),
        net::buffer(body_chunk_.data(), body_chunk_.size()),
        net::buffer(wire::kChunkEnd.data(), framed ? wire::kChunkEnd.size() : 0),
        net::buffer(wire::kLastChunk.data(),
                    framing.chunked && !more ? wire::kLastChunk.size() : 0)};
    stream_.expires_after(context_.options.io_timeout);
    net::async_write(stream_, buffers,
                     [self = shared_from_this(), framing, more,
                      payload = body_chunk_.size()](error_code ec, size_t) {
                       if (!ec) self->body_written_ += payload;
                       if (ec || !more) return self->on_write(ec, framing.keep_alive, false);
                       self->send_next_chunk(framing);
                     });
  }

  // The body cannot be finished: reset the connection, so that no client takes what it got
  // for the whole body (an HTTP/1.0 body ends with the connection).
  void abort_response() {
    report();
    release_body();
    error_code ignored;
    stream_.socket().set_option(net::socket_base::linger(true, 0), ignored);
    stream_.socket().close(ignored);
  }

  void on_write(error_code ec, bool keep_alive, bool linger) {
    report();
    release_body();
    if (ec) return;
    if (keep_alive) return read_header();
    if (linger) return drain_and_close();
    shutdown_send();
  }

  // Hands the exchange just written (or cut off) to ServerOptions::on_exchange.
  void report() {
    if (!context_.options.on_exchange) return;
    const Exchange exchange{
        head_parsed_ ? &request_ : nullptr, response_,
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                             started_),
        body_written_};
    try {
      context_.options.on_exchange(exchange);
    } catch (...) {
      // A failing observer must not break the connection.
    }
  }

  // Drops the sink (its destructor runs now, not when the connection closes) and the parsers.
  void release_body() {
    response_.body_source.reset();
    std::string().swap(body_chunk_);
    request_.streamed_body = nullptr;
    sink_.reset();
    stream_parser_.reset();
    string_parser_.reset();
    std::vector<char>().swap(chunk_);
  }

  // Sends FIN, then reads and drops what the client still sends until it closes too.
  void drain_and_close() {
    shutdown_send();
    buffer_.consume(buffer_.size());
    stream_.expires_after(std::min(context_.options.io_timeout, kLingerTime));
    drain();
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (!ec) self->drain();
                            });
  }

  // Sends FIN; the socket itself closes once no handler holds this session any more.
  void shutdown_send() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  const ServerContext& context_;
  beast::flat_buffer buffer_;
  // At most one parser is set: the head's until the route is known, then the body's.
  std::optional<bhttp::request_parser<bhttp::empty_body>> head_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> string_parser_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser_;
  wire::RequestFraming framing_;  // of the request being served
  bool expects_continue_ = false;
  std::unique_ptr<BodySink> sink_;  // of a streamed request; lives until its answer is written
  std::vector<char> chunk_;         // receives a streamed body, kStreamChunkBytes at a time
  uint64_t streamed_bytes_ = 0;
  bool head_parsed_ = false;  // request_ holds the head of the request being answered
  std::chrono::steady_clock::time_point started_;  // when its head was read
  uint64_t body_written_ = 0;  // body bytes of the answer written so far (chunk framing aside)
  Request request_;    // reused across requests to keep their allocations
  Response response_;  // must outlive the write of its body
  std::string head_;   // response head being written
  std::string body_chunk_;  // of a streamed response: the piece being written
  std::string chunk_head_;  // its chunk-size line
  std::optional<net::steady_timer> retry_fill_;  // see fill_elsewhere
};

// Accepts connections until the io_context stops; survives accept errors (e.g. EMFILE).
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, tcp::acceptor acceptor, const ServerContext& context)
      : io_(io), acceptor_(std::move(acceptor)), retry_timer_(io), context_(context) {}

  void accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           [self = shared_from_this()](error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

 private:
  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec && ec != net::error::connection_aborted) {
      // Out of descriptors or memory: accepting again at once would spin on the same error.
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->accept();
      });
      return;
    }
    if (!ec) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), context_)->start();
    }
    accept();
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  const ServerContext& context_;
};

std::string host_port(const ServerOptions& options) {
  const bool ipv6 = options.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
}

[[noreturn]] void throw_listen_error(const ServerOptions& options, const error_code& ec) {
  throw std::runtime_error("cannot listen on " + host_port(options) + ": " + ec.message());
}

tcp::acceptor open_acceptor(net::io_context& io, const ServerOptions& options) {
  error_code ec;
  std::vector<tcp::endpoint> endpoints;
  const net::ip::address address = net::ip::make_address(options.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, options.port);
  } else {
    tcp::resolver resolver(io);
    const auto results =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec) throw_listen_error(options, ec);
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  for (const tcp::endpoint& endpoint : endpoints) {
    tcp::acceptor acceptor(io);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) return acceptor;
  }
  throw_listen_error(options, endpoints.empty() ? net::error::host_not_found : ec);
}

// The stop function handed out by `register_stop`; harmless once serve() has returned.
class StopSwitch {
 public:
  explicit StopSwitch(net::io_context& io) : io_(&io) {}
  void stop() {
    const std::lock_guard lock(mutex_);
    if (io_ != nullptr) io_->stop();
  }
  void disconnect() {
    const std::lock_guard lock(mutex_);
    io_ = nullptr;
  }

 private:
  std::mutex mutex_;
  net::io_context* io_;
};

void run_until_stopped(net::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception&) {
      // A failing handler must not take the whole server down; carry on with the others.
    }
  }
}

void run_threads(net::io_context& io, unsigned count) {
  std::vector<std::thread> workers;
  try {
    for (unsigned i = 1; i < count; ++i) workers.emplace_back([&io] { run_until_stopped(io); });
  } catch (...) {
    io.stop();
    for (auto& worker : workers) worker.join();
    throw;
  }
  run_until_stopped(io);
  for (auto& worker : workers) worker.join();
}

}  // namespace

void serve(const ServerOptions& options, Handler handler,
           std::function<void(uint16_t)> on_listening) {
  DeferredAnswers deferred;
  const ServerContext context{options, handler, deferred};
  const unsigned threads = std::max(1u, options.threads);
  net::io_context io(static_cast<int>(threads));
  // Declared after `io`, so it runs before `io` is destroyed, however serve() returns.
  struct WaitForDeferred {
    DeferredAnswers& deferred;
    ~WaitForDeferred() { deferred.wait_all(std::chrono::seconds(120)); }
  } wait_for_deferred{deferred};

  const auto stop_switch = std::make_shared<StopSwitch>(io);
  struct Disconnect {
    StopSwitch& stop_switch;
    ~Disconnect() { stop_switch.disconnect(); }
  } disconnect_on_return{*stop_switch};
  if (options.register_stop) options.register_stop([stop_switch] { stop_switch->stop(); });

  tcp::acceptor acceptor = open_acceptor(io, options);
  const uint16_t port = acceptor.local_endpoint().port();
  std::optional<net::signal_set> signals;
  if (options.handle_signals) {
    signals.emplace(io, SIGINT, SIGTERM);
    signals->async_wait([&io](error_code ec, int) {
      if (!ec) io.stop();
    });
  }
  std::make_shared<Listener>(io, std::move(acceptor), context)->accept();
  if (on_listening) on_listening(port);
  run_threads(io, threads);
}

}  // namespace contacts::http
