// The errors api/ answers with: an HTTP status and the contract's {"detail": ...} text. The
// layers below report contacts::Error (util/error.h); api_error_for() is the one place that
// turns their codes into statuses.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "util/error.h"

namespace contacts {

class ApiError : public std::runtime_error {
 public:
  // `status` is the HTTP status to answer with; `detail` is shown to the client as
  // {"detail": detail}, so it must never contain SQL, paths or internals.
  // `retry_after_s` > 0 is sent as Retry-After (429, 503).
  ApiError(int status, std::string detail, int64_t retry_after_s = 0)
      : std::runtime_error(detail),
        status_(status),
        detail_(std::move(detail)),
        retry_after_s_(retry_after_s) {}
  int status() const { return status_; }
  const std::string& detail() const { return detail_; }
  int64_t retry_after_s() const { return retry_after_s_; }

 private:
  int status_;
  std::string detail_;
  int64_t retry_after_s_;
};

// The reference's 500 detail: nothing about what failed reaches the client.
inline constexpr const char* kInternalErrorDetail =
    "An error occurred while processing the request. Please check your query parameters and "
    "try again.";

// The contract's answer to a domain error: invalid_parameter 400 and invalid_cursor 404 with
// the error's own message, not_found 404 "Not found.", count_timeout 500 with the count's
// timeout text.
ApiError api_error_for(const Error& e);

}  // namespace contacts
