// Base64url without padding (RFC 4648 section 5), the encoding of every JWT segment.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace contacts {

// `bytes` in the URL-safe alphabet, no '=' padding.
std::string base64url_encode(std::string_view bytes);

// The bytes `text` encodes; nullopt on a character outside the alphabet (padding included), a
// length no encoding has (n % 4 == 1) or non-zero unused trailing bits, so each byte string
// has exactly one accepted text.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace contacts
