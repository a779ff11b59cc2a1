#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace contacts::metrics {
namespace {

// FNV-1a over the values, each followed by a byte that UTF-8 text never contains.
uint64_t hash_values(std::initializer_list<std::string_view> values) {
  uint64_t h = 14695981039346656037ull;
  for (std::string_view v : values) {
    for (unsigned char c : v) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
  }
  return h;
}

size_t table_size_for(size_t max_children) {
  size_t size = 8;
  while (size < 2 * max_children) size *= 2;
  return size;
}

void append_escaped(std::string& out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
}

void Histogram::observe(double value) noexcept {
  size_t i = 0;
  while (i < bounds_.size() && !(value <= bounds_[i])) ++i;  // NaN lands in +Inf
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& latency_bounds_seconds() {
  static const std::vector<double> bounds{0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,    0.025,  0.05,  0.1,    0.25,
                                          0.5,     1,      2.5,   5,      10};
  return bounds;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::to_chars_result r;
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
  } else if (std::fabs(value) >= 1e-6 && std::fabs(value) < 1e15) {
    r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf, buf + sizeof buf, value);
  }
  return std::string(buf, r.ptr);
}

void TextWriter::family(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, /*quotes=*/false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

TextWriter& TextWriter::sample(std::string_view name) {
  out_ += name;
  in_labels_ = false;
  return *this;
}

TextWriter& TextWriter::label(std::string_view name, std::string_view value) {
  out_ += in_labels_ ? ',' : '{';
  in_labels_ = true;
  out_ += name;
  out_ += "=\"";
  append_escaped(out_, value, /*quotes=*/true);
  out_ += '"';
  return *this;
}

void TextWriter::end_labels() {
  if (in_labels_) out_ += '}';
  in_labels_ = false;
  out_ += ' ';
}

void TextWriter::value(double v) {
  end_labels();
  out_ += format_value(v);
  out_ += '\n';
}

void TextWriter::value(uint64_t v) {
  end_labels();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  out_ += '\n';
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  return valid_metric_name(name) && name.find(':') == std::string_view::npos &&
         !name.starts_with("__");
}

FamilyBase::FamilyBase(std::string name, std::string help, std::string type,
                       std::vector<std::string> label_names, size_t max_children)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(std::move(type)),
      label_names_(std::move(label_names)),
      max_children_(std::max<size_t>(1, max_children)),
      mask_(table_size_for(max_children_) - 1),
      table_(std::make_unique<std::atomic<Child*>[]>(mask_ + 1)) {
  if (!valid_metric_name(name_)) throw std::invalid_argument("invalid metric name: " + name_);
  for (const auto& label : label_names_) {
    if (!valid_label_name(label) || (type_ == "histogram" && label == "le")) {
      throw std::invalid_argument("invalid label name for " + name_ + ": " + label);
    }
  }
}

FamilyBase::Child* FamilyBase::probe(uint64_t hash,
                                     std::initializer_list<std::string_view> values) const {
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    Child* child = table_[i].load(std::memory_order_acquire);
    if (child == nullptr) return nullptr;
    if (child->hash == hash && std::equal(values.begin(), values.end(), child->values.begin())) {
      return child;
    }
  }
}

FamilyBase::Child& FamilyBase::find_or_create(std::initializer_list<std::string_view> values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument(name_ + ": expected " + std::to_string(label_names_.size()) +
                                " label values");
  }
  const uint64_t hash = hash_values(values);
  if (Child* child = probe(hash, values)) return *child;
  return insert(hash, values);
}

FamilyBase::Child& FamilyBase::insert(uint64_t hash,
                                      std::initializer_list<std::string_view> values) {
  const std::lock_guard lock(mutex_);
  if (Child* child = probe(hash, values)) return *child;  // created meanwhile
  if (children_.size() >= max_children_) {
    if (overflow_ == nullptr) {
      auto child = new_child();
      child->values.assign(label_names_.size(), "other");
      overflow_ = child.get();
      children_.push_back(std::move(child));
    }
    return *overflow_;
  }
  auto child = new_child();
  child->hash = hash;
  child->values.assign(values.begin(), values.end());
  size_t i = hash & mask_;
  while (table_[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & mask_;
  table_[i].store(child.get(), std::memory_order_release);
  children_.push_back(std::move(child));
  return *children_.back();
}

void FamilyBase::render(TextWriter& out) const {
  out.family(name_, help_, type_);
  std::vector<const Child*> sorted;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& child : children_) sorted.push_back(child.get());
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Child* a, const Child* b) { return a->values < b->values; });
  for (const Child* child : sorted) render_child(out, *child);
}

TextWriter& FamilyBase::sample(TextWriter& out, std::string_view suffix,
                               const Child& child) const {
  std::string name = name_;
  name += suffix;
  out.sample(name);
  for (size_t i = 0; i < label_names_.size(); ++i) out.label(label_names_[i], child.values[i]);
  return out;
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       size_t max_children, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help),
                 std::is_same_v<Metric, Counter> ? "counter"
                 : std::is_same_v<Metric, Gauge> ? "gauge"
                                                 : "histogram",
                 std::move(label_names), max_children),
      bounds_(std::move(bounds)) {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    Histogram{bounds_};  // throws for bounds that are not finite and increasing
  }
  if (label_count() == 0) with();  // an unlabelled metric shows from the start
}

template <typename Metric>
std::unique_ptr<FamilyBase::Child> Family<Metric>::new_child() const {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    return std::make_unique<Node>(bounds_);
  } else {
    return std::make_unique<Node>();
  }
}

template <typename Metric>
void Family<Metric>::render_child(TextWriter& out, const Child& child) const {
  const Metric& metric = static_cast<const Node&>(child).metric;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    const Histogram::Snapshot s = metric.snapshot();
    for (size_t i = 0; i < s.cumulative.size(); ++i) {
      const std::string le = i < bounds_.size() ? format_value(bounds_[i]) : "+Inf";
      sample(out, "_bucket", child).label("le", le).value(s.cumulative[i]);
    }
    sample(out, "_sum", child).value(s.sum);
    sample(out, "_count", child).value(s.cumulative.back());
  } else {
    sample(out, "", child).value(metric.value());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename F>
F& Registry::add(std::unique_ptr<F> family) {
  const std::lock_guard lock(mutex_);
  for (const auto& f : families_) {
    if (f->name() == family->name()) {
      throw std::invalid_argument("metric registered twice: " + family->name());
    }
  }
  F& out = *family;
  families_.push_back(std::move(family));
  return out;
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names, size_t max_children) {
  return add(std::make_unique<Family<Counter>>(std::move(name), std::move(help),
                                               std::move(label_names), max_children));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names, size_t max_children) {
  return add(std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                             std::move(label_names), max_children));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bounds, size_t max_children) {
  return add(std::make_unique<Family<Histogram>>(std::move(name), std::move(help),
                                                 std::move(label_names), max_children,
                                                 std::move(bounds)));
}

void Registry::render(TextWriter& out) const {
  const std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->render(out);
}

Registry& process_registry() {
  static Registry registry;
  return registry;
}

}  // namespace contacts::metrics
