// What libcsv alone makes of some bytes: the reference that ingest::CsvRecordReader, which
// splits simple lines itself, is compared with (tests/unit/csv_reader_test.cpp and
// fuzz/fuzz_csv_reader.cpp).
#pragma once

#include <csv.h>

#include <string>
#include <string_view>
#include <vector>

namespace contacts::test_support {

using CsvRecords = std::vector<std::vector<std::string>>;

// The records libcsv gives for `bytes` fed at once, with the reader's options (none).
inline CsvRecords libcsv_records(std::string_view bytes) {
  struct State {
    CsvRecords records;
    std::vector<std::string> fields;
  } state;
  csv_parser parser{};
  if (csv_init(&parser, 0) != 0) return {};
  const auto on_field = [](void* data, size_t len, void* self) {
    auto* s = static_cast<State*>(self);
    s->fields.emplace_back(data == nullptr ? "" : std::string(static_cast<char*>(data), len));
  };
  const auto on_record = [](int, void* self) {
    auto* s = static_cast<State*>(self);
    s->records.push_back(std::move(s->fields));
    s->fields.clear();
  };
  csv_parse(&parser, bytes.data(), bytes.size(), on_field, on_record, &state);
  csv_fini(&parser, on_field, on_record, &state);
  csv_free(&parser);
  return state.records;
}

}  // namespace contacts::test_support
