#include "cache/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <charconv>
#include <stdexcept>

#include "util/log.h"
#include "util/text.h"

namespace contacts::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = text::hex_digit_value(s[i + 1]), lo = text::hex_digit_value(s[i + 2]);
      if (hi < 0 || lo < 0) throw std::invalid_argument("bad percent-encoding in the credentials");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '%') {
      throw std::invalid_argument("bad percent-encoding in the credentials");
    } else {
      out += s[i];
    }
  }
  return out;
}

int parse_int(std::string_view s, int lo, int hi, const char* what) {
  int v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    throw std::invalid_argument(std::string("invalid ") + what);
  }
  return v;
}

void free_context(redisContext* c) {
  if (c) redisFree(c);
}

}  // namespace

void ReplyDeleter::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

bool is_error(const Reply& r) { return !r || r->type == REDIS_REPLY_ERROR; }

std::optional<std::string_view> string_of(const Reply& r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return std::nullopt;
  return std::string_view(r->str, r->len);
}

std::string Endpoint::describe() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

Endpoint parse_url(std::string_view url) {
  Endpoint ep;
  constexpr std::string_view kRedis = "redis://", kUnix = "unix://";
  if (url.substr(0, kUnix.size()) == kUnix) {
    std::string_view rest = url.substr(kUnix.size());
    if (const size_t q = rest.find('?'); q != std::string_view::npos) {
      const std::string_view query = rest.substr(q + 1);
      rest = rest.substr(0, q);
      if (query.substr(0, 3) != "db=") throw std::invalid_argument("unix:// URLs take only ?db=N");
      ep.db = parse_int(query.substr(3), 0, 1 << 20, "database number");
    }
    if (rest.empty() || rest[0] != '/') {
      throw std::invalid_argument("expected unix:///absolute/path/to/redis.sock");
    }
    ep.unix_path = std::string(rest);
    return ep;
  }
  if (url.substr(0, kRedis.size()) != kRedis) {
    throw std::invalid_argument("expected redis://[[user]:password@]host[:port][/db] or unix:///path");
  }
  std::string_view rest = url.substr(kRedis.size());
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) ep.db = parse_int(db, 0, 1 << 20, "database number");
    rest = rest.substr(0, slash);
  }
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      ep.password = percent_decode(cred);  // redis://password@host, as some clients accept
    } else {
      ep.username = percent_decode(cred.substr(0, colon));
      ep.password = percent_decode(cred.substr(colon + 1));
    }
  }
  std::string_view port;
  if (!rest.empty() && rest[0] == '[') {  // [IPv6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in the host");
    ep.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw std::invalid_argument("unexpected text after the host");
      port = after.substr(1);
    }
  } else {
    const size_t colon = rest.find(':');
    ep.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (ep.host.empty()) throw std::invalid_argument("the URL names no host");
  if (!port.empty()) ep.port = parse_int(port, 1, 65535, "port");
  return ep;
}

Client::Client(Endpoint endpoint, ClientOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  std::string error;
  if (ContextPtr c = connect(error)) {
    release(std::move(c));
    up_ = true;
  } else {
    log_event("warn", "redis unavailable at start; answering without the shared cache until it is back",
              endpoint_.describe() + ": " + error);
  }
  retry_thread_ = std::thread([this] { retry_loop(); });
}

Client::~Client() {
  {
    std::lock_guard lock(state_mutex_);
    stopping_ = true;
  }
  state_cv_.notify_all();
  retry_thread_.join();
}

Client::ContextPtr Client::connect(std::string& error) const {
  const timeval tv = to_timeval(options_.timeout);
  ContextPtr c(endpoint_.unix_path.empty()
                   ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv)
                   : redisConnectUnixWithTimeout(endpoint_.unix_path.c_str(), tv),
               free_context);
  if (!c) {
    error = "out of memory";
    return {nullptr, free_context};
  }
  if (c->err) {
    error = c->errstr;
    return {nullptr, free_context};
  }
  if (redisSetTimeout(c.get(), tv) != REDIS_OK) {
    error = "could not set the timeout";
    return {nullptr, free_context};
  }
  const auto command = [&](const Command& args) -> bool {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      error = c->errstr;
      return false;
    }
    if (is_error(r)) {
      error = std::string(r->str, r->len);  // Redis' message; it never contains the password
      return false;
    }
    return true;
  };
  if (!endpoint_.password.empty()) {
    const bool ok = endpoint_.username.empty()
                        ? command({"AUTH", endpoint_.password})
                        : command({"AUTH", endpoint_.username, endpoint_.password});
    if (!ok) return {nullptr, free_context};
  }
  if (endpoint_.db != 0) {
    const std::string db = std::to_string(endpoint_.db);
    if (!command({"SELECT", db})) return {nullptr, free_context};
  }
  if (!command({"PING"})) return {nullptr, free_context};
  return c;
}

Client::ContextPtr Client::acquire(std::string& error) {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      ContextPtr c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return connect(error);
}

void Client::release(ContextPtr context) {
  std::lock_guard lock(pool_mutex_);
  if (idle_.size() < options_.max_idle) idle_.push_back(std::move(context));
}

std::optional<std::vector<Reply>> Client::run(const std::vector<Command>& commands) {
  if (!up_) return std::nullopt;
  std::string error;
  ContextPtr c = acquire(error);
  if (!c) {
    mark_down(error);
    return std::nullopt;
  }
  for (const Command& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      mark_down(c->errstr);
      return std::nullopt;
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c.get(), &raw) != REDIS_OK || raw == nullptr) {
      // A timeout leaves the connection mid-reply: it is dropped with the context.
      // (a timeout reads "Resource temporarily unavailable")
      mark_down(c->errstr);
      return std::nullopt;
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  release(std::move(c));
  return replies;
}

void Client::mark_down(const std::string& error) {
  {
    std::lock_guard lock(pool_mutex_);
    idle_.clear();  // the other pooled connections most likely share the fate
  }
  if (!up_.exchange(false)) return;
  log_event("warn", "redis unavailable; answering without the shared cache until it is back",
            endpoint_.describe() + ": " + error);
  state_cv_.notify_all();
}

void Client::retry_loop() {
  std::unique_lock lock(state_mutex_);
  while (!stopping_) {
    if (up_) {
      state_cv_.wait(lock, [this] { return stopping_ || !up_; });
      continue;
    }
    if (state_cv_.wait_for(lock, options_.retry_interval, [this] { return stopping_; })) break;
    lock.unlock();
    std::string error;
    if (ContextPtr c = connect(error)) {
      release(std::move(c));
      up_ = true;
      log_event("info", "redis available again at " + endpoint_.describe());
      if (options_.on_reconnect) options_.on_reconnect();
    }
    lock.lock();
  }
}

}  // namespace contacts::redis
