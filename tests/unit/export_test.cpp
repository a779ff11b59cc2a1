// CSV export: the header and records (api/export_handlers.h), the read index's ContactStream
// against its own list pages, and the round trip through the importer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/export_handlers.h"
#include "demo/generator.h"
#include "index/index_reader.h"
#include "ingest/cli_import.h"
#include "ingest/csv_import.h"
#include "ingest/csv_reader.h"
#include "ingest/header_mapping.h"
#include "query/params.h"
#include "query/parse.h"
#include "store/sqlite/sqlite_store.h"
#include "support/reader_diff.h"
#include "util/csv_writer.h"
#include "util/time.h"

using namespace contacts;

namespace {

namespace fs = std::filesystem;

constexpr const char* kHeader =
    "First Name,Last Name,Title,Company,Company Name for Emails,Email,Email Status,"
    "Primary Email Catch-all Status,Seniority,Departments,Work Direct Phone,Home Phone,"
    "Mobile Phone,Corporate Phone,Other Phone,Stage,# Employees,Industry,Keywords,"
    "Person Linkedin Url,Website,Company Linkedin Url,Facebook Url,Twitter Url,City,State,"
    "Country,Company Address,Company City,Company State,Company Country,Company Phone,"
    "Technologies,Annual Revenue,Total Funding,Latest Funding,Latest Funding Amount,"
    "Last Raised At,id,created_at,updated_at\r\n";

fs::path temp_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("contacts_export_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// What exporting does, without HTTP: the header, then every record the stream hands out.
std::string export_all(const ContactReader& reader, const std::string& query,
                       size_t batch_rows = 37) {
  const auto stream = reader.stream(parse_export_query(QueryParams::parse(query)));
  std::string csv = api::export_csv_header();
  std::vector<Contact> batch;
  for (bool more = true; more;) {
    more = stream->next(batch, batch_rows);
    EXPECT_LE(batch.size(), batch_rows);
    for (const Contact& c : batch) api::append_export_record(csv, c);
  }
  return csv;
}

// Contacts with what CSV must quote or keep: commas, quotes, newlines, Unicode, emoji, long
// values, empty values, null and zero numbers.
std::vector<ContactValues> tricky_rows() {
  std::vector<ContactValues> rows(4);
  rows[0][TextField::first_name] = "Jürgen";
  rows[0][TextField::last_name] = "MÜLLER";
  rows[0][TextField::email] = "juergen@example.de";
  rows[0][TextField::title] = "Head of Engineering, Platform";
  rows[0][TextField::company] = "Le \"Grand\" Café";
  rows[0][TextField::keywords] = "cnc, automation ,  industry 4.0";
  rows[0][TextField::last_raised_at] = "2023-06-01";
  rows[0][NumberField::employees] = 1500000;
  rows[0][NumberField::total_funding] = 0;
  rows[1][TextField::first_name] = "Élodie";
  rows[1][TextField::title] = "VP Sales\nEMEA";
  rows[1][TextField::city] = "Zürich\r\nNord";
  rows[1][TextField::industry] = "\"quoted\"";
  rows[1][TextField::technologies] = "🚀, 🌍";
  rows[2][TextField::email] = "only@example.com";
  rows[2][TextField::departments] = std::string(65535, 'd');
  rows[2][TextField::company_address] = "=SUM(A1:A9)";
  rows[3][TextField::last_name] = "ΣΊΣΥΦΟΣ";
  rows[3][TextField::website] = ",";
  rows[3][NumberField::latest_funding_amount] = 9'007'199'254'740'993;  // not a double
  return rows;
}

class ExportOfAStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = std::make_unique<SqliteStore>((dir_ / "source").string());
    {
      std::ofstream csv(dir_ / "generated.csv");
      demo::generate_csv(700, 7, csv);
    }
    ingest::StoreSink sink(*store_);
    ingest::ImportOptions options;
    options.batch_size = 150;  // created_at ties within each batch
    ASSERT_FALSE(ingest::import_csv((dir_ / "generated.csv").string(), sink, options).failed);
    store_->upsert_batch(tricky_rows(), 1'700'000'000'000'000 + 500'000);
    reader_ = std::make_unique<index::IndexReader>(index::build_snapshot(*store_));
    total_ = store_->count();  // fewer than 704: the generator repeats some e-mails
  }
  void TearDown() override {
    reader_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // Every contact of the list endpoint for `query`, walked through all its pages.
  std::vector<Contact> walk_list(const std::string& query) {
    ListQuery q = parse_list_query(QueryParams::parse(query + "&page_size=100&limit=100"));
    std::vector<Contact> all;
    for (;;) {
      ListPage page = reader_->list(q);
      all.insert(all.end(), page.rows.begin(), page.rows.end());
      if (q.cursor_strategy ? !page.next : !page.has_more) return all;
      if (q.cursor_strategy) q.cursor = page.next;
      q.offset += q.page_size;
    }
  }

  fs::path dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<index::IndexReader> reader_;
  uint64_t total_ = 0;
};

std::string ids_of(const std::vector<Contact>& contacts) {
  std::string s;
  for (const Contact& c : contacts) s += std::to_string(c.id) + " ";
  return s;
}

}  // namespace

TEST(ExportCsv, HeaderIsTheApolloLabelsThenIdAndTimes) {
  EXPECT_EQ(api::export_csv_header(), kHeader);
}

TEST(ExportCsv, EveryApolloLabelMapsBackToItsFieldAndTheExtrasGoToMetaData) {
  std::string header = api::export_csv_header();
  header.resize(header.size() - 2);
  std::vector<std::string_view> names;
  for (size_t start = 0, comma; start <= header.size(); start = comma + 1) {
    comma = header.find(',', start);
    if (comma == std::string::npos) comma = header.size();
    names.push_back(std::string_view(header).substr(start, comma - start));
  }
  ASSERT_EQ(names.size(), kTextFieldCount + kNumberFieldCount + 3);
  const ingest::HeaderMapping mapping = ingest::map_header(names);
  size_t text = 0, number = 0, meta = 0;
  for (const ingest::ColumnTarget& c : mapping.columns) {
    text += c.kind == ingest::ColumnKind::text;
    number += c.kind == ingest::ColumnKind::number;
    meta += c.kind == ingest::ColumnKind::meta;
  }
  EXPECT_EQ(text, kTextFieldCount);
  EXPECT_EQ(number, kNumberFieldCount);
  EXPECT_EQ(meta, 3u);
}

TEST(ExportCsv, RecordQuotesWhatRfc4180NeedsAndLeavesTheRestAlone) {
  Contact c;
  c.id = 42;
  c.created_at_us = 1'700'000'000'123'456;
  c.updated_at_us = 1'700'000'001'000'000;
  c.values[TextField::first_name] = "Jürgen";
  c.values[TextField::last_name] = "O'Brien";
  c.values[TextField::title] = "Head, \"Platform\"";
  c.values[TextField::company] = "Line\nbreak";
  c.values[TextField::stage] = "Lead";
  c.values[NumberField::employees] = 0;
  c.values[NumberField::latest_funding_amount] = 2500000;
  std::string out;
  api::append_export_record(out, c);
  EXPECT_EQ(out,
            "Jürgen,O'Brien,\"Head, \"\"Platform\"\"\",\"Line\nbreak\",,,,,,,,,,,,Lead,0,,,,,,,,,,,"
            ",,,,,,,,,2500000,,42,2023-11-14T22:13:20.123456Z,2023-11-14T22:13:21Z\r\n");
}

// CONTACTS_CSV_FORMULA_GUARD (issue 14): off, values are exact (round trips); on, text cells a
// spreadsheet would run get a leading apostrophe, numbers never.
TEST(ExportCsv, FormulaGuardPrefixesRiskyTextCellsOnlyWhenAskedFor) {
  Contact c;
  c.id = 7;
  c.values[TextField::first_name] = "=HYPERLINK(\"http://x\",\"y\")";
  c.values[TextField::last_name] = "+1";
  c.values[TextField::title] = "-2+3";
  c.values[TextField::company] = "@SUM(A1)";
  c.values[TextField::email] = "a=b@x.io";
  c.values[TextField::stage] = "\tTab";
  c.values[NumberField::employees] = -5;
  std::string plain, guarded;
  api::append_export_record(plain, c);
  api::append_export_record(guarded, c, true);
  EXPECT_TRUE(plain.starts_with("\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",+1,-2+3,@SUM(A1),,a=b@x.io,"))
      << plain;
  EXPECT_TRUE(
      guarded.starts_with("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+1,'-2+3,'@SUM(A1),,a=b@x.io,"))
      << guarded;
  EXPECT_NE(guarded.find(",'\tTab,-5,"), std::string::npos) << guarded;
  EXPECT_NE(plain.find(",\"\tTab\",-5,"), std::string::npos) << plain;
  std::string cell;
  append_csv_field(cell, "=1+1", true);
  EXPECT_EQ(cell, "'=1+1");
}

TEST_F(ExportOfAStore, StreamHoldsTheListEndpointsRowsInItsOrderForEveryOrdering) {
  std::vector<std::string> orderings;
  for (const std::string& key : testing_support::sort_names()) {
    orderings.push_back(key);
    orderings.push_back("-" + key);
  }
  orderings.insert(orderings.end(), {"country,-employees", "-seniority,created_at", "id,title"});
  for (const std::string filter :
       {"", "search=manager", "country=germany&employees_min=10", "title=nothing-matches-this"}) {
    for (const std::string& ordering : orderings) {
      const std::string query = filter + "&ordering=" + ordering;
      const std::vector<Contact> want = walk_list(query);
      const auto stream = reader_->stream(parse_export_query(QueryParams::parse(query)));
      std::vector<Contact> got, batch;
      for (bool more = true; more;) {
        more = stream->next(batch, 64);
        got.insert(got.end(), batch.begin(), batch.end());
      }
      ASSERT_EQ(ids_of(want), ids_of(got)) << query;
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(want[i].values.text, got[i].values.text) << query;
        ASSERT_EQ(want[i].values.numbers, got[i].values.numbers) << query;
        ASSERT_EQ(got[i].values.meta_data_json, "{}") << query;
      }
    }
  }
  EXPECT_EQ(walk_list("").size(), total_);
}

TEST_F(ExportOfAStore, DefaultOrderAndFiltersAreTheListEndpoints) {
  for (const std::string query : {"", "search=engineer%20manager", "ordering=-employees,title"}) {
    std::string want = kHeader;
    for (const Contact& c : walk_list(query)) api::append_export_record(want, c);
    EXPECT_EQ(export_all(*reader_, query), want) << query;
  }
}

TEST_F(ExportOfAStore, AnOpenStreamKeepsReadingTheSnapshotItStartedOn) {
  const auto stream = reader_->stream(parse_export_query(QueryParams::parse("ordering=id")));
  std::vector<Contact> got, batch;
  ASSERT_TRUE(stream->next(batch, 10));
  got = batch;
  // Meanwhile: every contact updated, new ones added, and the index swapped.
  std::vector<ContactValues> changed = tricky_rows();
  for (ContactValues& v : changed) v[TextField::title] = "changed";
  store_->upsert_batch(changed, 1'800'000'000'000'000);
  reader_->replace(index::build_snapshot(*store_));
  for (bool more = true; more;) {
    more = stream->next(batch, 100);
    got.insert(got.end(), batch.begin(), batch.end());
  }
  ASSERT_EQ(got.size(), total_);
  for (const Contact& c : got) EXPECT_NE(c.values[TextField::title], "changed") << c.id;
  EXPECT_EQ(reader_->count(parse_filter(QueryParams::parse("title=changed"))), 4u);
}

TEST_F(ExportOfAStore, AnEmptyResultIsTheHeaderAlone) {
  EXPECT_EQ(export_all(*reader_, "email=no-such-address"), kHeader);
  EXPECT_EQ(export_all(*reader_, "employees_min=99999999999999"), kHeader);
}

TEST_F(ExportOfAStore, ImportingTheExportIntoAnEmptyStoreGivesTheSameContacts) {
  const std::string csv = export_all(*reader_, "ordering=id");
  {
    std::ofstream file(dir_ / "export.csv", std::ios::binary);
    file << csv;
  }
  SqliteStore copy((dir_ / "copy").string());
  ingest::StoreSink sink(copy);
  const ingest::ImportResult r = ingest::import_csv((dir_ / "export.csv").string(), sink, {});
  ASSERT_FALSE(r.failed) << r.failure_reason;
  EXPECT_EQ(r.counters.errors, 0u);
  EXPECT_EQ(r.counters.success, total_);
  index::IndexReader copied(index::build_snapshot(copy));
  const auto original = index::build_snapshot(*store_);
  const auto again = copied.snapshot();
  ASSERT_EQ(again->rows, original->rows);
  for (uint32_t row = 0; row < original->rows; ++row) {
    const Contact want = original->contact(row, true);
    const Contact got = again->contact(row, true);  // imported in id order: same row order
    ASSERT_EQ(want.values.text, got.values.text) << want.id;
    ASSERT_EQ(want.values.numbers, got.values.numbers) << want.id;
    // What the contact fields cannot carry: the original id and times, kept in meta_data.
    EXPECT_EQ(got.values.meta_data_json,
              "{\"id\":\"" + std::to_string(want.id) + "\",\"created_at\":\"" +
                  timeutil::format_rfc3339(want.created_at_us) + "\",\"updated_at\":\"" +
                  timeutil::format_rfc3339(want.updated_at_us) + "\"}");
  }
  // And exporting the copy gives the same file but for those three columns.
  const std::string csv_again = export_all(copied, "ordering=id");
  ingest::CsvRecordReader ra((dir_ / "export.csv").string());
  {
    std::ofstream file(dir_ / "again.csv", std::ios::binary);
    file << csv_again;
  }
  ingest::CsvRecordReader rb((dir_ / "again.csv").string());
  std::vector<std::string_view> fa, fb;
  size_t records = 0;
  while (ra.next(fa)) {
    ASSERT_TRUE(rb.next(fb));
    ASSERT_EQ(fa.size(), fb.size());
    const size_t fields = fa.size() - (records == 0 ? 0 : 3);
    for (size_t i = 0; i < fields; ++i) ASSERT_EQ(fa[i], fb[i]) << "record " << records;
    ++records;
  }
  EXPECT_FALSE(rb.next(fb));
  EXPECT_EQ(records, total_ + 1);
}
