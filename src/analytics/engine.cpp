#include "analytics/engine.h"

#include <algorithm>
#include <charconv>

#include "util/collation.h"

namespace contacts::analytics {

std::string_view failure_label(Failure f) {
  switch (f) {
    case Failure::timeout: return "timeout";
    case Failure::unavailable: return "unavailable";
    case Failure::malformed: return "malformed";
    case Failure::error: return "error";
    case Failure::busy: return "busy";
  }
  return "error";
}

namespace {

std::string table_name(const Settings& s) {
  return "`" + s.hive_database + "`.`" + s.hive_table + "`";
}

}  // namespace

std::string total_sql(const Settings& settings) {
  return "SELECT COUNT(*) AS total FROM " + table_name(settings);
}

std::string top_sql(const Settings& settings, std::string_view column, uint32_t limit) {
  // Grouped first, ranked over the groups after: windows over aggregates in one SELECT are
  // not understood by every Hive version.
  const std::string c(column);
  return "SELECT " + c + ", total FROM (SELECT " + c +
         ", total, RANK() OVER (ORDER BY total DESC) AS value_rank FROM (SELECT " + c +
         ", COUNT(*) AS total FROM " + table_name(settings) + " WHERE " + c + " IS NOT NULL AND " +
         c + " <> '' GROUP BY " + c + ") grouped) ranked WHERE value_rank <= " +
         std::to_string(limit) + " ORDER BY total DESC, " + c;
}

std::vector<ValueCount> top_values(std::vector<ValueCount> rows, uint32_t limit) {
  std::erase_if(rows, [](const ValueCount& v) { return v.value.empty(); });
  std::sort(rows.begin(), rows.end(), [](const ValueCount& a, const ValueCount& b) {
    return a.total != b.total ? a.total > b.total : collation::less_then_bytes(a.value, b.value);
  });
  if (rows.size() > limit) rows.resize(limit);
  return rows;
}

uint64_t parse_count(std::string_view text, std::string_view what) {
  uint64_t n = 0;
  const auto res = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || res.ec != std::errc() || res.ptr != text.data() + text.size()) {
    throw EngineError(Failure::malformed,
                      std::string(what) + ": expected a count, got '" +
                          std::string(text.substr(0, 40)) + "'");
  }
  return n;
}

namespace {

std::vector<ValueCount> value_counts(const Rows& rows, std::string_view what) {
  std::vector<ValueCount> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    if (row.size() != 2) {
      throw EngineError(Failure::malformed, std::string(what) + ": expected rows of 2 columns, got " +
                                                std::to_string(row.size()));
    }
    out.push_back({row[0], parse_count(row[1], what)});
  }
  return out;
}

}  // namespace

AnalyticsSnapshot analytics_from_rows(const Rows& total, const Rows& countries,
                                      const Rows& industries, uint32_t limit) {
  if (total.size() != 1 || total[0].size() != 1) {
    throw EngineError(Failure::malformed, "total: expected one row of one column");
  }
  AnalyticsSnapshot a;
  a.total_contacts = parse_count(total[0][0], "total");
  a.top_countries = top_values(value_counts(countries, "countries"), limit);
  a.top_industries = top_values(value_counts(industries, "industries"), limit);
  return a;
}

}  // namespace contacts::analytics
