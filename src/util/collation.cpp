#include "util/collation.h"

#include <stdexcept>
#include <vector>

#include <unicode/ucol.h>
#include <unicode/ustring.h>

namespace contacts::collation {
namespace {

struct Collator {
  UCollator* c = nullptr;
  std::string version;
  Collator() {
    UErrorCode err = U_ZERO_ERROR;
    c = ucol_open("", &err);
    if (U_FAILURE(err)) throw std::runtime_error(std::string("ICU collator: ") + u_errorName(err));
    ucol_setStrength(c, UCOL_TERTIARY);
    UVersionInfo v;
    ucol_getVersion(c, v);
    char text[U_MAX_VERSION_STRING_LENGTH];
    u_versionToString(v, text);
    version = text;
  }
  ~Collator() { ucol_close(c); }
};

const Collator& collator() {
  static const Collator kCollator;
  return kCollator;
}

// UTF-8 -> UTF-16 with U+FFFD for invalid sequences, into a per-thread buffer.
const std::u16string& wide(std::string_view s) {
  thread_local std::u16string buf;
  buf.resize(s.size() + 1);
  int32_t len = 0;
  UErrorCode err = U_ZERO_ERROR;
  u_strFromUTF8WithSub(reinterpret_cast<UChar*>(buf.data()), static_cast<int32_t>(buf.size()),
                       &len, s.data(), static_cast<int32_t>(s.size()), 0xFFFD, nullptr, &err);
  if (U_FAILURE(err)) len = 0;
  buf.resize(static_cast<size_t>(len));
  return buf;
}

}  // namespace

int compare(std::string_view a, std::string_view b) {
  UErrorCode err = U_ZERO_ERROR;
  const UCollationResult r =
      ucol_strcollUTF8(collator().c, a.data(), static_cast<int32_t>(a.size()), b.data(),
                       static_cast<int32_t>(b.size()), &err);
  if (U_FAILURE(err)) return a.compare(b);
  return r == UCOL_LESS ? -1 : r == UCOL_GREATER ? 1 : 0;
}

void append_sort_key(std::string& out, std::string_view utf8) {
  const std::u16string& w = wide(utf8);
  const size_t at = out.size();
  size_t room = w.size() * 4 + 16;
  for (;;) {
    out.resize(at + room);
    const int32_t n = ucol_getSortKey(collator().c, reinterpret_cast<const UChar*>(w.data()),
                                      static_cast<int32_t>(w.size()),
                                      reinterpret_cast<uint8_t*>(out.data() + at),
                                      static_cast<int32_t>(room));
    if (n > 0 && static_cast<size_t>(n) <= room) {
      out.resize(at + static_cast<size_t>(n) - 1);  // without the terminating zero
      return;
    }
    room = n > 0 ? static_cast<size_t>(n) : room * 2;
  }
}

const std::string& version() { return collator().version; }

}  // namespace contacts::collation
