#include "api/contacts_handlers.h"

#include "analytics/runner.h"
#include "api/api_error.h"
#include "query/cursor.h"
#include "query/parse.h"
#include "store/store.h"
#include "util/deadline.h"
#include "util/json_writer.h"
#include "util/time.h"

namespace contacts::api {
namespace {

void write_link(JsonWriter& w, std::string_view key, const std::string& link) {
  w.key(key);
  if (link.empty()) w.null(); else w.value(link);
}

// next/previous links of a limit-offset page.
std::pair<std::string, std::string> offset_links(const RequestContext& ctx, uint64_t offset,
                                                 uint32_t limit, bool has_more) {
  std::string next, previous;
  if (has_more) {
    next = ctx.link(ctx.params.encode_with(
        {{"limit", std::to_string(limit)}, {"offset", std::to_string(offset + limit)}}));
  }
  if (offset > 0) {
    const uint64_t prev = offset > limit ? offset - limit : 0;
    previous = ctx.link(ctx.params.encode_with(
        {{"limit", std::to_string(limit)}, {"offset", std::to_string(prev)}}));
  }
  return {next, previous};
}

}  // namespace

void write_contact(JsonWriter& w, const Contact& c, bool with_meta) {
  w.begin_object();
  w.field("id", c.id);
  for (const PayloadField& field : payload_fields()) {
    if (const TextField* f = std::get_if<TextField>(&field)) {
      w.field(info(*f).name, std::string_view(c.values[*f]));
    } else {
      const NumberField n = std::get<NumberField>(field);
      w.field(info(n).name, c.values[n]);
    }
  }
  if (with_meta) {
    w.key("meta_data").raw(c.values.meta_data_json.empty() ? "{}" : c.values.meta_data_json);
  }
  w.field("created_at", std::string_view(timeutil::format_rfc3339(c.created_at_us)));
  w.field("updated_at", std::string_view(timeutil::format_rfc3339(c.updated_at_us)));
  w.end_object();
}

std::string list_contacts(const RequestContext& ctx, const ReadTarget& target) {
  const ContactReader& reader = *target.reader;
  const ListQuery q = parse_list_query(ctx.params);
  const ListPage page = reader.list(q);
  std::string next, previous;
  if (q.cursor_strategy) {
    if (page.next) {
      next = ctx.link(ctx.params.encode_with({{"cursor", encode_cursor(*page.next)}}));
    }
    if (page.previous) {
      previous = ctx.link(ctx.params.encode_with({{"cursor", encode_cursor(*page.previous)}}));
    }
  } else {
    std::tie(next, previous) = offset_links(ctx, q.offset, q.page_size, page.has_more);
  }
  const bool filtered = !q.filter.empty();
  std::string out;
  out.reserve(2048 + page.rows.size() * 1200);
  JsonWriter w(out);
  w.begin_object();
  write_link(w, "next", next);
  write_link(w, "previous", previous);
  w.key("results").begin_array();
  for (const Contact& c : page.rows) {
    write_contact(w, c, q.include_meta);
  }
  w.end_array();
  w.key("meta").begin_object();
  w.field("strategy", q.cursor_strategy ? "cursor" : "limit_offset");
  w.field("count_mode", filtered ? "none" : "estimated");
  w.key("count");
  if (filtered) w.null(); else w.value(reader.count(ContactFilter{}));
  w.field("filters_applied", filtered);
  w.field("ordering", std::string_view(q.ordering_text));
  w.field("returned_records", static_cast<uint64_t>(page.rows.size()));
  w.field("page_size", static_cast<uint64_t>(q.page_size));
  w.field("page_size_cap", static_cast<uint64_t>(kPageSizeCap));
  w.field("using_replica", target.replica);
  w.end_object();
  w.end_object();
  return out;
}

std::string retrieve_contact(const ContactReader& reader, int64_t id) {
  const auto c = reader.get(id);
  if (!c) throw ApiError(404, "Not found.");
  std::string out;
  JsonWriter w(out);
  write_contact(w, *c, /*with_meta=*/true);
  return out;
}

std::string count_contacts(const RequestContext& ctx, const ContactReader& reader) {
  const ContactFilter filter = parse_filter(ctx.params);
  uint64_t n;
  try {
    n = reader.count(filter);
  } catch (const ApiError&) {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const deadline::Exceeded&) {
    // Past the read budget: the contract's answer to a count that takes too long.
    throw Error(ErrorCode::count_timeout, "count past its time budget");
  } catch (const StoreUnavailable&) {
    throw;  // 503, or the primary when a replica failed
  } catch (const std::exception&) {
    throw ApiError(500, "Error counting contacts. Please try again later.");
  }
  std::string out;
  JsonWriter(out).begin_object().field("count", n).end_object();
  return out;
}

std::string contact_analytics(const RequestContext& ctx, const ContactReader& reader,
                              const AnalyticsSources& sources) {
  const AnalyticsQuery q = parse_analytics_query(ctx.params);
  std::optional<AnalyticsSnapshot> answer;
  std::string_view source = "database";
  if (sources.engine) {
    answer = sources.engine->compute(q.limit);
    if (answer) source = sources.engine->source();
  }
  if (!answer) {
    // A fresh budget: the wait for a failed engine is not the store's time.
    const deadline::Scope budget{sources.fallback_budget};
    answer = reader.analytics(q);
  }
  const AnalyticsSnapshot& a = *answer;
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("total_contacts", a.total_contacts);
  auto top = [&](std::string_view key, std::string_view name, const std::vector<ValueCount>& v) {
    w.key(key).begin_array();
    for (const ValueCount& vc : v) {
      w.begin_object().field(name, std::string_view(vc.value)).field("total", vc.total).end_object();
    }
    w.end_array();
  };
  top("top_countries", "country", a.top_countries);
  top("top_industries", "industry", a.top_industries);
  w.field("hadoop_job_configured", sources.hadoop_job_configured);
  w.field("generated_at", std::string_view(timeutil::format_rfc3339(timeutil::now_us() / 1000000 * 1000000)));
  w.field("limit", static_cast<uint64_t>(q.limit));
  w.field("source", source);
  w.end_object();
  return out;
}

std::string field_values(const RequestContext& ctx, const ContactReader& reader,
                         FieldEndpoint field) {
  const FieldQuery q = parse_field_query(field, ctx.params);
  const FieldPage page = reader.field_values(q);
  const auto [next, previous] = offset_links(ctx, q.offset, q.limit, page.has_more);
  const std::string_view name = field_endpoint_name(field);
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_link(w, "next", next);
  write_link(w, "previous", previous);
  w.key("results").begin_array();
  for (const FieldRow& r : page.rows) {
    w.begin_object().field("id", r.id).field(name, std::string_view(r.value)).end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace contacts::api
