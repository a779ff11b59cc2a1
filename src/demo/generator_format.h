// Formatting of generated values: e-mail letter case (numbers: util/number_format.h).
#pragma once

#include <string>
#include <string_view>

namespace contacts::demo {

// The same ASCII address in other letter case: "ann.lee@x.com" -> "Ann.Lee@X.com" when it is
// all lower case, otherwise lowered.
std::string recased(std::string_view email);

}  // namespace contacts::demo
