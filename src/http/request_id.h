// Request ids (contract section 1): the client's X-Request-Id is echoed back when it is
// printable ASCII of at most 200 characters; otherwise one is made up.
#pragma once

#include <string>
#include <string_view>

namespace contacts::http {

bool valid_request_id(std::string_view id);
// 32 random hexadecimal digits.
std::string new_request_id();
// `given` when it is a valid id, else a new one.
std::string request_id_for(const std::string* given);

}  // namespace contacts::http
