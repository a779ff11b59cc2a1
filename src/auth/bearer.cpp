#include "auth/bearer.h"

#include "util/text.h"

namespace contacts::auth {

std::optional<std::string_view> bearer_token(const std::string* authorization_header) {
  if (authorization_header == nullptr) return std::nullopt;
  const std::string_view value = text::trim(*authorization_header);
  const size_t space = value.find_first_of(" \t");
  if (text::ascii_lower(value.substr(0, space)) != "bearer") return std::nullopt;
  if (space == std::string_view::npos) return std::string_view{};
  return text::trim(value.substr(space));
}

}  // namespace contacts::auth
