#include "demo/generator.h"

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "demo/generator_format.h"
#include "demo/generator_vocabulary.h"
#include "demo/random.h"
#include "model/contact.h"
#include "util/csv_writer.h"
#include "util/number_format.h"

namespace contacts::demo {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;
constexpr uint64_t kRowsPerCompany = 20;
constexpr size_t kRecentPeople = 1024;  // the pool repeated e-mails are drawn from

// Output columns, in the order Apollo exports them; three are not contact fields.
// clang-format off
enum class Col : uint8_t {
  first_name, last_name, title, company, company_name_for_emails, email, email_status,
  primary_email_catch_all_status, seniority, departments, work_direct_phone, home_phone,
  mobile_phone, corporate_phone, other_phone, stage, lists, employees, industry, keywords,
  person_linkedin_url, website, company_linkedin_url, facebook_url, twitter_url, city, state,
  country, company_address, company_city, company_state, company_country, company_phone,
  technologies, annual_revenue, total_funding, latest_funding, latest_funding_amount,
  last_raised_at, apollo_contact_id, secondary_email, count
};
constexpr size_t kColumns = static_cast<size_t>(Col::count);

// The API name of each column's field, or the header of a column that is not a field.
constexpr std::array<std::string_view, kColumns> kColumnKeys = {
    "first_name", "last_name", "title", "company", "company_name_for_emails", "email",
    "email_status", "primary_email_catch_all_status", "seniority", "departments",
    "work_direct_phone", "home_phone", "mobile_phone", "corporate_phone", "other_phone", "stage",
    "Lists", "employees", "industry", "keywords", "person_linkedin_url", "website",
    "company_linkedin_url", "facebook_url", "twitter_url", "city", "state", "country",
    "company_address", "company_city", "company_state", "company_country", "company_phone",
    "technologies", "annual_revenue", "total_funding", "latest_funding", "latest_funding_amount",
    "last_raised_at", "Apollo Contact Id", "Secondary Email"};
// clang-format on

std::string_view column_label(size_t column) {
  const std::string_view key = kColumnKeys[column];
  for (const auto& f : text_fields()) {
    if (f.name == key) return f.apollo_label;
  }
  for (const auto& f : number_fields()) {
    if (f.name == key) return f.apollo_label;
  }
  return key;
}

template <typename T>
std::vector<uint32_t> weights_of(std::span<const T> items) {
  std::vector<uint32_t> weights;
  for (const auto& item : items) weights.push_back(item.weight);
  return weights;
}

// Open-addressing set of 64-bit hashes, to keep generated e-mails unique.
class HashSet {
 public:
  // Adds `h`; false when it was already present.
  bool insert(uint64_t h) {
    if ((used_ + 1) * 2 > slots_.size()) grow();
    h = h == 0 ? 1 : h;
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots_[i] == h) return false;
      if (slots_[i] == 0) {
        slots_[i] = h;
        ++used_;
        return true;
      }
    }
  }

 private:
  void grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    used_ = 0;
    for (const uint64_t h : old) {
      if (h != 0) insert(h);
    }
  }

  std::vector<uint64_t> slots_;
  size_t used_ = 0;
};

uint64_t hash_lower(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
  }
  return splitmix64(h);
}

struct RecentPerson {
  size_t first = 0;
  size_t last = 0;
  uint64_t company = 0;
  std::string email;
};

struct EmployeeBand {
  int64_t min;
  int64_t max;
  uint32_t weight;
};
constexpr EmployeeBand kEmployeeBands[] = {{1, 10, 25},      {11, 50, 30},      {51, 200, 22},
                                           {201, 500, 10},   {501, 1000, 5},    {1001, 5000, 5},
                                           {5001, 10000, 2}, {10001, 200000, 1}};

// Writes one generated file. Company attributes derive from (seed, company index) alone, so
// every row of a company repeats the same company fields without keeping them in memory.
class ApolloCsvGenerator {
 public:
  ApolloCsvGenerator(uint64_t rows, uint64_t seed);
  void write(std::ostream& out);

 private:
  std::string& at(Col c) { return values_[static_cast<size_t>(c)]; }
  void append_header(std::string& out) const;
  void append_row(std::string& out);
  void fill_person(const RecentPerson& person, bool repeated);
  void fill_company(uint64_t index);
  void fill_company_name(uint64_t index, Rng& rng);
  void fill_company_place(Rng& rng);
  void fill_company_numbers(Rng& rng);
  void fill_company_lists(Rng& rng);
  void fill_location(Rng& rng);
  void fill_phones();
  void fill_extras(const RecentPerson& person);
  std::string make_email(const vocab::Name& first, const vocab::Name& last);
  void append_phone(std::string& out, std::string_view calling_code, Rng& rng) const;

  const uint64_t rows_;
  const uint64_t seed_;
  Rng rng_;
  const WeightedPicker companies_;
  const WeightedPicker first_names_;
  const WeightedPicker last_names_;
  const WeightedPicker titles_;
  const WeightedPicker countries_;
  const WeightedPicker industries_;
  const WeightedPicker technologies_;
  const WeightedPicker email_statuses_;
  const WeightedPicker catch_all_statuses_;
  const WeightedPicker stages_;
  const WeightedPicker funding_rounds_;
  const WeightedPicker employee_bands_;
  std::array<std::string, kColumns> values_;
  std::string company_domain_;
  size_t company_country_ = 0;
  size_t company_place_ = 0;
  size_t company_industry_ = 0;
  HashSet emails_;
  std::vector<RecentPerson> recent_;
};

ApolloCsvGenerator::ApolloCsvGenerator(uint64_t rows, uint64_t seed)
    : rows_(rows),
      seed_(seed),
      rng_(seed),
      companies_(zipf_weights(std::max<uint64_t>(1, (rows + kRowsPerCompany - 1) / kRowsPerCompany),
                              false)),
      first_names_(zipf_weights(vocab::first_names().size(), false)),
      last_names_(zipf_weights(vocab::last_names().size(), false)),
      titles_(weights_of(std::span<const vocab::Title>(vocab::titles()))),
      countries_(weights_of(vocab::countries())),
      industries_(zipf_weights(vocab::industries().size(), true)),
      technologies_(zipf_weights(vocab::technologies().size(), false)),
      email_statuses_(weights_of(vocab::email_statuses())),
      catch_all_statuses_(weights_of(vocab::catch_all_statuses())),
      stages_(weights_of(vocab::stages())),
      funding_rounds_(weights_of(vocab::funding_rounds())),
      employee_bands_(weights_of(std::span<const EmployeeBand>(kEmployeeBands))) {}

void ApolloCsvGenerator::write(std::ostream& out) {
  std::string buffer;
  buffer.reserve(kFlushBytes + 64 * 1024);
  append_header(buffer);
  for (uint64_t row = 0; row < rows_; ++row) {
    append_row(buffer);
    if (buffer.size() >= kFlushBytes) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  out.flush();
  if (!out) throw std::runtime_error("Cannot write the generated CSV");
}

void ApolloCsvGenerator::append_header(std::string& out) const {
  for (size_t c = 0; c < kColumns; ++c) {
    if (c > 0) out.push_back(',');
    append_csv_field(out, column_label(c));
  }
  out.push_back('\n');
}

void ApolloCsvGenerator::append_row(std::string& out) {
  for (std::string& v : values_) v.clear();
  RecentPerson person;
  const bool repeated = !recent_.empty() && rng_.chance(5);
  if (repeated) {
    person = recent_[rng_.below(recent_.size())];
  } else {
    person.first = first_names_.pick(rng_);
    person.last = last_names_.pick(rng_);
    person.company = companies_.pick(rng_);
  }
  fill_company(person.company);
  fill_person(person, repeated);
  for (size_t c = 0; c < kColumns; ++c) {
    if (c > 0) out.push_back(',');
    append_csv_field(out, values_[c]);
  }
  out.push_back('\n');
}

void ApolloCsvGenerator::fill_person(const RecentPerson& source, bool repeated) {
  RecentPerson person = source;
  const vocab::Name& first = vocab::first_names()[person.first];
  const vocab::Name& last = vocab::last_names()[person.last];
  at(Col::first_name) = first.display;
  at(Col::last_name) = last.display;
  if (repeated) {
    at(Col::email) = recased(person.email);
  } else if (!rng_.chance(30)) {
    person.email = make_email(first, last);
    at(Col::email) = person.email;
    if (recent_.size() < kRecentPeople) {
      recent_.push_back(person);
    } else {
      recent_[rng_.below(kRecentPeople)] = person;
    }
  }
  at(Col::email_status) = at(Col::email).empty()
                              ? "Unavailable"
                              : vocab::email_statuses()[email_statuses_.pick(rng_)].value;
  at(Col::primary_email_catch_all_status) =
      vocab::catch_all_statuses()[catch_all_statuses_.pick(rng_)].value;
  if (!rng_.chance(25)) {
    const vocab::Title& title = vocab::titles()[titles_.pick(rng_)];
    at(Col::title) = title.title;
    at(Col::seniority) = title.seniority;
    at(Col::departments) = title.departments;
  }
  at(Col::stage) = vocab::stages()[stages_.pick(rng_)].value;
  fill_location(rng_);
  fill_phones();
  fill_extras(person);
}

std::string ApolloCsvGenerator::make_email(const vocab::Name& first, const vocab::Name& last) {
  std::string local;
  const uint64_t pattern = rng_.below(100);
  if (pattern < 45) {
    local.append(first.ascii).append(".").append(last.ascii);
  } else if (pattern < 60) {
    local.append(first.ascii);
  } else if (pattern < 75) {
    local.append(first.ascii.substr(0, 1)).append(last.ascii);
  } else if (pattern < 85) {
    local.append(first.ascii).append(last.ascii);
  } else if (pattern < 93) {
    local.append(first.ascii).append("_").append(last.ascii);
  } else {
    local.append(first.ascii.substr(0, 1)).append(".").append(last.ascii);
  }
  std::string email = local + "@" + company_domain_;
  for (int n = 2; !emails_.insert(hash_lower(email)); ++n) {
    email = local + std::to_string(n) + "@" + company_domain_;
  }
  return rng_.chance(40) ? recased(email) : email;
}

void ApolloCsvGenerator::fill_location(Rng& rng) {
  size_t country = company_country_;
  size_t place = company_place_;
  const uint64_t roll = rng.below(100);
  if (roll >= 95) country = countries_.pick(rng);
  if (roll >= 85) place = rng.below(vocab::countries()[country].places.size());
  const vocab::Country& c = vocab::countries()[country];
  at(Col::city) = c.places[place].city;
  at(Col::state) = c.places[place].state;
  at(Col::country) = c.name;
}

void ApolloCsvGenerator::append_phone(std::string& out, std::string_view calling_code,
                                      Rng& rng) const {
  out.append(calling_code);
  out.push_back(' ');
  if (calling_code == "+1") {
    append_int(out, rng.between(201, 989));
    out.push_back('-');
    append_int(out, rng.between(200, 999));
    out.push_back('-');
    append_padded(out, rng.between(0, 9999), 4);
    return;
  }
  append_int(out, rng.between(10, 99));
  out.push_back(' ');
  append_padded(out, rng.between(0, 9999), 4);
  out.push_back(' ');
  append_padded(out, rng.between(0, 9999), 4);
}

void ApolloCsvGenerator::fill_phones() {
  const std::string_view code = vocab::countries()[company_country_].calling_code;
  if (rng_.chance(300)) append_phone(at(Col::work_direct_phone), code, rng_);
  if (rng_.chance(50)) append_phone(at(Col::home_phone), code, rng_);
  if (rng_.chance(350)) append_phone(at(Col::mobile_phone), code, rng_);
  if (rng_.chance(600)) at(Col::corporate_phone) = at(Col::company_phone);
  if (rng_.chance(30)) append_phone(at(Col::other_phone), code, rng_);
}

void ApolloCsvGenerator::fill_extras(const RecentPerson& person) {
  if (rng_.chance(850)) {
    std::string& url = at(Col::person_linkedin_url);
    url.append("http://www.linkedin.com/in/")
        .append(vocab::first_names()[person.first].ascii)
        .append("-")
        .append(vocab::last_names()[person.last].ascii)
        .append("-");
    append_hex(url, rng_.next(), 8);
  }
  if (rng_.chance(250)) {
    at(Col::lists) = vocab::contact_lists()[rng_.below(vocab::contact_lists().size())];
  }
  append_hex(at(Col::apollo_contact_id), rng_.next(), 16);
  append_hex(at(Col::apollo_contact_id), rng_.next(), 8);
  if (rng_.chance(80)) {
    static constexpr std::string_view kProviders[] = {"@gmail.com", "@outlook.com", "@yahoo.com"};
    std::string& email = at(Col::secondary_email);
    email.append(vocab::first_names()[person.first].ascii)
        .append(".")
        .append(vocab::last_names()[person.last].ascii);
    append_int(email, rng_.between(1, 99));
    email.append(kProviders[rng_.below(3)]);
  }
}

void ApolloCsvGenerator::fill_company(uint64_t index) {
  uint64_t mix = seed_ ^ (index * 0xD1B54A32D192ED03ULL);
  Rng rng(splitmix64(mix));
  fill_company_name(index, rng);
  fill_company_place(rng);
  fill_company_numbers(rng);
  fill_company_lists(rng);
}

// Names cycle through every word x kind pair (in a seed-dependent order) before repeating;
// a repeated name gets a numbered domain, so domains stay unique.
void ApolloCsvGenerator::fill_company_name(uint64_t index, Rng& rng) {
  const auto words = vocab::company_words();
  const auto kinds = vocab::company_kinds();
  const uint64_t pairs = words.size() * kinds.size();
  const uint64_t pair = (index % pairs * 1031 + seed_ % pairs) % pairs;
  const uint64_t round = index / pairs;
  const vocab::Name& word = words[pair % words.size()];
  const std::string_view kind = kinds[pair / words.size()];

  std::string& short_name = at(Col::company_name_for_emails);
  short_name.append(word.display).append(" ").append(kind);
  at(Col::company) = short_name;
  at(Col::company).append(vocab::legal_suffixes()[rng.below(vocab::legal_suffixes().size())]);

  std::string handle(word.ascii);
  for (const char c : kind) handle.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
  if (round > 0) append_int(handle, static_cast<int64_t>(round + 1));
  company_domain_ = handle;
  company_domain_.append(vocab::domain_suffixes()[rng.below(vocab::domain_suffixes().size())]);

  at(Col::website).append("http://www.").append(company_domain_);
  at(Col::company_linkedin_url).append("http://www.linkedin.com/company/").append(handle);
  if (rng.chance(600)) at(Col::facebook_url).append("https://www.facebook.com/").append(handle);
  if (rng.chance(500)) at(Col::twitter_url).append("https://twitter.com/").append(handle);
}

void ApolloCsvGenerator::fill_company_place(Rng& rng) {
  company_country_ = countries_.pick(rng);
  const vocab::Country& country = vocab::countries()[company_country_];
  company_place_ = rng.below(country.places.size());
  const vocab::Place& place = country.places[company_place_];
  at(Col::company_city) = place.city;
  at(Col::company_state) = place.state;
  at(Col::company_country) = country.name;
  std::string& address = at(Col::company_address);
  append_int(address, rng.between(1, 2500));
  address.append(" ").append(vocab::streets()[rng.below(vocab::streets().size())]);
  address.append(", ").append(place.city);
  if (!place.state.empty() && place.state != place.city) address.append(", ").append(place.state);
  address.append(", ").append(country.name);
  if (rng.chance(700)) append_phone(at(Col::company_phone), country.calling_code, rng);
}

void ApolloCsvGenerator::fill_company_numbers(Rng& rng) {
  const EmployeeBand& band = kEmployeeBands[employee_bands_.pick(rng)];
  const int64_t employees = rng.between(band.min, band.max);
  if (!rng.chance(80)) append_int(at(Col::employees), employees);
  company_industry_ = industries_.pick(rng);
  at(Col::industry) = vocab::industries()[company_industry_].name;
  if (rng.chance(700)) {
    const int64_t revenue = employees * rng.between(40, 400) * 1000;
    if (rng.chance(250)) {
      append_grouped(at(Col::annual_revenue), revenue);
    } else {
      append_int(at(Col::annual_revenue), revenue);
    }
  }
  if (!rng.chance(400)) return;
  const vocab::FundingRound& round = vocab::funding_rounds()[funding_rounds_.pick(rng)];
  const int64_t amount = rng.between(round.min_amount, round.max_amount) / 10000 * 10000;
  at(Col::latest_funding) = round.name;
  append_int(at(Col::latest_funding_amount), amount);
  append_int(at(Col::total_funding), amount + rng.between(0, 3) * amount / 2);
  std::string& date = at(Col::last_raised_at);
  append_int(date, rng.between(2012, 2024));
  date.push_back('-');
  append_padded(date, rng.between(1, 12), 2);
  date.push_back('-');
  append_padded(date, rng.between(1, 28), 2);
}

// Picks up to `count` distinct indices below `n` (n <= 64) with `pick`, joined by ", ".
template <typename Pick>
void append_distinct(std::string& out, size_t count, Pick pick, auto name_of) {
  uint64_t seen = 0;
  for (size_t attempt = 0; attempt < count * 4 && count > 0; ++attempt) {
    const size_t i = pick();
    if (seen & (uint64_t{1} << i)) continue;
    seen |= uint64_t{1} << i;
    if (!out.empty()) out.append(", ");
    out.append(name_of(i));
    --count;
  }
}

void ApolloCsvGenerator::fill_company_lists(Rng& rng) {
  const vocab::Industry& industry = vocab::industries()[company_industry_];
  if (rng.chance(900)) {
    std::string& keywords = at(Col::keywords);
    append_distinct(
        keywords, rng.between(2, 5), [&] { return rng.below(industry.keywords.size()); },
        [&](size_t i) { return industry.keywords[i]; });
    const auto generic = vocab::generic_keywords();
    std::string extra;
    append_distinct(
        extra, rng.between(0, 3), [&] { return rng.below(generic.size()); },
        [&](size_t i) { return generic[i]; });
    if (!extra.empty()) keywords.append(", ").append(extra);
  }
  if (rng.chance(850)) {
    append_distinct(
        at(Col::technologies), rng.between(3, 15), [&] { return technologies_.pick(rng); },
        [](size_t i) { return vocab::technologies()[i]; });
  }
}

}  // namespace

void generate_csv(uint64_t rows, uint64_t seed, std::ostream& out) {
  ApolloCsvGenerator(rows, seed).write(out);
}

}  // namespace contacts::demo
