// Metrics for Prometheus: counters, gauges and histograms in families keyed by label values,
// rendered in the text exposition format, version 0.0.4.
//
// Built for the request path: an update is one or two relaxed atomic operations, and finding
// the child of a family for given label values is lock-free once that child exists (a hash of
// the values and a short probe of a fixed table); only creating a child takes a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace contacts::metrics {

// A count that only goes up. Thread-safe.
class Counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe.
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in buckets by upper bound (inclusive, Prometheus' `le`), with their sum.
// Thread-safe; observe() is two relaxed atomic additions.
class Histogram {
 public:
  // `upper_bounds` must be finite and strictly increasing (std::invalid_argument otherwise);
  // the +Inf bucket is implicit.
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per upper bound, then +Inf (= count)
    double sum = 0;
  };
  // Cumulative counts as Prometheus shows them; never decreasing from bound to bound, even
  // while other threads observe.
  Snapshot snapshot() const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative); last: +Inf
  std::atomic<double> sum_{0};
};

// Bounds of request latency histograms, in seconds: 0.25 ms to 10 s.
const std::vector<double>& latency_bounds_seconds();

// Appends the text format. Label values and help texts are escaped as the format requires;
// names are the caller's (checked where families are registered).
//   out.family("jobs", "Jobs by state.", "gauge");
//   out.sample("jobs").label("state", "queued").value(3.0);
class TextWriter {
 public:
  explicit TextWriter(std::string& out) : out_(out) {}
  // The "# HELP" and "# TYPE" lines of a family.
  void family(std::string_view name, std::string_view help, std::string_view type);
  // Starts a sample line; finish it with value().
  TextWriter& sample(std::string_view name);
  TextWriter& label(std::string_view name, std::string_view value);
  void value(double v);
  void value(uint64_t v);

 private:
  void end_labels();
  std::string& out_;
  bool in_labels_ = false;
};

// A value as the text format writes it: integers without a fraction, others in the shortest
// fixed-point form that reads back as the same double; +Inf, -Inf, NaN.
std::string format_value(double value);

// What every family has: name, help, type, label names, and its children by label values.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::string type,
             std::vector<std::string> label_names, size_t max_children);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  const std::string& name() const { return name_; }
  size_t label_count() const { return label_names_.size(); }
  // HELP, TYPE and the samples of every child, children sorted by label values.
  void render(TextWriter& out) const;

 protected:
  struct Child {
    virtual ~Child() = default;
    uint64_t hash = 0;
    std::vector<std::string> values;
  };
  // The child for `values`, created by new_child() under the lock on first use.
  Child& find_or_create(std::initializer_list<std::string_view> values);
  virtual std::unique_ptr<Child> new_child() const = 0;
  virtual void render_child(TextWriter& out, const Child& child) const = 0;
  // Starts a sample line of `child` with its labels.
  TextWriter& sample(TextWriter& out, std::string_view suffix, const Child& child) const;

 private:
  Child* probe(uint64_t hash, std::initializer_list<std::string_view> values) const;
  Child& insert(uint64_t hash, std::initializer_list<std::string_view> values);
  const std::string name_, help_, type_;
  const std::vector<std::string> label_names_;
  const size_t max_children_;
  const size_t mask_;  // table size - 1: a power of two, at least twice max_children_
  std::unique_ptr<std::atomic<Child*>[]> table_;
  mutable std::mutex mutex_;  // guards children_, overflow_ and writes to table_
  std::vector<std::unique_ptr<Child>> children_;
  Child* overflow_ = nullptr;  // shared by every value set past max_children_
};

// Metrics of one name, one per combination of label values. Thread-safe.
template <typename Metric>
class Family final : public FamilyBase {
 public:
  // `bounds` only for histograms.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         size_t max_children, std::vector<double> bounds = {});
  // The metric for `values` (one per label name, in order; std::invalid_argument when the
  // number differs), created at zero on first use. Past `max_children` distinct value sets,
  // new ones share one child whose values are all "other". The reference stays valid as long
  // as the family.
  Metric& with(std::initializer_list<std::string_view> values = {}) {
    return static_cast<Node&>(find_or_create(values)).metric;
  }

 private:
  struct Node final : Child {
    template <typename... Args>
    explicit Node(Args&&... args) : metric(std::forward<Args>(args)...) {}
    Metric metric;
  };
  std::unique_ptr<Child> new_child() const override;
  void render_child(TextWriter& out, const Child& child) const override;
  const std::vector<double> bounds_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// A set of families rendered together. Registration is for start-up (it takes a lock and
// throws std::invalid_argument for an invalid or duplicate name); everything is thread-safe.
class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {},
                           size_t max_children = 1024);
  Family<Gauge>& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {}, size_t max_children = 1024);
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names, std::vector<double> bounds,
                               size_t max_children = 256);
  // Every family in registration order.
  void render(TextWriter& out) const;

 private:
  template <typename F>
  F& add(std::unique_ptr<F> family);
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

// The registry of this process: what /metrics shows.
Registry& process_registry();

// True for a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name ([a-zA-Z_][a-zA-Z0-9_]*,
// not starting with "__").
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace contacts::metrics
