// The HTTP server over real sockets (plain POSIX on the client side, so no Beast here).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/server.h"
#include "http/server_wire.h"
#include "http_test_support.h"

namespace contacts::http {
namespace {

using namespace contacts::http::testing;

TEST(HttpServer, GetWithQueryReachesHandlerSplitIntoPathAndQuery) {
  TestServer server;
  Client client(server.port());
  client.send(get("/api/contacts/?title=cto&limit=5", "X-Probe: yes\r\n"));
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "GET|/api/contacts/|title=cto&limit=5|yes|");
  EXPECT_EQ(response.header("content-type"), "text/plain");
  EXPECT_EQ(response.header("content-length"), std::to_string(response.body.size()));
  EXPECT_EQ(response.header("connection"), "<absent>");
  EXPECT_EQ(response.header("date").size(), 29u);
}

TEST(HttpServer, HeaderNamesAreLowerCasedForTheHandler) {
  TestServer server;
  Client client(server.port());
  client.send(get("/x", "X-PROBE: Mixed Value\r\n"));
  EXPECT_EQ(client.read_response().body, "GET|/x||Mixed Value|");
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer server;
  Client client(server.port());
  client.send(get("/first"));
  EXPECT_EQ(client.read_response().body, "GET|/first|||");
  client.send(get("/second?a=1"));
  EXPECT_EQ(client.read_response().body, "GET|/second|a=1||");
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server;
  Client client(server.port());
  client.send(get("/one") + post("/two", "body") + get("/three"));
  EXPECT_EQ(client.read_response().body, "GET|/one|||");
  EXPECT_EQ(client.read_response().body, "POST|/two|||body");
  EXPECT_EQ(client.read_response().body, "GET|/three|||");
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  TestServer server;
  Client client(server.port());
  client.send(get("/bye", "Connection: close\r\n"));
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveIsAsked) {
  TestServer server;
  {
    Client client(server.port());
    client.send("GET /old HTTP/1.0\r\n\r\n");
    EXPECT_EQ(client.read_response().header("connection"), "close");
    EXPECT_TRUE(client.closed_by_server());
  }
  Client client(server.port());
  client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(client.read_response().header("connection"), "keep-alive");
  client.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(client.read_response().body, "GET|/b|||");
}

TEST(HttpServer, HeadSendsHeadersWithTheBodyLengthButNoBody) {
  TestServer server;
  Client client(server.port());
  client.send("HEAD /thing HTTP/1.1\r\nHost: test\r\n\r\n");
  const ParsedResponse response = client.read_response(/*head_request=*/true);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-length"),
            std::to_string(std::string("HEAD|/thing|||").size()));
  // Nothing else arrives before the next response: the body was not sent.
  client.send(get("/after"));
  EXPECT_EQ(client.read_response().body, "GET|/after|||");
}

TEST(HttpServer, PostBodyIsDelivered) {
  TestServer server;
  Client client(server.port());
  client.send(post("/api/items", R"({"name": "x"})"));
  EXPECT_EQ(client.read_response().body, R"(POST|/api/items|||{"name": "x"})");
}

TEST(HttpServer, ChunkedBodyIsDelivered) {
  TestServer server;
  Client client(server.port());
  client.send(
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(client.read_response().body, "POST|/c|||hello world");
}

TEST(HttpServer, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  TestServer server;
  Client client(server.port());
  client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 100);
  client.send("abc");
  EXPECT_EQ(client.read_response().body, "POST|/up|||abc");
}

TEST(HttpServer, OversizedHeaderGets431AndServerKeepsServing) {
  TestServer server;
  {
    Client client(server.port());
    client.send(get("/", "X-Big: " + std::string(64 * 1024, 'a') + "\r\n"));
    expect_json_error_and_close(client, 431, "Request header fields too large.");
  }
  Client client(server.port());
  client.send(get("/still-there"));
  EXPECT_EQ(client.read_response().body, "GET|/still-there|||");
}

// Contract section 11: a request target over 16 KiB is a 414, header fields over 16 KiB a
// 431, whichever comes first on the wire; either way the server keeps serving.
TEST(HttpServer, LongTargetGets414AndLongFieldsGet431) {
  TestServer server;
  const std::string query(16 * 1024, 'q');
  for (const std::string& target : {"/?" + query, "/?" + query + std::string(64 * 1024, 'x')}) {
    Client client(server.port());
    client.send(get(target));
    expect_json_error_and_close(client, 414, "Request URI too long.");
  }
  {
    SCOPED_TRACE("both too long");
    Client client(server.port());  // both too long: the target is first
    client.send(get("/?" + query, "X-Big: " + std::string(17 * 1024, 'a') + "\r\n"));
    expect_json_error_and_close(client, 414, "Request URI too long.");
  }
  {
    SCOPED_TRACE("fields over");
    Client client(server.port());  // fields just over their limit, a target just under its own
    // (TestServer allows 8 KiB of fields.)
    client.send(get("/" + std::string(15 * 1024, 't'), "X-Big: " + std::string(9 * 1024, 'a') + "\r\n"));
    expect_json_error_and_close(client, 431, "Request header fields too large.");
  }
  {
    Client client(server.port());  // a target of exactly 16 KiB is fine
    client.send(get("/" + std::string(16 * 1024 - 1, 't')));
    EXPECT_EQ(client.read_response().status, 200);
  }
  Client client(server.port());
  client.send(get("/still-there", "X-Request-Id: mine\r\n"));
  EXPECT_EQ(client.read_response().body, "GET|/still-there|||");
}

TEST(HttpServer, LowLevelErrorsEchoAValidRequestId) {
  TestServer server;
  Client client(server.port());
  client.send("POST /c HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc-123\r\nContent-Length: 99999999\r\n\r\n");
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header("x-request-id"), "abc-123");
}

// A deferred answer (http::Response::deferred) is sent when the handler's own thread is done;
// meanwhile the server's one thread answers other connections.
TEST(HttpServer, DeferredAnswersLeaveTheServerThreadsFree) {
  ServerOptions options = TestServer::small_limits();
  options.threads = 1;
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  std::promise<void> slow_started, release_slow;
  std::shared_future<void> released = release_slow.get_future().share();
  auto handler = [&](const Request& request) {
    Response r;
    if (request.path != "/slow") {
      r.body = "quick";
      return r;
    }
    r.deferred = [&](std::function<void(Response)> done) {
      std::lock_guard lock(workers_mutex);
      workers.emplace_back([done, &slow_started, released] {
        slow_started.set_value();
        released.wait();  // the slow answer is held until the quick ones are answered
        Response answer;
        answer.status = 201;
        answer.body = "slow";
        done(std::move(answer));
      });
    };
    return r;
  };
  {
    TestServer server(options, handler);
    Client slow(server.port());
    slow.send(get("/slow"));
    ASSERT_EQ(slow_started.get_future().wait_for(std::chrono::seconds(10)),
              std::future_status::ready);
    for (int i = 0; i < 5; ++i) {
      Client quick(server.port());
      quick.send(get("/quick"));
      EXPECT_EQ(quick.read_response().body, "quick");
    }
    release_slow.set_value();
    const ParsedResponse answer = slow.read_response();
    EXPECT_EQ((std::pair{answer.status, answer.body}), (std::pair{201, std::string("slow")}));
    slow.send(get("/quick"));  // the connection goes on after a deferred answer
    EXPECT_EQ(slow.read_response().body, "quick");
  }
  for (std::thread& t : workers) t.join();
}

TEST(HttpServer, BrokenRequestLineGets400) {
  TestServer server;
  Client client(server.port());
  client.send("GARBAGE\r\n\r\n");
  expect_json_error_and_close(client, 400, "Malformed HTTP request.");
}

TEST(HttpServer, BadHeaderSyntaxGets400) {
  TestServer server;
  Client client(server.port());
  client.send("GET / HTTP/1.1\r\nNo colon here\r\n\r\n");
  expect_json_error_and_close(client, 400, "Malformed HTTP request.");
}

TEST(HttpServer, BadChunkedEncodingGets400) {
  TestServer server;
  Client client(server.port());
  client.send(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n");
  expect_json_error_and_close(client, 400, "Malformed HTTP request.");
}

TEST(HttpServer, BodyOverLimitGets413) {
  TestServer server;  // 4 KiB body limit
  Client client(server.port());
  client.send(post("/big", std::string(64 * 1024, 'b')));
  expect_json_error_and_close(client, 413, "Request body too large.");
}

TEST(HttpServer, ChunkedBodyOverLimitGets413) {
  TestServer server;
  Client client(server.port());
  std::string request = "POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 8; ++i) request += "400\r\n" + std::string(1024, 'c') + "\r\n";
  client.send(request + "0\r\n\r\n");
  expect_json_error_and_close(client, 413, "Request body too large.");
}

TEST(HttpServer, HandlerExceptionGives500WithoutItsText) {
  TestServer server;
  Client client(server.port());
  client.send(get("/throw"));
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.header("content-type"), kJson);
  EXPECT_EQ(
      response.body,
      R"({"detail": "An error occurred while processing the request. Please check your query parameters and try again."})");
  EXPECT_EQ(response.body.find("secret"), std::string::npos);
  // The connection stays usable.
  client.send(get("/ok"));
  EXPECT_EQ(client.read_response().status, 200);
}

TEST(HttpServer, UnusualStatusCodesAreWrittenAsGiven) {
  TestServer server;
  Client client(server.port());
  client.send(get("/status?599") + get("/status?204") + get("/status?42"));
  EXPECT_EQ(client.read_response().status, 599);
  const ParsedResponse no_content = client.read_response();
  EXPECT_EQ(no_content.status, 204);
  EXPECT_EQ(no_content.header("content-length"), "<absent>");
  EXPECT_EQ(client.read_response().status, 500);
}

TEST(HttpServer, IdleConnectionIsClosedAfterTheTimeout) {
  ServerOptions options = TestServer::small_limits();
  options.io_timeout = std::chrono::milliseconds(200);
  TestServer server(options);
  Client client(server.port());
  client.send("GET / HTTP/1.1\r\nHost: slow");  // never finishes the header
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(HttpServer, ConcurrentClientsAllGetTheirOwnAnswers) {
  TestServer server;
  std::atomic<int> correct{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      Client client(server.port());
      for (int i = 0; i < 50; ++i) {
        const std::string query = "t=" + std::to_string(t) + "&i=" + std::to_string(i);
        client.send(get("/c?" + query));
        if (client.read_response().body == "GET|/c|" + query + "||") ++correct;
      }
    });
  }
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(correct.load(), 8 * 50);
}

int count_open_descriptors() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count;
}

// Lowers the descriptor limit and fills it with /dev/null; undone on destruction.
class DescriptorExhaustion {
 public:
  DescriptorExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &original_);
    rlimit low = original_;
    low.rlim_cur = static_cast<rlim_t>(count_open_descriptors() + 16);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) fillers_.push_back(fd);
  }
  ~DescriptorExhaustion() {
    for (const int fd : fillers_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &original_);
  }
  void release_one() {
    ::close(fillers_.back());
    fillers_.pop_back();
  }

 private:
  rlimit original_{};
  std::vector<int> fillers_;
};

TEST(HttpServer, AcceptSurvivesRunningOutOfDescriptors) {
  // One thread, and every code path but the failing accept run once first, so nothing else
  // needs a descriptor while they are exhausted (UBSan's first check of a type opens a pipe).
  ServerOptions options = TestServer::small_limits();
  options.threads = 1;
  TestServer server(options);
  {
    Client warm_up(server.port());
    warm_up.send(get("/warm-up"));
    ASSERT_EQ(warm_up.read_response().status, 200);
  }
  std::optional<Client> client;
  {
    DescriptorExhaustion exhaustion;
    exhaustion.release_one();
    client.emplace(server.port());  // takes the last descriptor: the server's accept gets EMFILE
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  client->send(get("/after-emfile"));
  EXPECT_EQ(client->read_response().body, "GET|/after-emfile|||");
}

TEST(HttpServer, BindFailureThrowsNamingTheAddress) {
  TestServer server;
  ServerOptions options;
  options.port = server.port();
  options.handle_signals = false;
  try {
    serve(options, echo_handler);
    FAIL() << "serve() returned";
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what())
                  .rfind("cannot listen on 127.0.0.1:" + std::to_string(server.port()) + ": ", 0),
              0u)
        << error.what();
  }
}

TEST(HttpServer, SigtermStopsServe) {
  ServerOptions options;
  options.port = 0;
  std::promise<void> listening;
  std::thread thread(
      [&] { serve(options, echo_handler, [&](uint16_t) { listening.set_value(); }); });
  listening.get_future().get();
  std::raise(SIGTERM);
  thread.join();  // hangs (and the test times out) if the signal did not stop serve()
}

TEST(HttpServer, StopBeforeRunningReturnsRightAfterListening) {
  ServerOptions options;
  options.port = 0;
  options.handle_signals = false;
  options.register_stop = [](std::function<void()> stop) { stop(); };
  bool listened = false;
  serve(options, echo_handler, [&](uint16_t) { listened = true; });
  EXPECT_TRUE(listened);
}

// Streamed bodies (ServerOptions::route_body).

// Counts and hashes (FNV-1a) what it receives; `fail_after` bytes in, write() returns false.
class HashingSink : public BodySink {
 public:
  explicit HashingSink(std::atomic<int>& live, uint64_t fail_after = UINT64_MAX)
      : live_(live), fail_after_(fail_after) {
    ++live_;
  }
  ~HashingSink() override { --live_; }
  bool write(std::string_view bytes) override {
    for (const char c : bytes) hash_ = (hash_ ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    bytes_ += bytes.size();
    ++writes_;
    return bytes_ < fail_after_;
  }
  std::string summary() const {
    return "bytes=" + std::to_string(bytes_) + " hash=" + std::to_string(hash_);
  }

 private:
  std::atomic<int>& live_;
  const uint64_t fail_after_;
  uint64_t hash_ = 14695981039346656037ULL;
  uint64_t bytes_ = 0;
  uint64_t writes_ = 0;
};

std::string expected_summary(const std::string& body) {
  std::atomic<int> live{0};
  HashingSink sink(live);
  sink.write(body);
  return sink.summary();
}

// /upload streams to a HashingSink, /fail-sink to one that refuses its first 1000 bytes,
// /reject is refused from its head; everything else is read into memory and echoed.
class StreamingServer {
 public:
  explicit StreamingServer(uint64_t max_streamed = 64ULL * 1024 * 1024)
      : server_(options(max_streamed), [](const Request& request) -> Response {
          if (request.streamed_body == nullptr) return echo_handler(request);
          Response response;
          response.body =
              request.path + " " + dynamic_cast<HashingSink&>(*request.streamed_body).summary();
          return response;
        }) {}
  uint16_t port() const { return server_.port(); }
  int live_sinks() const { return live_sinks_.load(); }
  int routed() const { return routed_.load(); }

 private:
  ServerOptions options(uint64_t max_streamed) {
    ServerOptions options = TestServer::small_limits();
    options.max_streamed_body_bytes = max_streamed;
    options.route_body = [this](const Request& head) {
      ++routed_;
      BodyRoute route;
      if (head.path == "/upload") route.sink = std::make_unique<HashingSink>(live_sinks_);
      if (head.path == "/fail-sink") route.sink = std::make_unique<HashingSink>(live_sinks_, 1000);
      if (head.path == "/reject") {
        route.reject.emplace();
        route.reject->status = 403;
        route.reject->body = "no uploads here";
      }
      return route;
    };
    return options;
  }

  std::atomic<int> live_sinks_{0};
  std::atomic<int> routed_{0};
  TestServer server_;  // last: stopped before the counters go
};

std::string test_payload(size_t size) {
  std::string payload(size, '\0');
  uint64_t state = 88172645463325252ULL;
  for (char& c : payload) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    c = static_cast<char>(state);
  }
  return payload;
}

std::string chunked(const std::string& body, size_t chunk_size) {
  std::string out;
  char size_line[32];
  for (size_t at = 0; at < body.size(); at += chunk_size) {
    const size_t n = std::min(chunk_size, body.size() - at);
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
    out += size_line;
    out.append(body, at, n);
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

// Polls until the server has dropped every sink (it does so right after writing the answer).
bool sinks_released(const StreamingServer& server) {
  for (int i = 0; i < 200 && server.live_sinks() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return server.live_sinks() == 0;
}

TEST(HttpServerStreaming, ContentLengthUploadArrivesByteIdentical) {
  StreamingServer server;
  const std::string payload = test_payload(20 * 1024 * 1024 + 7);
  Client client(server.port());
  client.send(post("/upload", payload));
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "/upload " + expected_summary(payload));
  EXPECT_EQ(response.header("connection"), "<absent>");
  EXPECT_TRUE(sinks_released(server));
}

TEST(HttpServerStreaming, ChunkedUploadArrivesByteIdentical) {
  StreamingServer server;
  const std::string payload = test_payload(20 * 1024 * 1024 + 3);
  Client client(server.port());
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
              chunked(payload, 100'000));
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "/upload " + expected_summary(payload));
}

TEST(HttpServerStreaming, KeepAliveContinuesAfterStreamedRequests) {
  StreamingServer server;
  Client client(server.port());
  const std::string first = test_payload(300'000);
  client.send(post("/upload", first));
  EXPECT_EQ(client.read_response().body, "/upload " + expected_summary(first));
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
              chunked("abc", 2) + post("/upload", "") + post("/echo", "small"));
  EXPECT_EQ(client.read_response().body, "/upload " + expected_summary("abc"));
  EXPECT_EQ(client.read_response().body, "/upload " + expected_summary(""));
  EXPECT_EQ(client.read_response().body, "POST|/echo|||small");
  EXPECT_TRUE(sinks_released(server));
}

TEST(HttpServerStreaming, ExpectContinueIsAnsweredBeforeAStreamedBody) {
  StreamingServer server;
  Client client(server.port());
  client.send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 100);
  client.send("hello");
  EXPECT_EQ(client.read_response().body, "/upload " + expected_summary("hello"));
}

TEST(HttpServerStreaming, RejectedRouteIsAnsweredWithoutReadingTheBody) {
  StreamingServer server;
  Client client(server.port());
  // A body that never comes, and no 100 Continue: the answer can only come from the head.
  client.send(
      "POST /reject HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000000\r\n"
      "Expect: 100-continue\r\n\r\n");
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.body, "no uploads here");
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpServerStreaming, ContentLengthOverTheStreamLimitGets413AtOnce) {
  StreamingServer server(1024 * 1024);
  Client client(server.port());
  client.send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n"
      "Expect: 100-continue\r\n\r\n");
  expect_json_error_and_close(client, 413, "Request body too large.");
  EXPECT_TRUE(sinks_released(server));
}

TEST(HttpServerStreaming, ChunkedBodyOverTheStreamLimitGets413) {
  StreamingServer server(1024 * 1024);
  Client client(server.port());
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
              chunked(test_payload(2 * 1024 * 1024), 10'000));
  expect_json_error_and_close(client, 413, "Request body too large.");
  EXPECT_TRUE(sinks_released(server));
}

TEST(HttpServerStreaming, BodyAtTheStreamLimitIsAccepted) {
  StreamingServer server(1024 * 1024);
  const std::string payload = test_payload(1024 * 1024);
  Client client(server.port());
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
              chunked(payload, 10'000));
  EXPECT_EQ(client.read_response().body, "/upload " + expected_summary(payload));
}

TEST(HttpServerStreaming, SinkRefusingTheBodyGets400) {
  StreamingServer server;
  Client client(server.port());
  client.send(post("/fail-sink", test_payload(1024 * 1024)));
  expect_json_error_and_close(client, 400, "Malformed request body.");
  EXPECT_TRUE(sinks_released(server));
}

TEST(HttpServerStreaming, RoutesWithoutASinkKeepTheInMemoryBodyAndItsLimit) {
  StreamingServer server;
  {
    Client client(server.port());
    client.send(post("/echo", "in memory") + get("/x"));
    EXPECT_EQ(client.read_response().body, "POST|/echo|||in memory");
    EXPECT_EQ(client.read_response().body, "GET|/x|||");
  }
  EXPECT_EQ(server.routed(), 2);
  Client client(server.port());
  client.send(post("/echo", std::string(64 * 1024, 'b')));  // max_body_bytes is 4 KiB
  expect_json_error_and_close(client, 413, "Request body too large.");
}

TEST(HttpServerStreaming, EachChunkReadHasItsOwnDeadline) {
  std::atomic<int> live{0};
  ServerOptions options = TestServer::small_limits();
  options.io_timeout = std::chrono::milliseconds(300);
  options.route_body = [&live](const Request&) {
    BodyRoute route;
    route.sink = std::make_unique<HashingSink>(live);
    return route;
  };
  TestServer server(options, [](const Request& request) {
    Response response;
    response.body = dynamic_cast<HashingSink&>(*request.streamed_body).summary();
    return response;
  });
  Client client(server.port());
  client.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n");
  for (int i = 0; i < 10; ++i) {  // 1 s in all, well over one io_timeout
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    client.send("x");
  }
  EXPECT_EQ(client.read_response().body, expected_summary(std::string(10, 'x')));
}

TEST(HttpServerWire, HandlerHeadersThatWouldBreakFramingAreDropped) {
  Response response;
  response.status = 201;
  response.body = "abc";
  response.headers = {{"Content-Length", "99"}, {"X-Split", "a\r\nInjected: yes"},
                      {"Bad Name", "v"},        {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
                      {"X-Ok", "fine"},         {"Connection", "close"}};
  std::string head;
  const wire::ResponseFraming framing = wire::write_response_head(
      response, "Created", wire::RequestFraming{false, true, false}, head);
  EXPECT_EQ(head,
            "HTTP/1.1 201 Created\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nX-Ok: fine\r\n"
            "Content-Length: 3\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(framing.send_body);
  EXPECT_FALSE(framing.keep_alive);
}

TEST(HttpServerWire, HttpDateIsImfFixdate) {
  EXPECT_EQ(wire::format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpServerWire, SetHeaderReplacesCaseInsensitively) {
  Response response;
  response.headers = {{"content-type", "a"}, {"X", "1"}, {"CONTENT-TYPE", "b"}};
  response.set_header("Content-Type", "c");
  response.set_header("Allow", "GET");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"content-type", "c"}, {"X", "1"}, {"Allow", "GET"}};
  EXPECT_EQ(response.headers, expected);
}

TEST(HttpServerWire, RequestHeaderFindsTheFirstByLowerCaseName) {
  Request request;
  request.headers = {{"accept", "a"}, {"x-id", "1"}, {"x-id", "2"}};
  ASSERT_NE(request.header("x-id"), nullptr);
  EXPECT_EQ(*request.header("x-id"), "1");
  EXPECT_EQ(request.header("missing"), nullptr);
}

}  // namespace
}  // namespace contacts::http
