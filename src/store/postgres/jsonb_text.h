// meta_data as PostgreSQL prints it once stored as jsonb, computed without asking it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace contacts::pg {

// `json` (a meta_data object; "" stands for {}) as `jsonb::text` prints it: keys ordered by
// length, then byte by byte, the last of equal keys kept; ", " between members and ": " after
// each key; strings escaped as jsonb escapes them (\" \\ \b \f \n \r \t, other control
// characters as \u00xx, everything else as is). Only a flat object whose values are strings,
// integers without fraction or exponent, true, false or null is handled: nullopt for
// anything else (a nested value, a number jsonb would print another way, invalid JSON).
std::optional<std::string> jsonb_text(std::string_view json);

}  // namespace contacts::pg
