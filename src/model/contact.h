// The contact record: the one list of fields every layer agrees on.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace contacts {

// Text fields of a contact, in the order of the API payload. Values are "" when absent.
enum class TextField : uint8_t {
  first_name, last_name, title, company, company_name_for_emails, email, email_status,
  primary_email_catch_all_status, seniority, departments, work_direct_phone, home_phone,
  mobile_phone, corporate_phone, other_phone, stage, industry, keywords, person_linkedin_url,
  website, company_linkedin_url, facebook_url, twitter_url, city, state, country,
  company_address, company_city, company_state, company_country, company_phone, technologies,
  latest_funding, last_raised_at,
};
inline constexpr size_t kTextFieldCount = 34;

// Integer fields; a missing value is std::nullopt (JSON null).
enum class NumberField : uint8_t { employees, annual_revenue, total_funding, latest_funding_amount };
inline constexpr size_t kNumberFieldCount = 4;

struct TextFieldInfo {
  TextField field;
  std::string_view name;          // API name, e.g. "company_name_for_emails"
  std::string_view apollo_label;  // Apollo export header, e.g. "Company Name for Emails"
  bool contains_filter;           // ?name= is a case-insensitive substring filter
  bool exact_filter;              // ?name= is a case-insensitive equality filter
  bool in_search;                 // one of the fields `search` looks into
};

struct NumberFieldInfo {
  NumberField field;
  std::string_view name;
  std::string_view apollo_label;
};

const std::array<TextFieldInfo, kTextFieldCount>& text_fields();
const std::array<NumberFieldInfo, kNumberFieldCount>& number_fields();
inline const TextFieldInfo& info(TextField f) { return text_fields()[static_cast<size_t>(f)]; }
inline const NumberFieldInfo& info(NumberField f) {
  return number_fields()[static_cast<size_t>(f)];
}

// The value fields in the order of the API payload, which is also the order of Apollo's
// export: each text field, with the number fields after `stage`, `technologies` and
// `latest_funding`.
using PayloadField = std::variant<TextField, NumberField>;
const std::vector<PayloadField>& payload_fields();

// A contact as imported: every field set by the CSV, before the store assigns id and times.
struct ContactValues {
  std::array<std::string, kTextFieldCount> text;
  std::array<std::optional<int64_t>, kNumberFieldCount> numbers;
  std::string meta_data_json = "{}";  // a JSON object, serialised

  std::string& operator[](TextField f) { return text[static_cast<size_t>(f)]; }
  const std::string& operator[](TextField f) const { return text[static_cast<size_t>(f)]; }
  std::optional<int64_t>& operator[](NumberField f) { return numbers[static_cast<size_t>(f)]; }
  const std::optional<int64_t>& operator[](NumberField f) const {
    return numbers[static_cast<size_t>(f)];
  }
};

// A stored contact. Times are microseconds since the Unix epoch, UTC.
struct Contact {
  int64_t id = 0;
  ContactValues values;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
};

}  // namespace contacts
