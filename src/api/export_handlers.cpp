#include "api/export_handlers.h"

#include <array>
#include <ctime>
#include <exception>
#include <memory>
#include <string_view>
#include <variant>
#include <vector>

#include "query/parse.h"
#include "util/csv_writer.h"
#include "util/log.h"
#include "util/number_format.h"
#include "util/time.h"

namespace contacts::api {
namespace {

// Contacts asked of the reader at a time (PostgreSQL: rows per FETCH); with the chunk being
// written, what one export holds in memory.
constexpr size_t kBatchRows = 256;

// "contacts-20261126-021500.csv" (UTC).
std::string export_file_name() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char name[64];
  std::strftime(name, sizeof name, "contacts-%Y%m%d-%H%M%S.csv", &tm);
  return name;
}

// The body: the header row, then the records, about `max_bytes` per piece.
class CsvExport final : public http::BodySource {
 public:
  CsvExport(std::unique_ptr<ContactStream> rows, bool formula_guard)
      : rows_(std::move(rows)), formula_guard_(formula_guard) {}

  bool fill(std::string& out, size_t max_bytes) override {
    try {
      return fill_records(out, max_bytes);
    } catch (const std::exception& e) {
      log_event("error", "export failed; its body was cut short", e.what());
      throw;
    }
  }

 private:
  bool fill_records(std::string& out, size_t max_bytes) {
    out.clear();
    if (!header_sent_) {
      out = export_csv_header();
      header_sent_ = true;
    }
    // At most one batch is asked for per piece, so that a piece is bounded work even when
    // the reader skips many rows to find a few (the server then asks again at once).
    bool asked = false;
    while (out.size() < max_bytes) {
      if (next_ == batch_.size()) {
        if (!more_ || asked) return more_;
        more_ = rows_->next(batch_, kBatchRows);
        next_ = 0;
        asked = true;
        if (batch_.empty()) return more_;
      }
      append_export_record(out, batch_[next_++], formula_guard_);
    }
    return more_ || next_ < batch_.size();
  }

  std::unique_ptr<ContactStream> rows_;
  const bool formula_guard_;
  std::vector<Contact> batch_;
  size_t next_ = 0;   // first record of batch_ not written yet
  bool more_ = true;  // rows_ has more
  bool header_sent_ = false;
};

}  // namespace

std::string export_csv_header() {
  std::vector<std::string_view> names;
  for (const PayloadField& field : payload_fields()) {
    names.push_back(std::visit([](auto f) { return info(f).apollo_label; }, field));
  }
  for (const std::string_view extra : {"id", "created_at", "updated_at"}) names.push_back(extra);
  std::string out;
  append_csv_record(out, names);
  return out;
}

void append_export_record(std::string& out, const Contact& c, bool formula_guard) {
  for (const PayloadField& field : payload_fields()) {
    if (const TextField* text = std::get_if<TextField>(&field)) {
      append_csv_field(out, c.values[*text], formula_guard);
    } else if (const auto& number = c.values[std::get<NumberField>(field)]) {
      append_int(out, *number);
    }
    out.push_back(',');
  }
  append_int(out, c.id);
  out.push_back(',');
  out.append(timeutil::format_rfc3339(c.created_at_us));
  out.push_back(',');
  out.append(timeutil::format_rfc3339(c.updated_at_us));
  out.append("\r\n");
}

http::Response export_contacts(const RequestContext& ctx, const ContactReader& reader,
                               bool formula_guard) {
  const ListQuery q = parse_export_query(ctx.params);
  http::Response r;
  r.set_header("Content-Type", "text/csv; charset=utf-8");
  r.set_header("Content-Disposition", "attachment; filename=\"" + export_file_name() + "\"");
  r.set_header("Cache-Control", "no-store");
  r.body_source = std::make_unique<CsvExport>(reader.stream(q), formula_guard);
  return r;
}

}  // namespace contacts::api
