// Operational log lines: one JSON object per line on stderr. Never pass secrets.
#pragma once

#include <string_view>

namespace contacts {

// {"level":..., "msg":..., "error":...}; `error` is left out when empty.
void log_event(std::string_view level, std::string_view msg, std::string_view error = {});

}  // namespace contacts
