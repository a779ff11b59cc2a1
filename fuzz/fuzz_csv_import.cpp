// CSV import (ingest/): reader, header mapping and row validation on any bytes, with an errors
// file: every row is counted once (imported or failed), and nothing crashes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ingest/csv_import.h"

using namespace contacts;

namespace {

class CountingSink final : public ingest::BatchSink {
 public:
  void commit(std::span<const ContactValues> rows, const ingest::ImportCounters&) override {
    rows_ += rows.size();
  }
  uint64_t rows_ = 0;
};

std::string scratch(const char* name) {
  return (std::filesystem::temp_directory_path() /
          ("contacts_fuzz_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string input = scratch("input.csv");
  static const std::string errors = scratch("errors.csv");
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  CountingSink sink;
  ingest::ImportOptions options;
  options.batch_size = 7;  // several batches even for small inputs
  options.errors_path = errors;
  options.formula_guard = size % 2 == 0;
  try {
    const ingest::ImportResult r = ingest::import_csv(input, sink, options);
    const auto& c = r.counters;
    if (!r.failed && (c.success + c.errors != c.total_rows || sink.rows_ > c.success)) {
      std::abort();  // a row lost or counted twice
    }
  } catch (const std::runtime_error&) {
    // An unreadable file is reported as such; fuzzed content never gets here.
  }
  std::filesystem::remove(errors);
  return 0;
}
