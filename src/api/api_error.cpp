#include "api/api_error.h"

namespace contacts {

ApiError api_error_for(const Error& e) {
  switch (e.code()) {
    case ErrorCode::invalid_parameter:
      return ApiError(400, e.message());
    case ErrorCode::invalid_cursor:
      return ApiError(404, e.message());
    case ErrorCode::not_found:
      return ApiError(404, "Not found.");
    case ErrorCode::count_timeout:
      return ApiError(500,
                      "Error counting contacts. The query may be too complex or timeout. Please "
                      "try with simpler filters.");
  }
  return ApiError(500, kInternalErrorDetail);
}

}  // namespace contacts
