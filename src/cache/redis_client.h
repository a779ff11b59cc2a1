// A small Redis client on hiredis for the shared response cache: a pool of connections with
// short timeouts, and a circuit breaker. After any failure (refused, reset, a reply slower
// than the timeout) Redis counts as down: calls return nullopt at once, without touching the
// network, and a background thread tries to reconnect every `retry_interval`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct redisContext;
struct redisReply;

namespace contacts::redis {

// Where Redis is: redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N].
struct Endpoint {
  std::string host;
  int port = 6379;
  std::string unix_path;  // set for unix:// URLs
  std::string username;
  std::string password;
  int db = 0;
  // host:port or the socket path; never the password (for logs).
  std::string describe() const;
};

// Throws std::invalid_argument (without echoing the password) when `url` is not one of the
// forms above.
Endpoint parse_url(std::string_view url);

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Helpers over a reply.
bool is_error(const Reply& r);
// The string of a bulk/status reply; nullopt for nil and other types.
std::optional<std::string_view> string_of(const Reply& r);

struct ClientOptions {
  std::chrono::milliseconds timeout{10};           // connect, and each reply
  std::chrono::milliseconds retry_interval{500};  // reconnect attempts while down
  size_t max_idle = 32;                           // pooled connections kept
  std::function<void()> on_reconnect;             // runs on the retry thread once Redis is back
};

// Thread-safe.
class Client {
 public:
  using Command = std::vector<std::string_view>;

  Client(Endpoint endpoint, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `commands` pipelined (one round trip) and returns their replies in order; nullopt
  // when Redis is down or fails now (then it is marked down). Error replies (a Redis "-ERR")
  // are returned as replies: they do not mark Redis down.
  std::optional<std::vector<Reply>> run(const std::vector<Command>& commands);
  bool up() const { return up_.load(); }

 private:
  using ContextPtr = std::unique_ptr<redisContext, void (*)(redisContext*)>;
  // A connected, authenticated context, or nullptr with `error` set.
  ContextPtr connect(std::string& error) const;
  ContextPtr acquire(std::string& error);
  void release(ContextPtr context);
  void mark_down(const std::string& error);
  void retry_loop();

  const Endpoint endpoint_;
  const ClientOptions options_;
  std::atomic<bool> up_{false};

  std::mutex pool_mutex_;
  std::vector<ContextPtr> idle_;  // guarded by pool_mutex_

  std::mutex state_mutex_;
  std::condition_variable state_cv_;
  bool stopping_ = false;  // guarded by state_mutex_
  std::thread retry_thread_;
};

}  // namespace contacts::redis
