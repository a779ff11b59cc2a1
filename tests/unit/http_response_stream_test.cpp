// Streamed responses (http::BodySource) over real sockets: chunked framing, HEAD, HTTP/1.0,
// failures mid-body, backpressure from a client that does not read, clients that go away.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "http/server_wire.h"
#include "http_test_support.h"
#include "util/work_pool.h"

namespace contacts::http {
namespace {

using namespace contacts::http::testing;
using Clock = std::chrono::steady_clock;

// What the sources of one test did, shared with the test thread.
struct SourceLog {
  std::atomic<int> fills{0};
  std::atomic<int> destroyed{0};
  std::atomic<int> fills_on_pool{0};  // fills that ran on a pool of pooled_handler
  std::atomic<int> refused{0};        // fills pooled_handler's runner refused
};

// Set on the threads of pooled_handler's pool while they run a fill.
thread_local bool on_fill_pool = false;

// Hands out `pieces` pieces of `piece_bytes` bytes ("<n>:xxx...", n from 1), with no piece
// every third call (to check that empty ones are skipped), then ends; pieces < 0: never ends.
// With `throw_at` > 0, the fill of that piece throws instead.
class CountingSource : public BodySource {
 public:
  CountingSource(SourceLog& log, int pieces, size_t piece_bytes, int throw_at = 0)
      : log_(log), pieces_(pieces), piece_bytes_(piece_bytes), throw_at_(throw_at) {}
  ~CountingSource() override { ++log_.destroyed; }

  bool fill(std::string& out, size_t max_bytes) override {
    ++log_.fills;
    if (on_fill_pool) ++log_.fills_on_pool;
    EXPECT_GT(max_bytes, 0u);
    out.clear();
    if (++calls_ % 3 == 0) return true;  // nothing this time
    ++served_;
    if (served_ == throw_at_) throw std::runtime_error("store went away");
    out = std::to_string(served_) + ":";
    out.resize(piece_bytes_, 'x');
    return pieces_ < 0 || served_ < pieces_;
  }

  static std::string expected_body(int pieces, size_t piece_bytes) {
    std::string body;
    for (int i = 1; i <= pieces; ++i) {
      std::string piece = std::to_string(i) + ":";
      piece.resize(piece_bytes, 'x');
      body += piece;
    }
    return body;
  }

 private:
  SourceLog& log_;
  const int pieces_;
  const size_t piece_bytes_;
  const int throw_at_;
  int calls_ = 0;
  int served_ = 0;
};

// /stream?<pieces>,<piece_bytes>[,<throw_at>] streams a CountingSource; anything else echoes.
Handler streaming_handler(SourceLog& log) {
  return [&log](const Request& request) {
    if (request.path != "/stream") return echo_handler(request);
    int pieces = 0, throw_at = 0;
    size_t bytes = 0;
    std::sscanf(request.query.c_str(), "%d,%zu,%d", &pieces, &bytes, &throw_at);
    Response response;
    response.set_header("Content-Type", "text/csv");
    response.set_header("Content-Length", "123");  // dropped: the body is streamed
    response.body = "ignored";
    response.body_source = std::make_unique<CountingSource>(log, pieces, bytes, throw_at);
    return response;
  };
}

// streaming_handler whose sources are filled on `pool` (Response::fill_runner), the runner
// refusing every third job (the server must ask again).
Handler pooled_handler(SourceLog& log, WorkPool& pool) {
  return [&log, &pool, plain = streaming_handler(log)](const Request& request) {
    Response response = plain(request);
    if (!response.body_source) return response;
    auto calls = std::make_shared<std::atomic<int>>(0);
    response.fill_runner = [&log, &pool, calls](std::function<void()> job) {
      if (++*calls % 3 == 0) {
        ++log.refused;
        return false;
      }
      return pool.submit([job = std::move(job)] {
        on_fill_pool = true;
        job();
        on_fill_pool = false;
      });
    };
    return response;
  };
}

// Decodes a chunked body from `raw` (the bytes after the head); false when it is incomplete
// (no last chunk) or malformed. Sets `chunks` to the number of data chunks.
bool decode_chunked(const std::string& raw, std::string& body, int& chunks) {
  body.clear();
  chunks = 0;
  size_t at = 0;
  for (;;) {
    const size_t eol = raw.find("\r\n", at);
    if (eol == std::string::npos || eol == at) return false;
    const size_t size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
    at = eol + 2;
    if (size == 0) return raw.compare(at, 2, "\r\n") == 0;
    if (raw.size() < at + size + 2 || raw.compare(at + size, 2, "\r\n") != 0) return false;
    body.append(raw, at, size);
    ++chunks;
    at += size + 2;
  }
}

// Reads until the connection ends (EOF, reset or the client's 5 s timeout); returns it all.
std::string read_all(int fd) {
  std::string out;
  char buffer[65536];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, n);
  return out;
}

// A connection whose bytes a test reads itself: the tests below need to stop reading, read
// raw chunked bytes, or close with data unread.
class RawClient {
 public:
  explicit RawClient(uint16_t port, int receive_buffer = 0)
      : fd_(connect_loopback(port, receive_buffer)) {}
  ~RawClient() { close(); }
  void send(const std::string& data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // Reads exactly until the blank line after the head; returns the head.
  std::string read_head() {
    std::string head;
    char c;
    while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
      if (::recv(fd_, &c, 1, 0) != 1) throw std::runtime_error("no head");
      head.push_back(c);
    }
    return head;
  }
  std::string read_rest() { return read_all(fd_); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Sends a pipelined "GET /after" (closing) and reads to the end: returns the streamed body
// answered before it, decoded (`chunks`: its data chunks); checks that "/after" came next.
std::string body_before_next_answer(RawClient& client, int& chunks) {
  client.send(get("/after", "Connection: close\r\n"));
  const std::string rest = client.read_rest();
  const size_t next = rest.find("HTTP/1.1 200 OK\r\n");
  std::string body;
  chunks = 0;
  EXPECT_NE(next, std::string::npos);
  if (next == std::string::npos) return body;
  EXPECT_TRUE(decode_chunked(rest.substr(0, next), body, chunks)) << "incomplete chunked body";
  EXPECT_NE(rest.find("GET|/after|||", next), std::string::npos);
  return body;
}

TEST(HttpResponseStream, BodyArrivesInChunksAndTheConnectionStaysUsable) {
  SourceLog log;
  TestServer server(TestServer::small_limits(), streaming_handler(log));
  RawClient client(server.port());
  client.send(get("/stream?40,50000"));
  const std::string head = client.read_head();
  EXPECT_NE(head.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/csv\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  EXPECT_EQ(head.find("Connection"), std::string::npos) << head;
  // The next request, pipelined, is answered after the streamed body ends.
  int chunks = 0;
  EXPECT_EQ(body_before_next_answer(client, chunks), CountingSource::expected_body(40, 50000));
  EXPECT_EQ(chunks, 40);  // empty pieces are not sent (a 0-size chunk would end the body)
  EXPECT_EQ(log.destroyed.load(), 1);
}

TEST(HttpResponseStream, HeadGetsTheSameHeadAndTheSourceIsNeverAsked) {
  SourceLog log;
  TestServer server(TestServer::small_limits(), streaming_handler(log));
  Client client(server.port());
  client.send("HEAD /stream?5,100 HTTP/1.1\r\nHost: t\r\n\r\n");
  const ParsedResponse response = client.read_response(/*head_request=*/true);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("transfer-encoding"), "chunked");
  EXPECT_EQ(response.header("content-length"), "<absent>");
  client.send(get("/next"));
  EXPECT_EQ(client.read_response().body, "GET|/next|||");
  EXPECT_EQ(log.fills.load(), 0);
  EXPECT_EQ(log.destroyed.load(), 1);
}

TEST(HttpResponseStream, Http10GetsTheRawBodyUntilTheConnectionCloses) {
  SourceLog log;
  TestServer server(TestServer::small_limits(), streaming_handler(log));
  RawClient client(server.port());
  client.send("GET /stream?7,1000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const std::string head = client.read_head();
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  EXPECT_EQ(client.read_rest(), CountingSource::expected_body(7, 1000));
}

TEST(HttpResponseStream, FailureMidBodyCutsTheBodyShortAndTheServerCarriesOn) {
  SourceLog log;
  TestServer server(TestServer::small_limits(), streaming_handler(log));
  {
    RawClient client(server.port());
    client.send(get("/stream?10,1000,4"));
    client.read_head();
    std::string body;
    int chunks = 0;
    EXPECT_FALSE(decode_chunked(client.read_rest(), body, chunks));  // no last chunk
    EXPECT_EQ(body, CountingSource::expected_body(3, 1000));
  }
  EXPECT_EQ(log.destroyed.load(), 1);
  Client client(server.port());
  client.send(get("/ok"));
  EXPECT_EQ(client.read_response().status, 200);
}

TEST(HttpResponseStream, AClientThatDoesNotReadHoldsTheServerBackNotItsMemory) {
  SourceLog log;
  TestServer server(TestServer::small_limits(), streaming_handler(log));
  RawClient client(server.port(), /*receive_buffer=*/64 * 1024);
  client.send(get("/stream?-1,60000"));  // endless
  client.read_head();
  // The socket buffers fill up, then the server stops asking for more.
  int settled = -1;
  ASSERT_TRUE(wait_until(
      [&] {
        const int before = log.fills.load();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        settled = log.fills.load();
        return settled == before && settled > 0;
      },
      std::chrono::seconds(10)));
  // What was produced is what the kernel buffers hold (a few MiB at most), not more.
  EXPECT_LT(settled, 400) << "pieces of 60 kB produced for a client that reads nothing";
  // Closing with unread data resets the connection: the pending write fails and the source
  // is released at once.
  client.close();
  EXPECT_TRUE(wait_until([&] { return log.destroyed.load() == 1; }, std::chrono::seconds(3)));
  Client another(server.port());
  another.send(get("/still-serving"));
  EXPECT_EQ(another.read_response().body, "GET|/still-serving|||");
}

TEST(HttpResponseStream, AClientThatLeavesMidBodyReleasesTheSource) {
  SourceLog log;
  TestServer server(TestServer::small_limits(), streaming_handler(log));
  for (int i = 0; i < 5; ++i) {
    RawClient client(server.port());
    client.send(get("/stream?-1,30000"));
    client.read_head();
    client.close();
  }
  EXPECT_TRUE(wait_until([&] { return log.destroyed.load() == 5; }, std::chrono::seconds(3)));
}

TEST(HttpResponseStream, AStalledClientIsDroppedAfterTheWriteDeadline) {
  SourceLog log;
  ServerOptions options = TestServer::small_limits();
  options.io_timeout = std::chrono::milliseconds(300);
  TestServer server(options, streaming_handler(log));
  RawClient client(server.port(), /*receive_buffer=*/16 * 1024);
  client.send(get("/stream?-1,60000"));
  client.read_head();
  EXPECT_TRUE(wait_until([&] { return log.destroyed.load() == 1; }, std::chrono::seconds(5)));
}

TEST(HttpResponseStream, AFillRunnerFillsEveryPieceOffTheServerThreads) {
  SourceLog log;
  WorkPool pool(1, 16);
  TestServer server(TestServer::small_limits(), pooled_handler(log, pool));
  RawClient client(server.port());
  client.send(get("/stream?30,20000"));
  client.read_head();
  int chunks = 0;
  EXPECT_EQ(body_before_next_answer(client, chunks), CountingSource::expected_body(30, 20000));
  EXPECT_EQ(chunks, 30);
  EXPECT_EQ(log.fills_on_pool.load(), log.fills.load());
  EXPECT_EQ(log.fills.load(), 44);   // 30 pieces and the 14 empty ones between them
  EXPECT_GT(log.refused.load(), 0);  // refused fills were asked for again
  EXPECT_EQ(log.destroyed.load(), 1);
}

TEST(HttpResponseStream, AFillRunnerFailureCutsTheBodyShort) {
  SourceLog log;
  WorkPool pool(2, 16);
  TestServer server(TestServer::small_limits(), pooled_handler(log, pool));
  RawClient client(server.port());
  client.send(get("/stream?10,1000,5"));
  client.read_head();
  std::string body;
  int chunks = 0;
  EXPECT_FALSE(decode_chunked(client.read_rest(), body, chunks));
  EXPECT_EQ(body, CountingSource::expected_body(4, 1000));
  EXPECT_TRUE(wait_until([&] { return log.destroyed.load() == 1; }, std::chrono::seconds(3)));
}

TEST(HttpResponseStream, TheServerStopsWhilePooledBodiesStream) {
  SourceLog log;
  WorkPool pool(2, 64);  // outlives the server, as the application's pools do
  std::vector<std::unique_ptr<RawClient>> clients;
  {
    TestServer server(TestServer::small_limits(), pooled_handler(log, pool));
    for (int i = 0; i < 4; ++i) {
      clients.push_back(std::make_unique<RawClient>(server.port()));
      clients.back()->send(get("/stream?-1,30000"));  // endless
      clients.back()->read_head();
    }
    ASSERT_TRUE(wait_until([&] { return log.fills_on_pool.load() > 20; }, std::chrono::seconds(5)));
    // ~TestServer stops the server while fills are queued or running on the pool.
  }
  EXPECT_EQ(log.destroyed.load(), 4);  // every source released by the time serve() returned
}

TEST(HttpServerWire, StreamedHeadSaysChunkedOrCloses) {
  SourceLog log;
  Response response;
  response.body = "ignored";
  response.body_source = std::make_unique<CountingSource>(log, 1, 1);
  std::string head;
  wire::ResponseFraming f =
      wire::write_response_head(response, "OK", wire::RequestFraming{false, true, false}, head);
  EXPECT_TRUE(f.send_body && f.keep_alive && f.chunked);
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  f = wire::write_response_head(response, "OK", wire::RequestFraming{false, true, true}, head);
  EXPECT_TRUE(f.send_body && !f.keep_alive && !f.chunked);
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  f = wire::write_response_head(response, "OK", wire::RequestFraming{true, true, false}, head);
  EXPECT_TRUE(!f.send_body && f.keep_alive);
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
}

TEST(HttpServerWire, ChunkSizeLineIsLowerCaseHex) {
  std::string line;
  wire::write_chunk_size(8000, line);
  EXPECT_EQ(line, "1f40\r\n");
  wire::write_chunk_size(1, line);
  EXPECT_EQ(line, "1\r\n");
  wire::write_chunk_size(65536, line);
  EXPECT_EQ(line, "10000\r\n");
}

}  // namespace
}  // namespace contacts::http
