#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

namespace contacts::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

HostPort parse_host_port(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw std::invalid_argument("expected host:port");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  const auto res = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || res.ec != std::errc() || res.ptr != port.data() + port.size() ||
      value == 0 || value > 65535) {
    throw std::invalid_argument("expected host:port with a port between 1 and 65535");
  }
  return {std::string(host), static_cast<uint16_t>(value)};
}

Url parse_url(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    throw std::invalid_argument("expected http://host[:port][/path] (https is not supported)");
  }
  text.remove_prefix(kScheme.size());
  const size_t slash = std::min(text.find('/'), text.size());
  const std::string_view authority = text.substr(0, slash);
  std::string_view prefix = text.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument("expected http://host[:port][/path]");
  }
  Url url;
  const bool has_port = authority.back() != ']' && authority.find(':') != std::string_view::npos;
  url.endpoint = has_port ? parse_host_port(authority) : parse_host_port(std::string(authority) + ":80");
  url.prefix = std::string(prefix);
  return url;
}

namespace {

// Runs `ioc` until its work is done or `deadline`; past it, `cancel` stops what is pending
// and the handlers run with operation_aborted.
template <class Cancel>
void run_until(asio::io_context& ioc, std::chrono::steady_clock::time_point deadline,
               Cancel cancel) {
  ioc.restart();
  ioc.run_until(deadline);
  if (!ioc.stopped()) {
    cancel();
    ioc.restart();
    ioc.run();
  }
}

}  // namespace

ClientResponse request(const HostPort& endpoint, std::string_view method, std::string_view target,
                       std::string_view body, std::chrono::steady_clock::time_point deadline,
                       size_t max_body) {
  asio::io_context ioc;
  const std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
  beast::error_code ec;
  bool expired = false;
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type addresses;
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           addresses = std::move(r);
                         });
  run_until(ioc, deadline, [&] {
    expired = true;
    resolver.cancel();
  });
  if (expired) throw ClientError("resolving " + where + ": timed out", true);
  if (ec) throw ClientError("resolving " + where + ": " + ec.message(), false);

  beast::tcp_stream stream(ioc);
  stream.expires_at(deadline);
  const auto step = [&](const char* what) {
    run_until(ioc, deadline, [&] { stream.socket().close(); });
    if (ec == beast::error::timeout || (ec && std::chrono::steady_clock::now() >= deadline)) {
      throw ClientError(std::string(what) + " " + where + ": timed out", true);
    }
    if (ec) throw ClientError(std::string(what) + " " + where + ": " + ec.message(), false);
  };
  stream.async_connect(addresses, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  step("connecting to");

  bhttp::request<bhttp::string_body> req{
      bhttp::string_to_verb(beast::string_view(method.data(), method.size())), std::string(target), 11};
  req.set(bhttp::field::host, endpoint.host);
  req.set(bhttp::field::user_agent, "contacts-api");
  req.set(bhttp::field::accept, "application/json");
  // Livy's CSRF protection (livy.server.csrf-protection.enabled) wants it on every POST.
  req.set("X-Requested-By", "contacts-api");
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.keep_alive(false);
  req.prepare_payload();
  bhttp::async_write(stream, req, [&](beast::error_code e, size_t) { ec = e; });
  step("sending to");

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body);
  bhttp::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
  step("reading from");
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  ClientResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  return out;
}

}  // namespace contacts::http
