#include "index/snapshot.h"

#include <algorithm>

#include "util/text.h"

namespace contacts::index {
namespace {

// Fields whose values are ordered (sortable, or listed by a field endpoint).
bool needs_order(TextField f) {
  switch (f) {
    case TextField::first_name: case TextField::last_name: case TextField::title:
    case TextField::company: case TextField::email: case TextField::city:
    case TextField::state: case TextField::country: case TextField::company_address:
    case TextField::company_city: case TextField::company_state:
    case TextField::company_country: case TextField::seniority: case TextField::industry:
    case TextField::keywords: case TextField::technologies:
      return true;
    default:
      return false;
  }
}

void join_non_empty(std::string& out, std::initializer_list<std::string_view> parts) {
  out.clear();
  for (std::string_view p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out.append(", ");
    out.append(p);
  }
}

struct Builder {
  Snapshot& snap;
  std::array<DictionaryBuilder, kTextFieldCount> text;
  DictionaryBuilder meta, company_address, contact_address, keywords;
  std::string scratch;

  void add(const Contact& c) {
    const uint32_t row = snap.rows++;
    snap.ids.push_back(c.id);
    snap.created_at_us.push_back(c.created_at_us);
    snap.updated_at_us.push_back(c.updated_at_us);
    const ContactValues& v = c.values;
    for (size_t f = 0; f < kTextFieldCount; ++f) {
      snap.text[f].codes.push_back(text[f].add(v.text[f], row));
    }
    for (size_t f = 0; f < kNumberFieldCount; ++f) {
      snap.numbers[f].push_back(v.numbers[f] ? *v.numbers[f] : kNullNumber);
    }
    snap.meta_data.codes.push_back(meta.add(v.meta_data_json, row));
    join_non_empty(scratch, {v[TextField::company_address], v[TextField::company_city],
                             v[TextField::company_state], v[TextField::company_country]});
    snap.company_address.codes.push_back(company_address.add(scratch, row));
    join_non_empty(scratch, {v[TextField::city], v[TextField::state], v[TextField::country]});
    snap.contact_address.codes.push_back(contact_address.add(scratch, row));
    snap.keyword_list.row_start.push_back(static_cast<uint32_t>(snap.keyword_list.codes.size()));
    for (std::string_view k : text::split_trimmed(v[TextField::keywords], ',')) {
      snap.keyword_list.codes.push_back(keywords.add(k, row));
    }
  }

  void finish() {
    snap.keyword_list.row_start.push_back(static_cast<uint32_t>(snap.keyword_list.codes.size()));
    for (size_t f = 0; f < kTextFieldCount; ++f) {
      snap.text[f].dict = text[f].finish(needs_order(static_cast<TextField>(f)));
      snap.text[f].codes.shrink_to_fit();
    }
    snap.meta_data.dict = meta.finish(false);
    snap.company_address.dict = company_address.finish(true);
    snap.contact_address.dict = contact_address.finish(true);
    snap.keyword_list.dict = keywords.finish(true);
    snap.created_order.resize(snap.rows);
    for (uint32_t r = 0; r < snap.rows; ++r) snap.created_order[r] = r;
    std::stable_sort(snap.created_order.begin(), snap.created_order.end(),
                     [&](uint32_t a, uint32_t b) {
                       return snap.created_at_us[a] < snap.created_at_us[b];
                     });
  }
};

}  // namespace

uint32_t Snapshot::row_of(int64_t id) const {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return kNoRow;
  return static_cast<uint32_t>(it - ids.begin());
}

Contact Snapshot::contact(uint32_t row, bool with_meta) const {
  Contact c;
  copy_contact(row, with_meta, c);
  return c;
}

void Snapshot::copy_contact(uint32_t row, bool with_meta, Contact& c) const {
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

std::shared_ptr<const Snapshot> build_snapshot(const Store& store) {
  auto snap = std::make_shared<Snapshot>();
  snap->data_version = store.data_version();
  Builder builder{*snap, {}, {}, {}, {}, {}, {}};
  store.scan(0, [&](Contact&& c) { builder.add(c); });
  builder.finish();
  return snap;
}

}  // namespace contacts::index
