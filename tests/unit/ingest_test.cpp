#include <gtest/gtest.h>
#include <sys/stat.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ingest/csv_import.h"
#include "ingest/csv_reader.h"
#include "ingest/errors_file.h"
#include "ingest/header_mapping.h"
#include "ingest/row_validation.h"
#include "ingest/value_parsing.h"
#include "util/csv_writer.h"

using namespace contacts;
using namespace contacts::ingest;

namespace {

namespace fs = std::filesystem;

// Records every commit; throws instead of committing on call number `fail_on_call` (1-based).
class RecordingSink : public BatchSink {
 public:
  void commit(std::span<const ContactValues> rows, const ImportCounters& after) override {
    ++calls;
    if (calls == fail_on_call) throw std::runtime_error("simulated crash");
    if (on_commit) on_commit(after);
    this->rows.insert(this->rows.end(), rows.begin(), rows.end());
    batch_sizes.push_back(rows.size());
    counters.push_back(after);
  }

  int calls = 0;
  int fail_on_call = 0;
  std::function<void(const ImportCounters&)> on_commit;
  std::vector<ContactValues> rows;
  std::vector<size_t> batch_sizes;
  std::vector<ImportCounters> counters;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Each test gets its own directory with input.csv and errors.csv paths.
class IngestFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ingest_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    input_ = dir_ / "input.csv";
    errors_ = dir_ / "errors.csv";
  }
  void TearDown() override { fs::remove_all(dir_); }

  ImportResult import(std::string_view csv, RecordingSink& sink, size_t batch_size = 5000) {
    write_file(input_, csv);
    ImportOptions options;
    options.batch_size = batch_size;
    options.errors_path = errors_.string();
    return import_csv(input_.string(), sink, options);
  }

  // Imports `csv`, expects exactly one failed row and returns its reason (the last field of
  // the errors file's last record).
  std::string only_error(const std::string& csv) {
    RecordingSink sink;
    const ImportResult result = import(csv, sink);
    EXPECT_EQ(result.counters.errors, 1u);
    CsvRecordReader reader(errors_.string());
    std::vector<std::string_view> fields;
    std::string reason;
    while (reader.next(fields)) reason = std::string(fields.back());
    return reason;
  }

  fs::path dir_;
  fs::path input_;
  fs::path errors_;
};

class IngestImport : public IngestFiles {};
class IngestErrorsFile : public IngestFiles {};
class IngestResume : public IngestFiles {};

const std::string& text(const ContactValues& v, TextField f) { return v[f]; }

}  // namespace

// ---- values -------------------------------------------------------------------------------

TEST(IngestValues, CountsAcceptPlainGroupedAndZeroFractionForms) {
  EXPECT_EQ(parse_count("0"), 0);
  EXPECT_EQ(parse_count("42"), 42);
  EXPECT_EQ(parse_count("007"), 7);
  EXPECT_EQ(parse_count("1,500,000"), 1500000);
  EXPECT_EQ(parse_count("1500000.0"), 1500000);
  EXPECT_EQ(parse_count("1500000.00"), 1500000);
  EXPECT_EQ(parse_count("1,500,000.0"), 1500000);
  EXPECT_EQ(parse_count("9223372036854775807"), INT64_MAX);
}

TEST(IngestValues, CountsRejectFractionsSignsExponentsBadGroupsAndOverflow) {
  for (const char* bad : {"",
                          "1.5",
                          "1.05",
                          "abc",
                          "1e6",
                          "-5",
                          "+5",
                          "-0",
                          "1,50",
                          "15,00,000",
                          ",100",
                          "1,",
                          "1,,000",
                          "1.",
                          ".0",
                          "1 000",
                          "0x10",
                          "12a",
                          "9223372036854775808",
                          "99999999999999999999"}) {
    EXPECT_EQ(parse_count(bad), std::nullopt) << bad;
  }
}

TEST(IngestValues, EmailNeedsOneAtANonEmptyLocalPartAndADottedDomain) {
  for (const char* good : {"a@b.co", "first.last+tag@mail.example.com", "J.Doe@Example.COM"}) {
    EXPECT_TRUE(is_plausible_email(good)) << good;
  }
  for (const char* bad : {"plain", "a@b", "@b.com", "a@@b.com", "a@b@c.com", "a b@c.com",
                          "a@b .com", "a@b..com", "a@.b.com", "a@b.com.", "a@", "a\t@b.com"}) {
    EXPECT_FALSE(is_plausible_email(bad)) << bad;
  }
}

TEST(IngestValues, DatesInKnownFormsNormaliseToIsoDay) {
  EXPECT_EQ(normalise_date("2021-06-15"), "2021-06-15");
  EXPECT_EQ(normalise_date("2021-06-15T10:20:30"), "2021-06-15");
  EXPECT_EQ(normalise_date("2021-06-15T10:20:30Z"), "2021-06-15");
  EXPECT_EQ(normalise_date("2021-06-15T10:20:30.123Z"), "2021-06-15");
  EXPECT_EQ(normalise_date("2021-06-15T23:59:59+02:00"), "2021-06-15");
  EXPECT_EQ(normalise_date("2021-06-15T00:00:00-05:30"), "2021-06-15");
  EXPECT_EQ(normalise_date("2021-06-15 10:20:30"), "2021-06-15");
  EXPECT_EQ(normalise_date("2021/06/15"), "2021-06-15");
  EXPECT_EQ(normalise_date("6/5/2021"), "2021-06-05");
  EXPECT_EQ(normalise_date("06/15/2021"), "2021-06-15");
  EXPECT_EQ(normalise_date("2024-02-29"), "2024-02-29");
  EXPECT_EQ(normalise_date("2/29/2000"), "2000-02-29");
}

TEST(IngestValues, DatesThatAreNotRealOrNotInAKnownFormAreRejected) {
  for (const char* bad : {"2023-02-29", "1900-02-29", "2024-13-01", "2024-04-31", "2024-00-10",
                          "13/1/2024", "2024-1-5", "2024-01-01T25:00:00", "2024-01-01T10:61:00",
                          "2024-01-01T10:00:00+2:00", "2024-01-01T10:00", "2024-01-01x",
                          "yesterday", "2024", "Q3 2021", "15/06/2021", "0000-01-01"}) {
    EXPECT_EQ(normalise_date(bad), std::nullopt) << bad;
  }
}

TEST(IngestCsvWriter, QuotesOnlyWhenNeededAndDoublesQuotes) {
  std::string out;
  const std::vector<std::string_view> fields = {"plain", "a,b",     "say \"hi\"", "two\nlines",
                                                "cr\r",  " padded", "",           "Zoë"};
  append_csv_record(out, fields);
  EXPECT_EQ(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\" padded\",,Zoë\r\n");
}

// ---- header mapping -----------------------------------------------------------------------

TEST(IngestHeader, NormalisedFormKeepsOnlyLowerCaseLettersAndDigits) {
  EXPECT_EQ(normalise_header_name("# Employees"), "employees");
  EXPECT_EQ(normalise_header_name("Company Name for Emails"), "companynameforemails");
  EXPECT_EQ(normalise_header_name("primary_email_catch_all_status"), "primaryemailcatchallstatus");
  EXPECT_EQ(normalise_header_name(" Primary Email Catch-all Status "),
            "primaryemailcatchallstatus");
}

TEST(IngestHeader, EveryApolloLabelAndApiNameMapsToItsField) {
  for (size_t i = 0; i < text_fields().size(); ++i) {
    for (const std::string_view name : {text_fields()[i].name, text_fields()[i].apollo_label}) {
      const std::vector<std::string_view> header = {name};
      const HeaderMapping m = map_header(header);
      EXPECT_EQ(m.columns[0].kind, ColumnKind::text) << name;
      EXPECT_EQ(m.columns[0].index, i) << name;
    }
  }
  for (size_t i = 0; i < number_fields().size(); ++i) {
    for (const std::string_view name : {number_fields()[i].name, number_fields()[i].apollo_label}) {
      const std::vector<std::string_view> header = {name};
      const HeaderMapping m = map_header(header);
      EXPECT_EQ(m.columns[0].kind, ColumnKind::number) << name;
      EXPECT_EQ(m.columns[0].index, i) << name;
    }
  }
}

TEST(IngestHeader, MatchingIgnoresCaseAndPunctuation) {
  const std::vector<std::string_view> header = {"FIRST-NAME", "e_mail", "#employees",
                                                "Company Name (for Emails)", "last.name"};
  const HeaderMapping m = map_header(header);
  EXPECT_EQ(m.columns[0].kind, ColumnKind::text);
  EXPECT_EQ(m.columns[0].index, static_cast<size_t>(TextField::first_name));
  EXPECT_EQ(m.columns[1].index, static_cast<size_t>(TextField::email));
  EXPECT_EQ(m.columns[2].kind, ColumnKind::number);
  EXPECT_EQ(m.columns[2].index, static_cast<size_t>(NumberField::employees));
  EXPECT_EQ(m.columns[3].index, static_cast<size_t>(TextField::company_name_for_emails));
  EXPECT_EQ(m.columns[4].index, static_cast<size_t>(TextField::last_name));
}

TEST(IngestHeader, FirstColumnForAFieldWinsAndLaterOnesAndUnknownsGoToMeta) {
  const std::vector<std::string_view> header = {"Email", "Lists", "email", "First Name"};
  const HeaderMapping m = map_header(header);
  EXPECT_EQ(m.columns[0].kind, ColumnKind::text);
  EXPECT_EQ(m.columns[1].kind, ColumnKind::meta);
  EXPECT_EQ(m.columns[2].kind, ColumnKind::meta);
  EXPECT_EQ(m.columns[3].kind, ColumnKind::text);
  EXPECT_EQ(m.names[2], "email");
  EXPECT_TRUE(m.maps_any_field());
  const std::vector<std::string_view> unknown = {"Foo", "Bar"};
  EXPECT_FALSE(map_header(unknown).maps_any_field());
}

// ---- import: header and dialect -----------------------------------------------------------

TEST_F(IngestImport, StripsUtf8BomAndMapsApolloHeader) {
  RecordingSink sink;
  const ImportResult r = import(
      "\xEF\xBB\xBF"
      "First Name,Last Name,Email,# Employees\nAnn,Lee,ann@x.com,12\n",
      sink);
  ASSERT_FALSE(r.failed) << r.failure_reason;
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(text(sink.rows[0], TextField::first_name), "Ann");
  EXPECT_EQ(text(sink.rows[0], TextField::email), "ann@x.com");
  EXPECT_EQ(sink.rows[0][NumberField::employees], 12);
  EXPECT_EQ(sink.rows[0].meta_data_json, "{}");
}

TEST_F(IngestImport, HeaderWithoutAnyKnownColumnFailsTheWholeFile) {
  RecordingSink sink;
  const ImportResult r = import("Foo,Bar\n1,2\n", sink);
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.failure_reason,
            "No usable header: none of the columns matches a known contact field.");
  EXPECT_EQ(sink.calls, 0);
  EXPECT_FALSE(fs::exists(errors_));
}

TEST_F(IngestImport, EmptyOrBlankFileHasNoHeader) {
  for (const char* csv : {"", "\xEF\xBB\xBF", "\n\n", "\r\n  \r\n"}) {
    RecordingSink sink;
    const ImportResult r = import(csv, sink);
    EXPECT_TRUE(r.failed);
    EXPECT_EQ(r.failure_reason, "The file has no header row.");
    EXPECT_EQ(sink.calls, 0);
  }
}

TEST_F(IngestImport, QuotedCommasNewlinesAndDoubledQuotesAreOneValue) {
  RecordingSink sink;
  const ImportResult r = import(
      "first_name,title,keywords\n"
      "Ann,\"Head of \"\"Growth\"\"\",\"saas, b2b\"\n"
      "Bob,\"two\nlines\",\"\"\n",
      sink);
  ASSERT_EQ(r.counters.success, 2u);
  EXPECT_EQ(text(sink.rows[0], TextField::title), "Head of \"Growth\"");
  EXPECT_EQ(text(sink.rows[0], TextField::keywords), "saas, b2b");
  EXPECT_EQ(text(sink.rows[1], TextField::title), "two\nlines");
  EXPECT_EQ(text(sink.rows[1], TextField::keywords), "");
}

TEST_F(IngestImport, CrlfLineEndsLeaveNoCarriageReturns) {
  RecordingSink sink;
  const ImportResult r =
      import("first_name,last_name\r\nAnn,Lee\r\n\"Bob\",\"Ray\"\r\nCy,Doe", sink);
  ASSERT_EQ(r.counters.total_rows, 3u);
  ASSERT_EQ(r.counters.success, 3u);
  EXPECT_EQ(text(sink.rows[0], TextField::last_name), "Lee");
  EXPECT_EQ(text(sink.rows[1], TextField::last_name), "Ray");
  EXPECT_EQ(text(sink.rows[2], TextField::last_name), "Doe");
}

TEST_F(IngestImport, BlankLinesAreSkippedAndNotCounted) {
  RecordingSink sink;
  const ImportResult r =
      import("\n\nfirst_name,last_name\n\nAnn,Lee\n   \n\r\n\t\nBob,Ray\n\n\n", sink);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.counters.total_rows, 2u);
  EXPECT_EQ(r.counters.success, 2u);
  EXPECT_EQ(r.counters.errors, 0u);
  EXPECT_FALSE(fs::exists(errors_));
}

TEST_F(IngestImport, ValuesAreTrimmed) {
  RecordingSink sink;
  import("first_name,email,employees\n\"  Ann \",\" ann@x.com\t\",\" 12 \"\n", sink);
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(text(sink.rows[0], TextField::first_name), "Ann");
  EXPECT_EQ(text(sink.rows[0], TextField::email), "ann@x.com");
  EXPECT_EQ(sink.rows[0][NumberField::employees], 12);
}

// ---- import: row rules ----------------------------------------------------------------------

TEST_F(IngestImport, WrongFieldCountFails) {
  EXPECT_EQ(only_error("first_name,last_name,email\nAnn,Lee\n"), "Expected 3 fields, found 2.");
  EXPECT_EQ(only_error("first_name,last_name,email\nAnn,Lee,a@b.co,extra\n"),
            "Expected 3 fields, found 4.");
}

TEST_F(IngestImport, InvalidUtf8Fails) {
  EXPECT_EQ(only_error("first_name,last_name\nAnn,M\xFCller\n"), "Row is not valid UTF-8.");
}

TEST_F(IngestImport, NulCharacterFails) {
  EXPECT_EQ(only_error(std::string("first_name,last_name\nAnn,M\0ller\n", 32)),
            "Row contains a NUL character.");
}

TEST_F(IngestImport, NumbersAcceptSeparatorsAndZeroFractions) {
  RecordingSink sink;
  const ImportResult r = import(
      "first_name,Annual Revenue,Total Funding,latest_funding_amount,# Employees\n"
      "Ann,\"1,500,000\",1500000.0,1500000.00,\n",
      sink);
  ASSERT_EQ(r.counters.success, 1u);
  EXPECT_EQ(sink.rows[0][NumberField::annual_revenue], 1500000);
  EXPECT_EQ(sink.rows[0][NumberField::total_funding], 1500000);
  EXPECT_EQ(sink.rows[0][NumberField::latest_funding_amount], 1500000);
  EXPECT_EQ(sink.rows[0][NumberField::employees], std::nullopt);
}

TEST_F(IngestImport, InvalidNumberFailsNamingTheField) {
  EXPECT_EQ(only_error("first_name,# Employees\nAnn,abc\n"),
            "Invalid integer for employees: 'abc'.");
  EXPECT_EQ(only_error("first_name,annual_revenue\nAnn,1.5\n"),
            "Invalid integer for annual_revenue: '1.5'.");
  EXPECT_EQ(only_error("first_name,Total Funding\nAnn,-5\n"),
            "Invalid integer for total_funding: '-5'.");
  EXPECT_EQ(only_error("first_name,latest_funding_amount\nAnn,1e6\n"),
            "Invalid integer for latest_funding_amount: '1e6'.");
  EXPECT_EQ(only_error("first_name,employees\nAnn,99999999999999999999\n"),
            "Invalid integer for employees: '99999999999999999999'.");
}

TEST_F(IngestImport, InvalidEmailFails) {
  EXPECT_EQ(only_error("first_name,email\nAnn,ann@localhost\n"), "Invalid email: 'ann@localhost'.");
  EXPECT_EQ(only_error("first_name,email\nAnn,ann lee@x.com\n"), "Invalid email: 'ann lee@x.com'.");
}

TEST_F(IngestImport, RowWithoutFirstNameLastNameOrEmailFails) {
  EXPECT_EQ(only_error("first_name,last_name,email,title\n , ,,CEO\n"),
            "Row has none of first_name, last_name, email.");
}

TEST_F(IngestImport, ValueLongerThan65535BytesFails) {
  const std::string ok(65535, 'x');
  RecordingSink sink;
  EXPECT_EQ(import("first_name,title\nAnn," + ok + "\n", sink).counters.success, 1u);
  EXPECT_EQ(only_error("first_name,title\nAnn," + ok + "y\n"),
            "Value of title is longer than 65535 bytes.");
  EXPECT_EQ(only_error("first_name,Notes\nAnn," + ok + "y\n"),
            "Value of Notes is longer than 65535 bytes.");
}

TEST_F(IngestImport, UnknownColumnsGoToMetaDataWhenNotEmpty) {
  RecordingSink sink;
  import(
      "first_name,Lists,Apollo Contact Id,first name,Note \"x\"\n"
      "Ann,Q3 Outreach,abc123,Annie,\"say \"\"hi\"\"\"\n"
      "Bob,,,,\n",
      sink);
  ASSERT_EQ(sink.rows.size(), 2u);
  EXPECT_EQ(sink.rows[0].meta_data_json,
            "{\"Lists\":\"Q3 Outreach\",\"Apollo Contact Id\":\"abc123\",\"first name\":\"Annie\","
            "\"Note \\\"x\\\"\":\"say \\\"hi\\\"\"}");
  EXPECT_EQ(sink.rows[1].meta_data_json, "{}");
}

TEST_F(IngestImport, LastRaisedAtIsNormalisedWhenItIsADate) {
  RecordingSink sink;
  import("first_name,Last Raised At\nA,6/15/2021\nB,2021-06-15T08:00:00Z\nC, soon \nD,2023-02-29\n",
         sink);
  ASSERT_EQ(sink.rows.size(), 4u);
  EXPECT_EQ(text(sink.rows[0], TextField::last_raised_at), "2021-06-15");
  EXPECT_EQ(text(sink.rows[1], TextField::last_raised_at), "2021-06-15");
  EXPECT_EQ(text(sink.rows[2], TextField::last_raised_at), "soon");
  EXPECT_EQ(text(sink.rows[3], TextField::last_raised_at), "2023-02-29");
}

TEST_F(IngestImport, MissingFileThrows) {
  RecordingSink sink;
  ImportOptions options;
  EXPECT_THROW(import_csv((dir_ / "absent.csv").string(), sink, options), std::runtime_error);
}

// ---- import: batches and counters -----------------------------------------------------------

TEST_F(IngestImport, RowsAreCommittedInBatchesIncludingTheLastPartialOne) {
  RecordingSink sink;
  std::vector<uint64_t> progress;
  write_file(input_, "first_name\nA\nB\nC\nD\nE\n");
  ImportOptions options;
  options.batch_size = 2;
  options.on_progress = [&](const ImportCounters& c, uint64_t bytes) {
    progress.push_back(c.total_rows);
    EXPECT_GT(bytes, 0u);
  };
  const ImportResult r = import_csv(input_.string(), sink, options);
  EXPECT_EQ(sink.batch_sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(progress, (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(r.counters.total_rows, 5u);
  EXPECT_EQ(r.counters.success, 5u);
  EXPECT_EQ(sink.counters.back().success, 5u);
}

TEST_F(IngestImport, ErrorsAfterTheLastBatchAreCommittedWithAnEmptyBatch) {
  RecordingSink sink;
  const ImportResult r = import("first_name,email\nA,\nB,\n,\n", sink, 2);
  EXPECT_EQ(sink.batch_sizes, (std::vector<size_t>{2, 0}));
  EXPECT_EQ(sink.counters.back().total_rows, 3u);
  EXPECT_EQ(sink.counters.back().errors, 1u);
  EXPECT_EQ(r.counters.errors, 1u);
  EXPECT_EQ(r.counters.errors_file_bytes, fs::file_size(errors_));
}

// The file may already hold the errors of rows parsed while the batch was committed (they
// are cut off on resume); the size committed ends at a row's end.
TEST_F(IngestImport, EachCommitCarriesTheErrorsFileSizeOnDisk) {
  RecordingSink sink;
  sink.on_commit = [&](const ImportCounters& after) {
    const uint64_t on_disk = fs::exists(errors_) ? fs::file_size(errors_) : 0;
    EXPECT_GE(on_disk, after.errors_file_bytes);
    if (after.errors_file_bytes > 0) {
      EXPECT_EQ(read_file(errors_).substr(after.errors_file_bytes - 2, 2), "\r\n");
    }
  };
  const ImportResult r = import("first_name,email\nA,\n,\nB,bad\nC,\n,\nD,\nE,\n", sink, 2);
  EXPECT_EQ(r.counters.total_rows, 7u);
  EXPECT_EQ(r.counters.success, 4u);
  EXPECT_EQ(r.counters.errors, 3u);
  ASSERT_EQ(sink.counters.size(), 2u);
  EXPECT_GT(sink.counters[0].errors_file_bytes, 0u);
  EXPECT_GT(sink.counters[1].errors_file_bytes, sink.counters[0].errors_file_bytes);
}

// ---- errors file ------------------------------------------------------------------------------

TEST_F(IngestErrorsFile, HasOriginalHeaderPlusErrorAndQuotedFailedRows) {
  RecordingSink sink;
  import(
      "\xEF\xBB\xBF"
      "first_name,Email,\"Notes, misc\"\n"
      "Ann,ann@x.com,ok\n"
      "\"Lee, \"\"Bo\"\"\",not-an-email,\"multi\nline\"\n"
      "Cy,c@x.com\n"
      "M\xFC,m@x.com,latin1\r\n",
      sink);
  EXPECT_EQ(read_file(errors_),
            "first_name,Email,\"Notes, misc\",error\r\n"
            "\"Lee, \"\"Bo\"\"\",not-an-email,\"multi\nline\",Invalid email: 'not-an-email'.\r\n"
            "Cy,c@x.com,\"Expected 3 fields, found 2.\"\r\n"
            "M\xFC,m@x.com,latin1,Row is not valid UTF-8.\r\n");
}

// CONTACTS_CSV_FORMULA_GUARD reaches the errors file: risky cells (the header's too) get a
// leading apostrophe; without it the file holds the rows exactly.
TEST_F(IngestErrorsFile, FormulaGuardPrefixesRiskyCellsOnlyWhenAskedFor) {
  const std::string csv = "first_name,email,=cmd\n=HYPERLINK(\"x\"),@bad,+1\n";
  RecordingSink sink;
  import(csv, sink);
  EXPECT_EQ(read_file(errors_),
            "first_name,email,=cmd,error\r\n"
            "\"=HYPERLINK(\"\"x\"\")\",@bad,+1,Invalid email: '@bad'.\r\n");
  write_file(input_, csv);
  ImportOptions options;
  options.errors_path = errors_.string();
  options.formula_guard = true;
  import_csv(input_.string(), sink, options);
  EXPECT_EQ(read_file(errors_), "first_name,email,'=cmd,error\r\n"
                                "\"'=HYPERLINK(\"\"x\"\")\",'@bad,'+1,Invalid email: '@bad'.\r\n");
}

TEST_F(IngestErrorsFile, NotCreatedWithoutErrorsAndStaleOneIsRemoved) {
  write_file(errors_, "left over from an earlier job\n");
  RecordingSink sink;
  const ImportResult r = import("first_name\nAnn\n", sink);
  EXPECT_EQ(r.counters.errors, 0u);
  EXPECT_EQ(r.counters.errors_file_bytes, 0u);
  EXPECT_FALSE(fs::exists(errors_));
}

// `--errors /dev/null` once removed /dev/null (as root): only a regular file is ever removed
// or cut; a device or a pipe is written to as it is. (A FIFO stands in for the device here.)
TEST_F(IngestErrorsFile, AnErrorsPathThatIsNoRegularFileIsNeverRemoved) {
  const fs::path fifo = fs::path(errors_).parent_path() / "errors.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  { ErrorsFile file(fifo.string(), {"first_name"}, 0); }
  EXPECT_TRUE(fs::is_fifo(fifo));
  fs::remove(fifo);
}

// ---- resume -------------------------------------------------------------------------------------

TEST_F(IngestResume, CrashAfterSecondCommitThenResumeImportsEveryRowOnce) {
  // 20 rows: every third has no name or email and fails; batches of 3 valid rows.
  std::string csv = "first_name,email\n";
  std::vector<std::string> valid;
  std::vector<std::string> failing;
  for (int i = 0; i < 20; ++i) {
    const std::string n = "n" + std::to_string(i);
    if (i % 3 == 2) {
      csv += ",\"" + n + "\"\n";  // not an e-mail and no name: fails
      failing.push_back(n);
    } else {
      csv += n + ",\n";
      valid.push_back(n);
    }
    if (i % 5 == 0) csv += "\n";  // blank lines must not shift the resume point
  }
  write_file(input_, csv);

  RecordingSink crashing;
  crashing.fail_on_call = 3;
  ImportOptions options;
  options.batch_size = 3;
  options.errors_path = errors_.string();
  EXPECT_THROW(import_csv(input_.string(), crashing, options), std::runtime_error);
  ASSERT_EQ(crashing.counters.size(), 2u);
  // Lines written after the last checkpoint, as a crash may leave them.
  std::ofstream(errors_, std::ios::app) << "half-written line";

  RecordingSink resumed;
  options.resume_from = crashing.counters.back();
  const ImportResult r = import_csv(input_.string(), resumed, options);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.counters.total_rows, 20u);
  EXPECT_EQ(r.counters.success, valid.size());
  EXPECT_EQ(r.counters.errors, failing.size());

  std::vector<std::string> imported;
  for (const auto* sink : {&crashing, &resumed}) {
    for (const ContactValues& v : sink->rows) imported.push_back(v[TextField::first_name]);
  }
  EXPECT_EQ(imported, valid);

  std::string expected_errors = "first_name,email,error\r\n";
  for (const std::string& n : failing) {
    expected_errors += "," + n + ",Invalid email: '" + n + "'.\r\n";
  }
  EXPECT_EQ(read_file(errors_), expected_errors);
  EXPECT_EQ(r.counters.errors_file_bytes, expected_errors.size());
}

TEST_F(IngestResume, ResumingAFinishedImportCommitsNothing) {
  RecordingSink first;
  const ImportResult done = import("first_name,email\nA,\n,\n", first);
  RecordingSink again;
  ImportOptions options;
  options.errors_path = errors_.string();
  options.resume_from = done.counters;
  const ImportResult r = import_csv(input_.string(), again, options);
  EXPECT_EQ(again.calls, 0);
  EXPECT_EQ(r.counters.total_rows, 2u);
  EXPECT_EQ(r.counters.errors, 1u);
  EXPECT_EQ(fs::file_size(errors_), done.counters.errors_file_bytes);
}

TEST_F(IngestResume, CheckpointWithoutErrorsRemovesAnErrorsFileWrittenAfterIt) {
  write_file(input_, "first_name\nA\nB\n\n");
  write_file(errors_, "first_name,error\r\n,\"Row has none of first_name, last_name, email.\"\r\n");
  RecordingSink sink;
  ImportOptions options;
  options.errors_path = errors_.string();
  options.resume_from = {1, 1, 0, 0};
  const ImportResult r = import_csv(input_.string(), sink, options);
  EXPECT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0][TextField::first_name], "B");
  EXPECT_EQ(r.counters.total_rows, 2u);
  EXPECT_FALSE(fs::exists(errors_));
}
