// The error the layers below api/ report to their callers: a code saying what went wrong and
// a message that may be shown to a client. Only api/ knows HTTP: it maps each code to a status
// (api/api_error.h). Store outages have their own type (StoreUnavailable, store/store.h).
#pragma once

#include <stdexcept>
#include <string>

namespace contacts {

enum class ErrorCode {
  invalid_parameter,  // a query parameter's name, value or encoding is not accepted
  invalid_cursor,     // a pagination cursor that this server did not issue
  not_found,          // the thing asked for does not exist
  count_timeout,      // an exact count ran past its time budget
};

class Error : public std::runtime_error {
 public:
  // `message` must never contain SQL, paths or internals: api/ may show it to the client.
  Error(ErrorCode code, std::string message)
      : std::runtime_error(message), code_(code), message_(std::move(message)) {}
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_;
  std::string message_;
};

}  // namespace contacts
