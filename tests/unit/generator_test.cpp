#include "demo/generator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/csv_import.h"
#include "ingest/csv_reader.h"
#include "util/text.h"

using namespace contacts;
using namespace contacts::ingest;
using namespace contacts::demo;

namespace {

namespace fs = std::filesystem;

class CollectingSink : public BatchSink {
 public:
  void commit(std::span<const ContactValues> batch, const ImportCounters&) override {
    rows.insert(rows.end(), batch.begin(), batch.end());
  }
  std::vector<ContactValues> rows;
};

std::string generated(uint64_t rows, uint64_t seed) {
  std::ostringstream out;
  generate_csv(rows, seed, out);
  return out.str();
}

class GeneratorFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "generator_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(uint64_t rows, uint64_t seed) {
    const fs::path path = dir_ / "generated.csv";
    std::ofstream out(path, std::ios::binary);
    generate_csv(rows, seed, out);
    return path;
  }

  fs::path dir_;
};

}  // namespace

TEST(GeneratorCsv, SameSeedGivesSameBytesAndAnotherSeedOtherBytes) {
  const std::string a = generated(500, 7);
  EXPECT_EQ(a, generated(500, 7));
  EXPECT_NE(a, generated(500, 8));
}

TEST(GeneratorCsv, HeaderIsTheApolloExportWithThreeExtraColumns) {
  const std::string csv = generated(0, 1);
  EXPECT_EQ(csv,
            "First Name,Last Name,Title,Company,Company Name for Emails,Email,Email Status,"
            "Primary Email Catch-all Status,Seniority,Departments,Work Direct Phone,Home Phone,"
            "Mobile Phone,Corporate Phone,Other Phone,Stage,Lists,# Employees,Industry,Keywords,"
            "Person Linkedin Url,Website,Company Linkedin Url,Facebook Url,Twitter Url,City,State,"
            "Country,Company Address,Company City,Company State,Company Country,Company Phone,"
            "Technologies,Annual Revenue,Total Funding,Latest Funding,Latest Funding Amount,"
            "Last Raised At,Apollo Contact Id,Secondary Email\n");
}

TEST_F(GeneratorFile, WritesExactlyTheRequestedNumberOfRecords) {
  for (const uint64_t rows : {1u, 37u, 2500u}) {
    const fs::path path = write(rows, 3);
    CsvRecordReader reader(path.string());
    std::vector<std::string_view> fields;
    uint64_t records = 0;
    while (reader.next(fields)) {
      EXPECT_EQ(fields.size(), 41u);
      ++records;
    }
    EXPECT_EQ(records, rows + 1);
  }
}

TEST_F(GeneratorFile, QuotesListsAndSometimesGroupsRevenueDigits) {
  CsvRecordReader reader(write(2000, 9).string());
  std::vector<std::string_view> fields;
  reader.next(fields);
  const size_t keywords = 19;
  const size_t revenue = 34;
  ASSERT_EQ(fields[keywords], "Keywords");
  ASSERT_EQ(fields[revenue], "Annual Revenue");
  size_t lists = 0;
  size_t grouped = 0;
  while (reader.next(fields)) {
    lists += fields[keywords].find(", ") != std::string_view::npos ? 1 : 0;
    grouped += fields[revenue].find(',') != std::string_view::npos ? 1 : 0;
  }
  EXPECT_GT(lists, 1000u);
  EXPECT_GT(grouped, 50u);
}

TEST_F(GeneratorFile, GeneratedFileImportsWithoutErrors) {
  CollectingSink sink;
  ImportOptions options;
  options.batch_size = 1000;
  options.errors_path = (dir_ / "errors.csv").string();
  const ImportResult r = import_csv(write(20000, 11).string(), sink, options);
  ASSERT_FALSE(r.failed) << r.failure_reason;
  EXPECT_EQ(r.counters.total_rows, 20000u);
  EXPECT_EQ(r.counters.success, 20000u);
  EXPECT_EQ(r.counters.errors, 0u);
  EXPECT_FALSE(fs::exists(options.errors_path));
  ASSERT_EQ(sink.rows.size(), 20000u);

  std::set<std::string> companies;
  std::set<std::string> titles;
  size_t non_ascii_names = 0;
  size_t with_revenue = 0;
  for (const ContactValues& v : sink.rows) {
    companies.insert(v[TextField::company_name_for_emails]);
    titles.insert(v[TextField::title]);
    const std::string name = v[TextField::first_name] + v[TextField::last_name];
    const auto non_ascii = [](char c) { return static_cast<unsigned char>(c) >= 0x80; };
    non_ascii_names += std::any_of(name.begin(), name.end(), non_ascii) ? 1 : 0;
    EXPECT_NE(v.meta_data_json.find("\"Apollo Contact Id\":"), std::string::npos);
    with_revenue += v[NumberField::annual_revenue].has_value() ? 1 : 0;
  }
  EXPECT_GT(companies.size(), 300u);  // ~1000 companies, some sharing a name
  EXPECT_GT(titles.size(), 200u);
  EXPECT_GT(non_ascii_names, 100u);
  EXPECT_GT(with_revenue, 10000u);
}

TEST_F(GeneratorFile, AFewEmailsRepeatAnEarlierOneInOtherLetterCase) {
  CollectingSink sink;
  ImportOptions options;
  import_csv(write(20000, 5).string(), sink, options);
  std::set<std::string> exact;
  std::set<std::string> folded;
  size_t emails = 0;
  size_t case_variants = 0;
  for (const ContactValues& v : sink.rows) {
    const std::string& email = v[TextField::email];
    if (email.empty()) continue;
    ++emails;
    const bool new_exact = exact.insert(email).second;
    const bool new_folded = folded.insert(text::ascii_lower(email)).second;
    case_variants += new_exact && !new_folded ? 1 : 0;
  }
  EXPECT_GT(emails, 19000u);
  EXPECT_GT(case_variants, 40u);  // ~0.5%
  EXPECT_LT(case_variants, 200u);
}
