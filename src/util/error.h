// The one error type that crosses layers. http/ turns it into the contract's JSON error.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

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

}  // namespace contacts
