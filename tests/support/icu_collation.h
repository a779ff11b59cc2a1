// An independent Unicode collation for tests: ICU's C++ API (the server uses its C API through
// util/collation.h), root locale, tertiary strength, as contract section 4 orders text.
#pragma once

#include <unicode/coll.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace contacts::testing_support {

// <0, 0, >0 as `a` sorts before, with or after `b` (0: equal collation keys).
inline int icu_compare(const std::string& a, const std::string& b) {
  static const std::unique_ptr<icu::Collator> collator = [] {
    UErrorCode err = U_ZERO_ERROR;
    std::unique_ptr<icu::Collator> c(icu::Collator::createInstance(icu::Locale::getRoot(), err));
    if (U_FAILURE(err)) throw std::runtime_error("no ICU collator");
    c->setStrength(icu::Collator::TERTIARY);
    return c;
  }();
  UErrorCode err = U_ZERO_ERROR;
  return collator->compare(icu::UnicodeString::fromUTF8(a), icu::UnicodeString::fromUTF8(b), err);
}

}  // namespace contacts::testing_support
