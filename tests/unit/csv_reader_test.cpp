// CsvRecordReader splits simple lines itself and hands the rest to libcsv: on any input, in
// chunks of any size, it must give the records libcsv alone gives.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/csv_reader.h"
#include "support/libcsv_records.h"

using namespace contacts::ingest;

namespace {

namespace fs = std::filesystem;

using Records = contacts::test_support::CsvRecords;
using contacts::test_support::libcsv_records;

class CsvReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "csv_reader_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Records reader_records(std::string_view bytes, size_t chunk_bytes) {
    const fs::path path = dir_ / "input.csv";
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    CsvRecordReader reader(path.string(), chunk_bytes);
    Records records;
    std::vector<std::string_view> fields;
    while (reader.next(fields)) records.emplace_back(fields.begin(), fields.end());
    return records;
  }

  // Expects the reader to give libcsv's records for `bytes` in chunks of every size given.
  void expect_like_libcsv(std::string_view bytes, std::initializer_list<size_t> chunks) {
    const Records expected = libcsv_records(bytes);
    for (const size_t chunk : chunks) {
      EXPECT_EQ(reader_records(bytes, chunk), expected)
          << "chunks of " << chunk << " bytes, input: \"" << bytes << "\"";
    }
  }

  fs::path dir_;
};

}  // namespace

TEST_F(CsvReaderTest, SimpleLinesAreSplitAndTrimmedLikeLibcsv) {
  expect_like_libcsv("a,b,c\n d ,\te\t,  \n,,\nx\r\ny,z\r\nlast", {1, 2, 3, 7, 1 << 20});
  EXPECT_EQ(reader_records("id, name ,\r\n1,\tAda\t,x\n", 1 << 20),
            (Records{{"id", "name", ""}, {"1", "Ada", "x"}}));
}

TEST_F(CsvReaderTest, QuotesCarriageReturnsAndBlankLinesGoToLibcsv) {
  expect_like_libcsv(
      "a,\"b,\nc\",d\n\n   \n\t\r\ne,\"f\"\"g\"\nh\ri,j\n\"k\nl\nm\",n\r\no,p\"q\n\"r\"  ,s\n",
      {1, 2, 5, 11, 1 << 20});
}

TEST_F(CsvReaderTest, RandomInputInRandomChunksGivesLibcsvsRecords) {
  // Bytes that matter to CSV, weighted so that simple lines, quoted fields over several
  // lines, stray quotes and carriage returns all occur; a fixed seed per case so that a
  // failure can be replayed.
  const std::string alphabet = "aaaaabbbc,,,,  \t\"\"\n\n\r\xC3\xA9";
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937 random(seed);
    std::string bytes(random() % 200, ' ');
    for (char& c : bytes) c = alphabet[random() % alphabet.size()];
    const size_t chunk = 1 + random() % 40;
    const Records expected = libcsv_records(bytes);
    ASSERT_EQ(reader_records(bytes, chunk), expected)
        << "seed " << seed << ", chunks of " << chunk << " bytes";
  }
}

TEST_F(CsvReaderTest, RandomRecordsOfQuotedAndPlainFieldsGiveLibcsvsRecords) {
  // Lines built from fields as exports write them (plain, quoted with commas and doubled
  // quotes, spaces around) and as they go wrong (a newline or a carriage return inside
  // quotes, text after a closing quote, a stray or unbalanced quote).
  const std::vector<std::string> fields = {
      "plain", "", "  spaced\t", "\"a, b\"", "\"\"", "\"say \"\"hi\"\"\"", " \"q\"  ",
      "\"multi\nline\"", "\"cr\rinside\"", "\"x\"y", "un\"quoted", "\"open", "\xC3\xA9t\xC3\xA9"};
  for (uint32_t seed = 1; seed <= 1000; ++seed) {
    std::mt19937 random(seed);
    std::string bytes;
    for (size_t line = random() % 6; line > 0; --line) {
      for (size_t f = 1 + random() % 5; f > 0; --f) {
        // Mostly the well-formed ones, which take the reader's own path.
        const size_t pick = random() % 4 == 0 ? random() % fields.size() : random() % 7;
        bytes += fields[pick];
        if (f > 1) bytes += ',';
      }
      bytes += random() % 3 == 0 ? "\r\n" : "\n";
    }
    const size_t chunk = 1 + random() % 64;
    const Records expected = libcsv_records(bytes);
    ASSERT_EQ(reader_records(bytes, chunk), expected)
        << "seed " << seed << ", chunks of " << chunk << " bytes";
    ASSERT_EQ(reader_records(bytes, 1 << 20), expected) << "seed " << seed << ", one chunk";
  }
}
