#include "api/cli_export.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <variant>

#include "api/export_handlers.h"
#include "ingest/cli_import.h"
#include "query/params.h"
#include "query/parse.h"

namespace contacts::api {

uint64_t export_to_file(const ContactReader& reader,
                        const std::vector<std::pair<std::string, std::string>>& filters,
                        const std::string& path, bool formula_guard, bool progress) {
  std::string raw;
  for (const auto& [name, value] : filters) {
    raw += (raw.empty() ? "" : "&") + url_encode(name) + "=" + url_encode(value);
  }
  const ListQuery q = parse_export_query(QueryParams::parse(raw));
  const uint64_t expected = progress ? reader.count(q.filter) : 0;
  const auto rows = reader.stream(q);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw std::runtime_error("cannot write " + path);
  const auto start = std::chrono::steady_clock::now();
  std::string out = export_csv_header();
  std::vector<Contact> batch;
  uint64_t written = 0;
  for (bool more = true; more;) {
    more = rows->next(batch, 256);
    for (const Contact& c : batch) append_export_record(out, c, formula_guard);
    written += batch.size();
    if (out.size() >= (256u << 10) || !more) {
      file.write(out.data(), static_cast<std::streamsize>(out.size()));
      out.clear();
      if (progress) {
        ingest::draw_progress(written, expected, written,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
  }
  if (progress) std::fputc('\n', stderr);
  file.close();
  if (!file) throw std::runtime_error("error writing " + path);
  return written;
}

std::string hive_ddl(const Settings& settings, const std::string& location) {
  std::string columns;
  auto add = [&](std::string_view name) {
    columns += (columns.empty() ? "  `" : ",\n  `") + std::string(name) + "` STRING";
  };
  for (const PayloadField& field : payload_fields()) {
    add(std::visit([](auto f) { return info(f).name; }, field));
  }
  for (const std::string_view extra : {"id", "created_at", "updated_at"}) add(extra);
  std::string quoted;
  for (char c : location) {
    if (c == '\'' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  return "CREATE EXTERNAL TABLE IF NOT EXISTS `" + settings.hive_database + "`.`" +
         settings.hive_table + "` (\n" + columns +
         "\n)\n"
         "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
         "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\"')\n"
         "STORED AS TEXTFILE\n"
         "LOCATION '" + quoted + "'\n"
         "TBLPROPERTIES ('skip.header.line.count' = '1');\n";
}

}  // namespace contacts::api
