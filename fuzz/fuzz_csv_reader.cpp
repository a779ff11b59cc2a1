// CSV reader (ingest/csv_reader): it splits whole-record lines itself and leaves the rest to
// libcsv; on any bytes, read in chunks of any size, it must give exactly the records libcsv
// alone gives (the first byte picks the chunk size, 1 to 64 bytes or 1 MiB).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/csv_reader.h"
#include "support/libcsv_records.h"

using namespace contacts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string input =
      (std::filesystem::temp_directory_path() /
       ("contacts_fuzz_" + std::to_string(::getpid()) + "_reader.csv"))
          .string();
  const size_t chunk = data[0] >= 192 ? size_t{1} << 20 : 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  test_support::CsvRecords got;
  try {
    ingest::CsvRecordReader reader(input, chunk);
    std::vector<std::string_view> fields;
    while (reader.next(fields)) got.emplace_back(fields.begin(), fields.end());
  } catch (const ingest::CsvFormatError&) {
    return 0;  // a field over 64 MiB: not reachable with fuzzer-sized inputs
  }
  if (got != test_support::libcsv_records(bytes)) std::abort();
  return 0;
}
