// The HTTP server over real sockets (plain POSIX on the client side, so no Beast here).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "http/server_wire.h"

namespace contacts::http {
namespace {

// Echoes what the server parsed, so tests can check the Request it built.
Response echo_handler(const Request& request) {
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

// A blocking client connection with a 5 s receive timeout, so a broken server fails a test
// instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket");
    const timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect");
    }
  }
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

std::string get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

std::string post(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

constexpr const char* kJson = "application/json; charset=utf-8";

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

void expect_json_error_and_close(Client& client, int status, const std::string& detail) {
  const ParsedResponse response = client.read_response();
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(response.header("content-type"), kJson);
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_EQ(response.body, R"({"detail": ")" + detail + R"("})");
  EXPECT_TRUE(client.closed_by_server());
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
