// Private to src/http: how a Response becomes the bytes of an HTTP/1.1 response head.
// Nothing of Beast here, so it compiles fast and is tested without sockets.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "http/server.h"

namespace contacts::http::wire {

// What the server knows about the request a response answers.
struct RequestFraming {
  bool head = false;        // HEAD request: headers only
  bool keep_alive = false;  // the client allows another request on this connection
  bool http10 = false;      // HTTP/1.0 client (needs an explicit "Connection: keep-alive")
};

// How the response goes on the wire after its head.
struct ResponseFraming {
  bool send_body = false;   // false for HEAD, 204 and 304
  bool keep_alive = false;  // false when the client or the handler asked to close
  bool chunked = false;     // a streamed body in chunks (else, when streamed: until close)
};

// ASCII-only case mapping, for header names and other protocol tokens.
char ascii_lower(char c);
bool iequals(std::string_view a, std::string_view b);

// True for a status the server writes as the handler gave it: 200..999 (1xx are never final).
bool is_writable_status(int status);

// Replaces `out` with the head of `response` (status line with `reason`, headers, blank line)
// as documented on Response in server.h. `response.status` must be writable.
ResponseFraming write_response_head(const Response& response, std::string_view reason,
                                    const RequestFraming& request, std::string& out);

// Replaces `out` with the line that opens a chunk of `size` bytes (not 0): "1f40\r\n".
// The chunk's data follows, then "\r\n"; the body ends with kLastChunk.
void write_chunk_size(size_t size, std::string& out);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT", independent of the C locale.
std::string format_http_date(std::time_t time);

}  // namespace contacts::http::wire
