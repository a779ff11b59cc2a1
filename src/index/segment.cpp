#include "index/segment.h"

#include <algorithm>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>

#include "index/dictionary_merge.h"
#include "index/pod_buffer.h"
#include "util/text.h"
#include "util/worker_thread.h"

namespace contacts::index {
namespace {

// Section numbers of the columns that are not dictionary-encoded.
constexpr uint32_t kIds = 1, kCreatedAt = 2, kUpdatedAt = 3, kCreatedOrder = 4, kNumbers = 16;
// Column numbers (text_column.h's section_id) past the text fields.
constexpr uint32_t kMetaColumn = kTextFieldCount, kCompanyAddressColumn = kTextFieldCount + 1,
                   kContactAddressColumn = kTextFieldCount + 2,
                   kKeywordListColumn = kTextFieldCount + 3;

// Text fields whose values get their collation order when written (text_column.h): all but
// those with about one value per row that people seldom sort by (Segment::text_rank computes
// theirs on first use).
bool needs_order(TextField f) {
  switch (f) {
    case TextField::work_direct_phone: case TextField::home_phone:
    case TextField::mobile_phone: case TextField::corporate_phone:
    case TextField::other_phone: case TextField::person_linkedin_url:
      return false;
    default:
      return true;
  }
}

// Text fields with a presorted row order (Segment::sort_orders, 4 bytes a row each): the
// columns people sort by. Other orderings sort their matches by rank (list_pages.h).
bool has_sort_order(TextField f) {
  switch (f) {
    case TextField::first_name: case TextField::last_name: case TextField::title:
    case TextField::company: case TextField::email: case TextField::email_status:
    case TextField::primary_email_catch_all_status: case TextField::seniority:
    case TextField::departments: case TextField::stage: case TextField::industry:
    case TextField::city: case TextField::state: case TextField::country:
    case TextField::company_address: case TextField::company_city:
    case TextField::company_state: case TextField::company_country:
    case TextField::latest_funding: case TextField::last_raised_at:
      return true;
    default:
      return false;
  }
}

// Section of the sort order of key k: kSortOrders + k.
constexpr uint32_t kSortOrders = 0x800;

// Rows by (rank of their code, row); rows of code 0 (empty) last, in row order. A counting
// sort: linear in rows and codes.
std::vector<uint32_t> order_by_rank(std::span<const uint32_t> codes,
                                    const std::vector<uint32_t>& rank) {
  std::vector<uint32_t> start(rank.size() + 1, 0);  // by rank; the empty code goes last
  auto slot = [&](uint32_t code) { return code == 0 ? static_cast<uint32_t>(rank.size()) : rank[code]; };
  std::vector<uint32_t> count(rank.size() + 1, 0);
  for (uint32_t c : codes) ++count[slot(c)];
  uint32_t sum = 0;
  for (size_t r = 0; r < count.size(); ++r) {
    start[r] = sum;
    sum += count[r];
  }
  std::vector<uint32_t> order(codes.size());
  for (uint32_t row = 0; row < codes.size(); ++row) order[start[slot(codes[row])]++] = row;
  return order;
}

// A number as an unsigned sort key: INT64_MIN + 1 .. INT64_MAX -> 0 .. UINT64_MAX - 1; null
// (kNullNumber, INT64_MIN, never a value) -> UINT64_MAX, after every value.
uint64_t number_key(int64_t v) {
  return v == kNullNumber ? UINT64_MAX : (static_cast<uint64_t>(v) ^ (uint64_t{1} << 63)) - 1;
}

// Rows by (value, row); null values (kNullNumber) last, in row order. Sorts (key, row) pairs:
// no indirection through `values` while sorting.
std::vector<uint32_t> order_by_number(std::span<const int64_t> values) {
  struct Entry {
    uint64_t key;
    uint32_t row;
  };
  PodBuffer<Entry> entries;
  Entry* e = entries.extend(values.size());
  for (uint32_t r = 0; r < values.size(); ++r) e[r] = {number_key(values[r]), r};
  std::sort(e, e + values.size(), [](const Entry& a, const Entry& b) {
    return a.key != b.key ? a.key < b.key : a.row < b.row;
  });
  std::vector<uint32_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = e[i].row;
  return order;
}

// Per source of a merge: its row -> the merged segment's row, kNoRow for rows left out.
using MergedRows = std::vector<std::vector<uint32_t>>;

// Writes as section `id` the merged segment's rows in (key, row) order, by merging the
// sources' own orders of that key (`orders`, one per source): a source's rows keep their
// relative order in the merged segment, so its kept rows, in its order, are already in
// (key, merged row) order. key(part, source row, merged row) must agree with each source's
// order. Streams the result: no memory but the merge's heads.
template <class Key>
void merge_orders(SegmentWriter& out, uint32_t id,
                  const std::vector<std::span<const uint32_t>>& orders, const MergedRows& merged,
                  Key key) {
  struct Head {
    size_t at = 0;
    uint64_t key = 0;
    uint32_t row = kNoRow;  // merged row; kNoRow once the source is done
  };
  std::vector<Head> heads(orders.size());
  auto advance = [&](size_t p) {
    Head& h = heads[p];
    const auto order = orders[p];
    const std::vector<uint32_t>& to = merged[p];
    while (h.at < order.size() && to[order[h.at]] == kNoRow) ++h.at;
    h.row = h.at < order.size() ? to[order[h.at]] : kNoRow;
    if (h.row != kNoRow) h.key = key(p, order[h.at], h.row);
  };
  for (size_t p = 0; p < heads.size(); ++p) advance(p);
  std::vector<uint32_t> piece;
  piece.reserve(16384);
  out.begin_section(id);
  for (;;) {
    size_t best = heads.size();
    for (size_t p = 0; p < heads.size(); ++p) {
      const Head& h = heads[p];
      if (h.row == kNoRow) continue;
      if (best == heads.size() || h.key < heads[best].key ||
          (h.key == heads[best].key && h.row < heads[best].row)) {
        best = p;
      }
    }
    if (best == heads.size()) break;
    piece.push_back(heads[best].row);
    if (piece.size() == piece.capacity()) {
      out.append(piece.data(), piece.size() * sizeof(uint32_t));
      piece.clear();
    }
    ++heads[best].at;
    advance(best);
  }
  out.append(piece.data(), piece.size() * sizeof(uint32_t));
  out.end_section();
}

// The sort orders of `key` of every source, or nothing when one lacks it.
std::optional<std::vector<std::span<const uint32_t>>> orders_of(
    const std::vector<const Segment*>& sources, SortKey key) {
  std::vector<std::span<const uint32_t>> orders;
  for (const Segment* s : sources) {
    const auto order = s->sort_orders[static_cast<size_t>(key)];
    if (order.size() != s->rows) return std::nullopt;
    orders.push_back(order);
  }
  return orders;
}

// Writes the sort order of key `key` over a number column (a number field, or updated_at).
void add_number_order(SegmentWriter& out, SortKey key, std::span<const int64_t> values) {
  out.add(kSortOrders + static_cast<uint32_t>(key), order_by_number(values));
}

// Writes the sort order of text column `column`, from its codes and its codes' ranks.
void add_text_order(SegmentWriter& out, uint32_t column, std::span<const uint32_t> codes,
                    const std::vector<uint32_t>& rank) {
  if (column >= kTextFieldCount || rank.empty()) return;
  const auto field = static_cast<TextField>(column);
  if (has_sort_order(field)) {
    out.add(kSortOrders + static_cast<uint32_t>(sort_key_of(field)), order_by_rank(codes, rank));
  }
}

}  // namespace

// The builder's columns, in groups of work: text fields 0..kTextFieldCount-1, then meta,
// the two addresses, the keyword list, and kFixedWork (ids, times, numbers). Each is only
// touched by one thread at a time, so two threads can fill different ones.
constexpr uint32_t kFixedWork = kKeywordListColumn + 1, kWorkCount = kFixedWork + 1;

// Which of two threads fills a column in add_batch: 1 for the builder's thread, which takes
// the columns with the most distinct values (hash-table misses), 0 for the caller's thread,
// which also reads the store.
constexpr bool on_helper(uint32_t work) {
  switch (work) {
    case static_cast<uint32_t>(TextField::email):
    case static_cast<uint32_t>(TextField::person_linkedin_url):
    case static_cast<uint32_t>(TextField::work_direct_phone):
    case static_cast<uint32_t>(TextField::home_phone):
    case static_cast<uint32_t>(TextField::mobile_phone):
    case static_cast<uint32_t>(TextField::corporate_phone):
    case static_cast<uint32_t>(TextField::other_phone):
    case static_cast<uint32_t>(TextField::first_name):
    case static_cast<uint32_t>(TextField::last_name):
    case static_cast<uint32_t>(TextField::keywords):
    case static_cast<uint32_t>(TextField::website):
    case static_cast<uint32_t>(TextField::company_linkedin_url):
    case static_cast<uint32_t>(TextField::facebook_url):
    case static_cast<uint32_t>(TextField::twitter_url):
    case kContactAddressColumn:
    case kCompanyAddressColumn:
    case kMetaColumn:
    case kKeywordListColumn:
      return true;
    default:
      return false;
  }
}

// Jobs of SegmentBuilder::finish: the column works below kFixedWork, then kFixedWork (ids,
// created_at and its order), kFixedWork + 1 (updated_at), kFixedWork + 2 + f (number f).
constexpr size_t kWriteJobCount = kFixedWork + 2 + kNumberFieldCount;

// The order in which the two threads take finish's jobs: the longest first (the largest
// dictionaries to sort), so that neither thread is left with a long job at the end.
std::array<size_t, kWriteJobCount> write_schedule() {
  constexpr TextField kFirst[] = {TextField::email, TextField::person_linkedin_url};
  std::array<size_t, kWriteJobCount> order{};
  size_t n = 0;
  for (TextField f : kFirst) order[n++] = static_cast<size_t>(f);
  order[n++] = kCompanyAddressColumn;
  order[n++] = kContactAddressColumn;
  for (size_t j = 0; j < kWriteJobCount; ++j) {
    if (std::find(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), j) ==
        order.begin() + static_cast<std::ptrdiff_t>(n)) {
      order[n++] = j;
    }
  }
  return order;
}

struct SegmentBuilder::Columns {
  uint32_t rows = 0;
  PodBuffer<int64_t> ids, created_at_us, updated_at_us;
  std::array<PodBuffer<uint32_t>, kTextFieldCount> codes;
  std::array<DictionaryBuilder, kTextFieldCount> dicts;
  std::array<PodBuffer<int64_t>, kNumberFieldCount> numbers;
  PodBuffer<uint32_t> meta_codes, company_address_codes, contact_address_codes;
  DictionaryBuilder meta{/*distinct=*/false}, company_address, contact_address, keywords;
  PodBuffer<uint32_t> keyword_start, keyword_codes;
  // What a thread's work on a batch's column hands to DictionaryBuilder::add_many: one set
  // for the caller's thread, one for the helper's.
  struct Scratch {
    std::vector<std::string_view> values;
    std::vector<uint32_t> rows;
    std::vector<std::string> joined;  // the addresses
  };
  std::array<Scratch, 2> scratch;
  std::vector<Contact> batch;  // add_batch's, until the helper is done with it
  WorkerThread helper{"index-build"};

  // Adds column `work` of `batch`, whose first contact is row `first`.
  void add(uint32_t work, std::span<const Contact> batch, uint32_t first);
};

void SegmentBuilder::Columns::add(uint32_t work, std::span<const Contact> batch,
                                  uint32_t first) {
  Scratch& x = scratch[on_helper(work)];
  x.values.clear();
  x.rows.clear();
  // Adds x.values (of rows x.rows, or first, first + 1, ... when empty) to `dict`.
  auto add_values = [&](DictionaryBuilder& dict, PodBuffer<uint32_t>& out) {
    if (x.rows.empty()) {
      for (uint32_t i = 0; i < x.values.size(); ++i) x.rows.push_back(first + i);
    }
    dict.add_many(x.values, x.rows.data(), out.extend(x.values.size()));
  };
  // The addresses joined from `parts` of each contact.
  auto add_joined = [&](DictionaryBuilder& dict, PodBuffer<uint32_t>& out,
                        std::initializer_list<TextField> parts) {
    x.joined.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      std::string& joined = x.joined[i];
      joined.clear();
      for (TextField f : parts) {
        const std::string& p = batch[i].values[f];
        if (p.empty()) continue;
        if (!joined.empty()) joined.append(", ");
        joined.append(p);
      }
      x.values.push_back(joined);
    }
    add_values(dict, out);
  };
  if (work < kTextFieldCount) {
    for (const Contact& c : batch) x.values.push_back(c.values.text[work]);
    add_values(dicts[work], codes[work]);
    return;
  }
  switch (work) {
    case kMetaColumn:
      for (const Contact& c : batch) x.values.push_back(c.values.meta_data_json);
      add_values(meta, meta_codes);
      return;
    case kCompanyAddressColumn:
      add_joined(company_address, company_address_codes,
                 {TextField::company_address, TextField::company_city, TextField::company_state,
                  TextField::company_country});
      return;
    case kContactAddressColumn:
      add_joined(contact_address, contact_address_codes,
                 {TextField::city, TextField::state, TextField::country});
      return;
    case kKeywordListColumn: {
      uint32_t row = first;
      for (const Contact& c : batch) {
        keyword_start.push_back(static_cast<uint32_t>(keyword_codes.size() + x.values.size()));
        for (std::string_view k : text::split_trimmed(c.values[TextField::keywords], ',')) {
          x.values.push_back(k);
          x.rows.push_back(row);
        }
        ++row;
      }
      if (!x.values.empty()) add_values(keywords, keyword_codes);
      return;
    }
    default:  // kFixedWork
      for (const Contact& c : batch) {
        ids.push_back(c.id);
        created_at_us.push_back(c.created_at_us);
        updated_at_us.push_back(c.updated_at_us);
        for (size_t f = 0; f < kNumberFieldCount; ++f) {
          numbers[f].push_back(c.values.numbers[f] ? *c.values.numbers[f] : kNullNumber);
        }
      }
      return;
  }
}

SegmentBuilder::SegmentBuilder() : columns_(std::make_unique<Columns>()) {}
SegmentBuilder::~SegmentBuilder() = default;

uint32_t SegmentBuilder::rows() const { return columns_->rows; }

void SegmentBuilder::add(const Contact& c) {
  Columns& s = *columns_;
  s.helper.wait();
  for (uint32_t w = 0; w < kWorkCount; ++w) s.add(w, {&c, 1}, s.rows);
  ++s.rows;
}

std::vector<Contact> SegmentBuilder::add_batch(std::vector<Contact>&& batch) {
  Columns& s = *columns_;
  s.helper.wait();  // the previous batch is done with
  if (batch.size() > UINT32_MAX - 1 - s.rows) throw std::length_error("segment full");
  std::vector<Contact> previous = std::exchange(s.batch, std::move(batch));
  const uint32_t first = s.rows;
  s.rows += static_cast<uint32_t>(s.batch.size());
  s.helper.post([&s, first] {
    for (uint32_t w = 0; w < kWorkCount; ++w) {
      if (on_helper(w)) s.add(w, s.batch, first);
    }
  });
  for (uint32_t w = 0; w < kWorkCount; ++w) {
    if (!on_helper(w)) s.add(w, s.batch, first);
  }
  return previous;
}

std::shared_ptr<const Segment> SegmentBuilder::finish(const std::string& path,
                                                      const SegmentIdentity& identity,
                                                      Finish what) {
  const bool whole = what == Finish::whole;
  columns_->helper.wait();
  std::unique_ptr<Columns> taken = std::exchange(columns_, std::make_unique<Columns>());
  Columns& s = *taken;
  std::vector<Contact>().swap(s.batch);
  SegmentWriter out(path, whole ? SegmentWriter::Durability::synced
                                : SegmentWriter::Durability::scratch);
  // Each array is freed once written, so the builder's memory shrinks as the file grows.
  auto put = [&out](uint32_t id, auto& values) {
    out.add(id, values);
    values = std::remove_reference_t<decltype(values)>();
  };
  auto write = [&](size_t work) {
    if (work < kTextFieldCount) {
      const uint32_t f = static_cast<uint32_t>(work);
      const auto field = static_cast<TextField>(f);
      const std::vector<uint32_t> rank = s.dicts[f].write(out, f, whole && needs_order(field),
                                                          whole && info(field).in_search);
      add_text_order(out, f, s.codes[f], rank);
      put(section_id(f, ColumnPart::codes), s.codes[f]);
      return;
    }
    switch (work) {
      case kMetaColumn:
        put(section_id(kMetaColumn, ColumnPart::codes), s.meta_codes);
        s.meta.write(out, kMetaColumn, false);
        return;
      case kCompanyAddressColumn:
        put(section_id(kCompanyAddressColumn, ColumnPart::codes), s.company_address_codes);
        s.company_address.write(out, kCompanyAddressColumn, whole);
        return;
      case kContactAddressColumn:
        put(section_id(kContactAddressColumn, ColumnPart::codes), s.contact_address_codes);
        s.contact_address.write(out, kContactAddressColumn, whole);
        return;
      case kKeywordListColumn:
        s.keyword_start.push_back(static_cast<uint32_t>(s.keyword_codes.size()));
        put(section_id(kKeywordListColumn, ColumnPart::row_start), s.keyword_start);
        put(section_id(kKeywordListColumn, ColumnPart::codes), s.keyword_codes);
        s.keywords.write(out, kKeywordListColumn, whole);
        return;
      case kFixedWork:
        out.add(kCreatedOrder, order_by_number(s.created_at_us));
        put(kIds, s.ids);
        put(kCreatedAt, s.created_at_us);
        return;
      case kFixedWork + 1:
        if (whole) add_number_order(out, SortKey::updated_at, s.updated_at_us);
        put(kUpdatedAt, s.updated_at_us);
        return;
      default: {  // a number field
        const uint32_t f = static_cast<uint32_t>(work - kFixedWork - 2);
        if (whole) add_number_order(out, sort_key_of(static_cast<NumberField>(f)), s.numbers[f]);
        put(kNumbers + f, s.numbers[f]);
      }
    }
  };
  const auto schedule = write_schedule();
  run_on_both(s.helper, schedule.size(), [&](size_t i) { write(schedule[i]); });
  SegmentIdentity id = identity;
  id.rows = s.rows;
  taken.reset();
  return load_segment(out.finish(id));
}

namespace {

constexpr ColumnPart kDictionaryParts[] = {
    ColumnPart::codes,          ColumnPart::values_bytes, ColumnPart::values_offsets,
    ColumnPart::folded_bytes,   ColumnPart::folded_offsets, ColumnPart::by_rank,
    ColumnPart::rank,           ColumnPart::first_row,    ColumnPart::row_count,
    ColumnPart::row_start,      ColumnPart::trigram_keys, ColumnPart::trigram_starts,
    ColumnPart::trigram_postings};

// One pass of merge_segments: a dictionary-encoded column. Each source code is looked up in
// the new dictionary once (a map per source), so most rows cost two array reads.
// merge_segments' stop flag, checked between columns and inside the largest.
void throw_if_stopped(const std::atomic<bool>* stop) {
  if (stop && stop->load()) throw MergeStopped{};
}

class ColumnMerge {
 public:
  ColumnMerge(const std::vector<const Segment*>& sources, const std::vector<Ref>& rows,
              const MergedRows& merged, SegmentWriter& out, const std::atomic<bool>* stop)
      : sources_(sources), rows_(rows), merged_(merged), out_(out), stop_(stop) {}

  // A column of distinct values: merged from the sources' dictionaries (dictionary_merge.h).
  template <class ColumnOf>
  void text(uint32_t column, ColumnOf column_of, bool with_order, bool with_trigrams = false) {
    std::vector<const Dictionary*> dicts;
    for (const Segment* s : sources_) dicts.push_back(&column_of(*s).dict);
    DictionaryMerge merge(std::move(dicts));
    for (const Ref& r : rows_) merge.use(r.part, column_of(*sources_[r.part]).codes[r.row]);
    merge.number();
    // The largest columns take a good part of a merge: a stop is not left waiting for them.
    throw_if_stopped(stop_);
    std::vector<uint32_t> codes(rows_.size());
    for (uint32_t i = 0; i < rows_.size(); ++i) {
      const Ref& r = rows_[i];
      codes[i] = merge.code(r.part, column_of(*sources_[r.part]).codes[r.row]);
    }
    for (const Segment* s : sources_) s->bytes->release(section_id(column, ColumnPart::codes));
    const std::vector<uint32_t> rank = merge.write(out_, column, codes, with_order, with_trigrams);
    finish_codes(column, codes, rank);
  }

  // A column of plain values (meta_data): every row's non-empty value under a code of its
  // own, in row order (DictionaryBuilder's plain layout). Streamed from the sources' values
  // into the file, a section at a time, their pages given back as read: the largest column
  // of a base (0.6 GB at 10M contacts) is never copied into memory.
  template <class ColumnOf>
  void plain_text(uint32_t column, ColumnOf column_of) {
    const auto value_of = [&](const Ref& r) {
      const TextColumn& col = column_of(*sources_[r.part]);
      return col.dict.values.get(col.codes[r.row]);
    };
    std::vector<uint32_t> codes(rows_.size());
    uint32_t empty_first = kNoRow, empty_count = 0, next = 1;
    for (uint32_t i = 0; i < rows_.size(); ++i) {
      if (!value_of(rows_[i]).empty()) {
        codes[i] = next++;
      } else {
        if (empty_first == kNoRow) empty_first = i;
        ++empty_count;
      }
    }
    // Each source's values are read in ascending order (its rows are in id order, and a plain
    // column's codes follow its rows): released every kReleaseEvery behind the reading position.
    std::vector<uint64_t> released(sources_.size(), 0);
    out_.begin_section(section_id(column, ColumnPart::values_bytes));
    out_.append("", 1);  // code 0, the empty value
    for (uint32_t i = 0; i < rows_.size(); ++i) {
      if (codes[i] == 0) continue;
      const std::string_view v = value_of(rows_[i]);
      out_.append(v.data(), v.size());
      out_.append("", 1);
      const Pool& pool = column_of(*sources_[rows_[i].part]).dict.values;
      const uint64_t at = static_cast<uint64_t>(v.data() - pool.bytes().data());
      uint64_t& done = released[rows_[i].part];
      if (at > done + SegmentBytes::kReleaseEvery) {
        SegmentBytes::release_range(pool.bytes().data() + done, at - done);
        done = at;
      }
    }
    out_.end_section();
    out_.begin_section(section_id(column, ColumnPart::values_offsets));
    uint64_t at = 0;
    out_.append_value(at);
    out_.append_value(at += 1);
    for (uint32_t i = 0; i < rows_.size(); ++i) {
      if (codes[i] != 0) out_.append_value(at += value_of(rows_[i]).size() + 1);
    }
    out_.end_section();
    out_.add(section_id(column, ColumnPart::by_rank), std::span<const uint32_t>());
    out_.add(section_id(column, ColumnPart::rank), std::span<const uint32_t>());
    out_.begin_section(section_id(column, ColumnPart::first_row));
    out_.append_value(empty_first);
    for (uint32_t i = 0; i < rows_.size(); ++i) {
      if (codes[i] != 0) out_.append_value(i);
    }
    out_.end_section();
    out_.begin_section(section_id(column, ColumnPart::row_count));
    out_.append_value(empty_count);
    const uint32_t one = 1;
    for (uint32_t c = 1; c < next; ++c) out_.append_value(one);
    out_.end_section();
    for (const Segment* s : sources_) s->bytes->release(section_id(column, ColumnPart::codes));
    finish_codes(column, codes, {});
  }

  void keyword_list(uint32_t column) {
    auto column_of = [](const Segment& s) -> const ListColumn& { return s.keyword_list; };
    DictionaryBuilder dict;
    std::vector<std::vector<uint32_t>> maps = code_maps(column_of);
    std::vector<uint32_t> codes, starts;
    starts.reserve(rows_.size() + 1);
    for (uint32_t i = 0; i < rows_.size(); ++i) {
      const Ref& r = rows_[i];
      const ListColumn& col = column_of(*sources_[r.part]);
      starts.push_back(static_cast<uint32_t>(codes.size()));
      for (uint32_t k = col.row_start[r.row]; k < col.row_start[r.row + 1]; ++k) {
        codes.push_back(map_code(dict, maps[r.part], col.dict, col.codes[k], i));
      }
    }
    starts.push_back(static_cast<uint32_t>(codes.size()));
    out_.add(section_id(column, ColumnPart::row_start), starts);
    finish(column, dict, codes, true);
  }

 private:
  template <class ColumnOf>
  std::vector<std::vector<uint32_t>> code_maps(ColumnOf column_of) const {
    std::vector<std::vector<uint32_t>> maps(sources_.size());
    for (size_t p = 0; p < sources_.size(); ++p) maps[p].assign(column_of(*sources_[p]).dict.size(), kNoRow);
    return maps;
  }
  static uint32_t map_code(DictionaryBuilder& dict, std::vector<uint32_t>& map,
                           const Dictionary& from, uint32_t code, uint32_t row) {
    uint32_t& to = map[code];
    if (to == kNoRow) {
      to = dict.add(from.values.get(code), row);
    } else {
      dict.count(to, row);
    }
    return to;
  }
  void finish(uint32_t column, DictionaryBuilder& dict, std::vector<uint32_t>& codes,
              bool with_order) {
    finish_codes(column, codes, dict.write(out_, column, with_order));
  }
  void finish_codes(uint32_t column, std::vector<uint32_t>& codes,
                    const std::vector<uint32_t>& rank) {
    const auto field = static_cast<TextField>(column);
    std::optional<std::vector<std::span<const uint32_t>>> orders;
    if (column < kTextFieldCount && !rank.empty() && has_sort_order(field)) {
      orders = orders_of(sources_, sort_key_of(field));
    }
    if (orders) {
      // Rows by (rank of their code, row), the empty code last: the sources' orders merged.
      const uint32_t order_id = kSortOrders + static_cast<uint32_t>(sort_key_of(field));
      merge_orders(out_, order_id, *orders, merged_,
                   [&](size_t, uint32_t, uint32_t row) -> uint64_t {
                     const uint32_t code = codes[row];
                     return code == 0 ? UINT64_MAX : rank[code];
                   });
      for (const Segment* s : sources_) s->bytes->release(order_id);
    } else {
      add_text_order(out_, column, codes, rank);
    }
    out_.add(section_id(column, ColumnPart::codes), codes);
    std::vector<uint32_t>().swap(codes);
    for (const Segment* s : sources_) {
      for (ColumnPart part : kDictionaryParts) s->bytes->release(section_id(column, part));
    }
  }

  const std::vector<const Segment*>& sources_;
  const std::vector<Ref>& rows_;
  const MergedRows& merged_;
  SegmentWriter& out_;
  const std::atomic<bool>* stop_;
};

}  // namespace

std::shared_ptr<const Segment> merge_segments(const std::vector<const Segment*>& sources,
                                              const std::vector<Ref>& rows,
                                              const std::string& path,
                                              const SegmentIdentity& identity,
                                              MergeThreads threads,
                                              const std::atomic<bool>* stop) {
  SegmentWriter out(path);
  MergedRows merged(sources.size());
  for (size_t p = 0; p < sources.size(); ++p) merged[p].assign(sources[p]->rows, kNoRow);
  for (uint32_t i = 0; i < rows.size(); ++i) merged[rows[i].part][rows[i].row] = i;
  // A column of numbers, streamed across, and its order under `key` (none for ids): the
  // sources' orders merged, or sorted afresh when a source has none.
  auto numbers = [&](uint32_t id, std::optional<SortKey> key, uint32_t order_id, auto column_of) {
    if (key) {
      if (const auto orders = orders_of(sources, *key)) {
        merge_orders(out, order_id, *orders, merged, [&](size_t p, uint32_t row, uint32_t) {
          return number_key(column_of(*sources[p])[row]);
        });
      } else {
        std::vector<int64_t> values(rows.size());
        for (size_t i = 0; i < rows.size(); ++i) values[i] = column_of(*sources[rows[i].part])[rows[i].row];
        out.add(order_id, order_by_number(values));
      }
      for (const Segment* s : sources) s->bytes->release(order_id);
    }
    out.begin_section(id);
    for (const Ref& r : rows) out.append_value(column_of(*sources[r.part])[r.row]);
    out.end_section();
    for (const Segment* s : sources) s->bytes->release(id);
  };
  ColumnMerge merge(sources, rows, merged, out, stop);
  // The columns, each a job of its own (the same ids as SegmentBuilder::finish's work): text
  // and list columns below kFixedWork, then ids and created_at, updated_at, the numbers.
  auto job = [&](size_t work) {
    throw_if_stopped(stop);
    if (work < kTextFieldCount) {
      const uint32_t f = static_cast<uint32_t>(work);
      merge.text(f, [f](const Segment& s) -> const TextColumn& { return s.text[f]; },
                 needs_order(static_cast<TextField>(f)), info(static_cast<TextField>(f)).in_search);
      return;
    }
    switch (work) {
      case kMetaColumn:
        merge.plain_text(kMetaColumn,
                         [](const Segment& s) -> const TextColumn& { return s.meta_data; });
        return;
      case kCompanyAddressColumn:
        merge.text(kCompanyAddressColumn,
                   [](const Segment& s) -> const TextColumn& { return s.company_address; }, true);
        return;
      case kContactAddressColumn:
        merge.text(kContactAddressColumn,
                   [](const Segment& s) -> const TextColumn& { return s.contact_address; }, true);
        return;
      case kKeywordListColumn:
        merge.keyword_list(kKeywordListColumn);
        return;
      case kFixedWork:
        numbers(kCreatedAt, SortKey::created_at, kCreatedOrder,
                [](const Segment& s) { return s.created_at_us; });
        numbers(kIds, std::nullopt, 0, [](const Segment& s) { return s.ids; });
        return;
      case kFixedWork + 1:
        numbers(kUpdatedAt, SortKey::updated_at,
                kSortOrders + static_cast<uint32_t>(SortKey::updated_at),
                [](const Segment& s) { return s.updated_at_us; });
        return;
      default: {
        const uint32_t f = static_cast<uint32_t>(work - kFixedWork - 2);
        const SortKey key = sort_key_of(static_cast<NumberField>(f));
        numbers(kNumbers + f, key, kSortOrders + static_cast<uint32_t>(key),
                [f](const Segment& s) { return s.numbers[f]; });
      }
    }
  };
  const auto schedule = write_schedule();
  if (threads == MergeThreads::two) {
    WorkerThread helper("index-merge");
    run_on_both(helper, schedule.size(), [&](size_t i) { job(schedule[i]); });
  } else {
    // One column at a time, the largest last: each column merged gives back the sources'
    // pages of it (resident from the queries served until now), so the e-mail column's
    // working set (a few hundred MB at 10M contacts) comes when the least is resident.
    for (auto it = schedule.rbegin(); it != schedule.rend(); ++it) job(*it);
  }
  SegmentIdentity id = identity;
  id.rows = rows.size();
  return load_segment(out.finish(id));
}

std::shared_ptr<const Segment> load_segment(std::shared_ptr<const SegmentBytes> bytes) {
  auto seg = std::make_shared<Segment>();
  const SegmentBytes& b = *bytes;
  const SegmentIdentity& identity = b.identity();
  seg->data_version = identity.data_version;
  if (identity.rows >= kNoRow) throw SegmentFileError("index segment has too many rows");
  seg->rows = static_cast<uint32_t>(identity.rows);
  const size_t rows = seg->rows;
  auto check = [&](size_t size, size_t want, const char* what) {
    if (size != want) {
      throw SegmentFileError(std::string("index segment: ") + what + " has " +
                             std::to_string(size) + " entries for " + std::to_string(rows) +
                             " rows");
    }
  };
  seg->ids = b.section<int64_t>(kIds);
  check(seg->ids.size(), rows, "ids");
  seg->created_at_us = b.section<int64_t>(kCreatedAt);
  check(seg->created_at_us.size(), rows, "created_at");
  seg->updated_at_us = b.section<int64_t>(kUpdatedAt);
  check(seg->updated_at_us.size(), rows, "updated_at");
  seg->created_order = b.section<uint32_t>(kCreatedOrder);
  check(seg->created_order.size(), rows, "created order");
  for (uint32_t f = 0; f < kNumberFieldCount; ++f) {
    seg->numbers[f] = b.section<int64_t>(kNumbers + f);
    check(seg->numbers[f].size(), rows, "a number column");
  }
  auto text_column = [&](uint32_t column) {
    TextColumn c{load_dictionary(b, column), b.section<uint32_t>(section_id(column, ColumnPart::codes))};
    check(c.codes.size(), rows, "a text column");
    return c;
  };
  for (uint32_t f = 0; f < kTextFieldCount; ++f) seg->text[f] = text_column(f);
  seg->meta_data = text_column(kMetaColumn);
  seg->company_address = text_column(kCompanyAddressColumn);
  seg->contact_address = text_column(kContactAddressColumn);
  ListColumn& k = seg->keyword_list;
  k.dict = load_dictionary(b, kKeywordListColumn);
  k.row_start = b.section<uint32_t>(section_id(kKeywordListColumn, ColumnPart::row_start));
  k.codes = b.section<uint32_t>(section_id(kKeywordListColumn, ColumnPart::codes));
  check(k.row_start.size(), rows + 1, "the keyword list starts");
  if (k.row_start.back() != k.codes.size()) {
    throw SegmentFileError("index segment: keyword list starts do not match its codes");
  }
  for (uint32_t k = 0; k < kSortKeyCount; ++k) {
    if (static_cast<SortKey>(k) == SortKey::created_at) {
      seg->sort_orders[k] = seg->created_order;
    } else if (b.has(kSortOrders + k)) {
      seg->sort_orders[k] = b.section<uint32_t>(kSortOrders + k);
      check(seg->sort_orders[k].size(), rows, "a sort order");
    }
  }
  seg->bytes = std::move(bytes);
  return seg;
}

std::span<const uint32_t> Segment::text_rank(TextField f) const {
  const Dictionary& dict = column(f).dict;
  if (!dict.rank.empty()) return dict.rank;
  const size_t i = static_cast<size_t>(f);
  std::call_once(lazy_ranks->once[i],
                 [&] { lazy_ranks->rank[i] = collation_order(dict.values).rank; });
  return lazy_ranks->rank[i];
}

uint32_t Segment::row_of(int64_t id) const {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return kNoRow;
  return static_cast<uint32_t>(it - ids.begin());
}

Contact Segment::contact(uint32_t row, bool with_meta) const {
  Contact c;
  copy_contact(row, with_meta, c);
  return c;
}

void Segment::copy_contact(uint32_t row, bool with_meta, Contact& c) const {
  c.id = ids[row];
  c.created_at_us = created_at_us[row];
  c.updated_at_us = updated_at_us[row];
  for (size_t f = 0; f < kTextFieldCount; ++f) {
    c.values.text[f] = text[f].dict.values.get(text[f].codes[row]);
  }
  for (size_t f = 0; f < kNumberFieldCount; ++f) {
    const int64_t n = numbers[f][row];
    c.values.numbers[f] = n == kNullNumber ? std::nullopt : std::optional<int64_t>(n);
  }
  c.values.meta_data_json = with_meta ? meta_data.dict.values.get(meta_data.codes[row]) : "{}";
}

}  // namespace contacts::index
