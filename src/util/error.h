// The one error type that crosses layers. http/ turns it into the contract's JSON error.
#pragma once

#include <stdexcept>
#include <string>

namespace contacts {

class ApiError : public std::runtime_error {
 public:
  // `status` is the HTTP status to answer with; `detail` is shown to the client as
  // {"detail": detail}, so it must never contain SQL, paths or internals.
  ApiError(int status, std::string detail)
      : std::runtime_error(detail), status_(status), detail_(std::move(detail)) {}
  int status() const { return status_; }
  const std::string& detail() const { return detail_; }

 private:
  int status_;
  std::string detail_;
};

}  // namespace contacts
