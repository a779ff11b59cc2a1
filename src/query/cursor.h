// Opaque cursor tokens for keyset pagination.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "query/contact_query.h"

namespace contacts {

// URL-safe text for `token`.
std::string encode_cursor(const CursorToken& token);
// The token inside `text`, or nullopt when it is not one we made (forged, truncated, garbage).
std::optional<CursorToken> decode_cursor(std::string_view text);

}  // namespace contacts
