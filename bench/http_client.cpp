#include "http_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

namespace contacts::bench {
namespace {

constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool contains_token(std::string_view list, std::string_view token) {
  const std::string l = lower(list);
  size_t start = 0;
  while (start <= l.size()) {
    size_t end = l.find(',', start);
    if (end == std::string::npos) end = l.size();
    if (trim(std::string_view(l).substr(start, end - start)) == token) return true;
    start = end + 1;
  }
  return false;
}

bool parse_decimal(std::string_view s, long long& out) {
  s = trim(s);
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && out >= 0;
}

void set_timeout(int fd, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string errno_text(const char* what) {
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS) {
    return std::string(what) + ": timeout";
  }
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

std::string build_get_request(const Endpoint& endpoint, std::string_view target,
                              const std::vector<std::string>& headers) {
  std::string request = "GET ";
  request.append(target);
  request += " HTTP/1.1\r\nHost: " + endpoint.host + ":" + std::to_string(endpoint.port) +
             "\r\nConnection: keep-alive\r\nAccept: application/json\r\n" +
             "User-Agent: contacts-bench\r\n";
  for (const std::string& header : headers) request += header + "\r\n";
  request += "\r\n";
  return request;
}

HttpConnection::HttpConnection(Endpoint endpoint, double timeout_s)
    : endpoint_(std::move(endpoint)), timeout_s_(timeout_s) {}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  reused_ = false;
  eof_ = false;
  buffer_.clear();
}

bool HttpConnection::open(std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint_.port);
  const int rc = getaddrinfo(endpoint_.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    error = std::string("resolve: ") + gai_strerror(rc);
    return false;
  }
  error = "connect: no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    set_timeout(fd, timeout_s_);  // Linux applies SO_SNDTIMEO to connect() as well
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      break;
    }
    error = errno_text("connect");
    ::close(fd);
  }
  freeaddrinfo(found);
  return fd_ >= 0;
}

bool HttpConnection::send_all(std::string_view data, std::string& error) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno_text("send");
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool HttpConnection::fill(std::string& error) {
  if (eof_) {
    error = "connection closed by server";
    return false;
  }
  char chunk[kReadChunk];
  for (;;) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      error = "connection closed by server";
      return false;
    }
    if (errno == EINTR) continue;
    error = errno_text("recv");
    return false;
  }
}

bool HttpConnection::read_line(std::string& line, std::string& error) {
  size_t end;
  while ((end = buffer_.find("\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeadBytes) {
      error = "line too long";
      return false;
    }
    if (!fill(error)) return false;
  }
  line.assign(buffer_, 0, end);
  buffer_.erase(0, end + 2);
  return true;
}

bool HttpConnection::read_exact(size_t n, std::string& error) {
  while (buffer_.size() < n) {
    if (!fill(error)) return false;
  }
  buffer_.erase(0, n);
  return true;
}

bool HttpConnection::read_head(Head& head, std::string& error) {
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeadBytes) {
      error = "response head too large";
      return false;
    }
    if (!fill(error)) return false;
  }
  const std::string_view text = std::string_view(buffer_).substr(0, end + 2);
  const size_t line_end = text.find("\r\n");
  const std::string_view status_line = text.substr(0, line_end);
  // "HTTP/1.1 200 OK": version, space, three digits.
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ') {
    error = "malformed status line";
    return false;
  }
  const std::string_view version = status_line.substr(5, 3);
  const auto [ptr, ec] =
      std::from_chars(status_line.data() + 9, status_line.data() + 12, head.status);
  if (ec != std::errc() || ptr != status_line.data() + 12 || head.status < 100) {
    error = "malformed status code";
    return false;
  }
  bool keep_alive = version != "1.0";
  size_t pos = line_end + 2;
  while (pos < text.size()) {
    const size_t eol = text.find("\r\n", pos);
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      if (!parse_decimal(value, head.content_length)) {
        error = "invalid Content-Length";
        return false;
      }
    } else if (name == "transfer-encoding") {
      head.chunked = contains_token(value, "chunked");
    } else if (name == "connection") {
      if (contains_token(value, "close")) keep_alive = false;
      if (contains_token(value, "keep-alive")) keep_alive = true;
    } else if (name == "x-cache-hit") {
      head.cache_hit = lower(value) == "true";
    }
  }
  head.close = !keep_alive;
  buffer_.erase(0, end + 4);
  return true;
}

bool HttpConnection::read_chunked(size_t& body_bytes, std::string& error) {
  std::string line;
  for (;;) {
    if (!read_line(line, error)) return false;
    const size_t semicolon = line.find(';');
    const std::string_view size_text = trim(std::string_view(line).substr(0, semicolon));
    size_t size = 0;
    const auto [ptr, ec] =
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (size_text.empty() || ec != std::errc() || ptr != size_text.data() + size_text.size()) {
      error = "malformed chunk size";
      return false;
    }
    if (size == 0) break;
    if (!read_exact(size, error) || !read_line(line, error)) return false;
    if (!line.empty()) {
      error = "malformed chunk terminator";
      return false;
    }
    body_bytes += size;
  }
  do {  // trailer fields, up to the empty line
    if (!read_line(line, error)) return false;
  } while (!line.empty());
  return true;
}

bool HttpConnection::read_until_close(size_t& body_bytes, std::string& error) {
  while (fill(error)) {
  }
  if (!eof_) return false;
  body_bytes = buffer_.size();
  buffer_.clear();
  return true;
}

HttpResult HttpConnection::attempt(std::string_view request, bool& nothing_received) {
  HttpResult result;
  nothing_received = false;
  if (fd_ < 0 && !open(result.error)) return result;
  if (!send_all(request, result.error)) {
    nothing_received = true;
    return result;
  }
  Head head;
  for (;;) {
    const bool was_empty = buffer_.empty();
    if (!read_head(head, result.error)) {
      nothing_received = was_empty && buffer_.empty();
      return result;
    }
    if (head.status >= 200 || head.status == 101) break;
    head = Head{};  // interim 1xx response: the final one follows
  }
  result.status = head.status;
  result.cache_hit = head.cache_hit;
  const bool no_body = head.status == 204 || head.status == 304 || head.status < 200;
  bool framed = true;
  if (no_body) {
    result.body_bytes = 0;
  } else if (head.chunked) {
    framed = read_chunked(result.body_bytes, result.error);
  } else if (head.content_length >= 0) {
    result.body_bytes = static_cast<size_t>(head.content_length);
    framed = read_exact(result.body_bytes, result.error);
  } else {
    head.close = true;
    framed = read_until_close(result.body_bytes, result.error);
  }
  if (!framed) return result;
  result.ok = true;
  if (head.close) {
    close();
  } else {
    reused_ = true;
  }
  return result;
}

HttpResult HttpConnection::round_trip(std::string_view request) {
  const bool was_reused = reused_;
  bool nothing_received = false;
  HttpResult result = attempt(request, nothing_received);
  if (result.ok) return result;
  close();
  if (was_reused && nothing_received) {  // the server dropped an idle keep-alive connection
    result = attempt(request, nothing_received);
    if (!result.ok) close();
  }
  return result;
}

}  // namespace contacts::bench
