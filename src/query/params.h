// Query-string parameters: decoding, validation of encoding, typed accessors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace contacts {

class QueryParams {
 public:
  // Parses "a=1&b=x%20y" ('+' is a space). Throws Error(invalid_parameter) when a name or value
  // is not valid UTF-8 after decoding.
  static QueryParams parse(std::string_view raw_query);

  // The last value given for `name` (a repeated parameter: the last one wins).
  const std::string* get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }

  // Typed accessors; each throws Error(invalid_parameter) naming the parameter on a bad
  // value.
  std::optional<bool> get_bool(std::string_view name) const;
  // Decimal digits only; values too large saturate at UINT64_MAX.
  std::optional<uint64_t> get_uint(std::string_view name) const;
  // As get_uint, but 0 is rejected too.
  std::optional<uint64_t> get_positive(std::string_view name) const;
  std::optional<int64_t> get_datetime(std::string_view name) const;

  // The parameters whose name satisfies `keep`, in the same order.
  template <class Keep>
  QueryParams only(Keep keep) const {
    QueryParams out;
    for (const auto& pair : pairs_) {
      if (keep(pair.first)) out.pairs_.push_back(pair);
    }
    return out;
  }

  // All pairs in request order, one per name (its last value).
  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }

  // Re-encodes the parameters with `changes` applied (a nullopt value removes the name);
  // changed names go last, in the order given.
  std::string encode_with(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) const;
  // Canonical form for cache keys: pairs sorted by name.
  std::string canonical() const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Percent-encodes for a query component (unreserved characters stay as they are).
std::string url_encode(std::string_view s);

}  // namespace contacts
