// Cursor tokens (query/cursor.h): forged bytes decode to nothing or to a token that encodes
// back to exactly those bytes (only the canonical spelling is accepted).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "query/cursor.h"

using namespace contacts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto token = decode_cursor(text);
  if (token && encode_cursor(*token) != text) std::abort();
  return 0;
}
