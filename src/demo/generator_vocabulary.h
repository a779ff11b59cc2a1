// Word lists behind the generated Apollo-style data. Lists are ordered from common to rare
// where the generator draws them Zipf-like. All functions return static data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace contacts::demo::vocab {

struct Name {
  std::string_view display;  // as written, possibly non-ASCII ("Łukasz", "山田")
  std::string_view ascii;    // as it appears in e-mail addresses ("lukasz", "yamada")
};

struct Place {
  std::string_view city;
  std::string_view state;
};

struct Country {
  std::string_view name;
  uint32_t weight;                // share of companies, in arbitrary units
  std::string_view calling_code;  // "+1"
  std::span<const Place> places;
};

struct Industry {
  std::string_view name;  // lower case, as Apollo exports it
  std::span<const std::string_view> keywords;
};

struct Weighted {
  std::string_view value;
  uint32_t weight;
};

struct FundingRound {
  std::string_view name;
  uint32_t weight;
  int64_t min_amount;
  int64_t max_amount;
};

struct Title {
  std::string title;           // "Senior Software Engineer"
  std::string_view seniority;  // Apollo seniority: "senior", "vp", "c_suite", ...
  std::string departments;     // "Engineering & Technical"
  uint32_t weight;
};

std::span<const Name> first_names();
std::span<const Name> last_names();
std::span<const Name> company_words();                // first word of company names
std::span<const std::string_view> company_kinds();    // second word: "Systems", "Labs"
std::span<const std::string_view> legal_suffixes();   // "", ", Inc.", " GmbH" ...
std::span<const std::string_view> domain_suffixes();  // ".com", ".io" ...
std::span<const std::string_view> streets();
std::span<const Country> countries();
std::span<const Industry> industries();
std::span<const std::string_view> generic_keywords();
std::span<const std::string_view> technologies();
std::span<const Weighted> email_statuses();
std::span<const Weighted> catch_all_statuses();
std::span<const Weighted> stages();
std::span<const FundingRound> funding_rounds();
std::span<const std::string_view> contact_lists();

// A few hundred job titles (seniority x function x level), each with its weight.
const std::vector<Title>& titles();

}  // namespace contacts::demo::vocab
