#include "sqlread/pg_reader_sql.h"

#include "store/postgres/postgres_schema.h"

namespace contacts::pg {
namespace {

// Characters text::trim removes (ASCII whitespace), as an SQL escape-string literal.
constexpr const char* kTrimmedChars = "E' \\t\\r\\n\\f\\x0B'";

bool holds_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

std::string joined_address(std::initializer_list<TextField> parts, bool folded) {
  std::string sql = "concat_ws(', '";
  for (const TextField f : parts) {
    sql += ",nullif(" + (folded ? folded_expr(f) : std::string(info(f).name)) + ",'')";
  }
  return sql + ")";
}

}  // namespace

std::string Statement::bind(std::string_view text) {
  params.add(text);
  return "$" + std::to_string(params.size());
}

std::string Statement::bind(int64_t value) {
  params.add(value);
  return "$" + std::to_string(params.size()) + "::bigint";
}

std::string contains_pattern(std::string_view value) {
  std::string p = "%";
  for (const char ch : value) {
    if (ch == '\\' || ch == '%' || ch == '_') p += '\\';
    p += ch;
  }
  return p + "%";
}

std::string filter_condition(const ContactFilter& filter, Statement& st) {
  std::vector<std::string> terms;
  for (const TextFilter& f : filter.text) {
    if (holds_nul(f.folded)) {
      terms.push_back("FALSE");  // stored values never hold NUL (and libpq cannot send it)
    } else if (f.exact) {
      terms.push_back(folded_expr(f.field) + "=" + st.bind(f.folded));
    } else {
      const std::string pattern = st.bind(contains_pattern(f.folded));
      terms.push_back(folded_expr(f.field) + " LIKE " + pattern);
      // Implied (search_expr() holds the folded field verbatim); lets the trigram index on
      // search_expr() find the candidate rows.
      if (info(f.field).in_search) terms.push_back(search_expr() + " LIKE " + pattern);
    }
  }
  for (const NumberRange& r : filter.numbers) {
    const std::string col(info(r.field).name);
    terms.push_back(col + " IS NOT NULL");
    if (r.min) terms.push_back(col + ">=" + st.bind(*r.min));
    if (r.max) terms.push_back(col + "<=" + st.bind(*r.max));
  }
  auto time_range = [&](const char* col, const std::optional<int64_t>& after,
                        const std::optional<int64_t>& before) {
    if (after) terms.push_back(std::string(col) + ">=" + st.bind(*after));
    if (before) terms.push_back(std::string(col) + "<=" + st.bind(*before));
  };
  time_range("created_at", filter.created_after_us, filter.created_before_us);
  time_range("updated_at", filter.updated_after_us, filter.updated_before_us);
  for (const std::string& term : filter.search_terms) {
    terms.push_back(holds_nul(term) ? "FALSE"
                                    : search_expr() + " LIKE " + st.bind(contains_pattern(term)));
  }
  if (terms.empty()) return "TRUE";
  std::string sql;
  for (const std::string& t : terms) sql += (sql.empty() ? "" : " AND ") + t;
  return sql;
}

std::string order_by(const std::vector<OrderTerm>& ordering) {
  std::string sql;
  for (const OrderTerm& t : ordering) {
    const char* dir = t.descending ? " DESC" : " ASC";
    const SortColumn col = sort_column(t.key);
    if (!sql.empty()) sql += ",";
    switch (col.kind) {
      case SortColumn::Kind::text:
        sql += "nullif(" + std::string(info(col.text).name) + ",'') COLLATE " + kTextCollation +
               dir + " NULLS LAST";
        break;
      case SortColumn::Kind::number:
        sql += std::string(info(col.number).name) + dir + " NULLS LAST";
        break;
      case SortColumn::Kind::created_at:
        sql += std::string("created_at") + dir;
        break;
      case SortColumn::Kind::updated_at:
        sql += std::string("updated_at") + dir;
        break;
      case SortColumn::Kind::id:
        sql += std::string("id") + dir;
        break;
    }
  }
  return sql + ",id" + (ordering.front().descending ? " DESC" : " ASC");
}

std::string field_source(const FieldQuery& q) {
  if (q.field == FieldEndpoint::keywords && q.separated) {
    const std::string folded = folded_expr(TextField::keywords);
    return std::string("(SELECT c.id, btrim(k.raw,") + kTrimmedChars +
           ") AS value, btrim(k.folded," + kTrimmedChars +
           ") AS folded, k.pos FROM contacts c CROSS JOIN LATERAL unnest(string_to_array("
           "c.keywords,','), string_to_array(" +
           folded + ",',')) WITH ORDINALITY AS k(raw, folded, pos) WHERE c.keywords<>'') s";
  }
  std::string value;
  std::string folded;
  if (const std::optional<TextField> f = endpoint_field(q.field)) {
    value = info(*f).name;
    folded = folded_expr(*f);
  } else if (q.field == FieldEndpoint::company_address) {
    const auto parts = {TextField::company_address, TextField::company_city,
                        TextField::company_state, TextField::company_country};
    value = joined_address(parts, false);
    folded = joined_address(parts, true);
  } else {
    const auto parts = {TextField::city, TextField::state, TextField::country};
    value = joined_address(parts, false);
    folded = joined_address(parts, true);
  }
  return "(SELECT id, " + value + " AS value, " + folded + " AS folded, 0 AS pos FROM contacts) s";
}

}  // namespace contacts::pg
