// Measures the trigram index at 10M e-mail-like values and 50k titles (disabled by default):
//   unit_tests --gtest_also_run_disabled_tests --gtest_filter='*Scale10M*'
// TRIGRAM_SCALE_VALUES=1000000 sets another number of e-mails, for quicker runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "index/trigram.h"

using namespace contacts::index;

namespace {

using Clock = std::chrono::steady_clock;

// Deterministic and the same on every platform.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

struct Pool {
  std::string bytes;
  std::vector<uint64_t> offsets{0};
  void add(std::string_view v) {
    bytes.append(v);
    bytes.push_back('\0');
    offsets.push_back(bytes.size());
  }
  size_t size() const { return offsets.size() - 1; }
};

const std::vector<std::string> kFirst = {
    "john",    "mary",      "james",   "patricia", "robert",  "jennifer", "michael", "linda",
    "david",   "elizabeth", "william", "barbara",  "richard", "susan",    "joseph",  "jessica",
    "thomas",  "sarah",     "charles", "karen",    "chris",   "nancy",    "daniel",  "lisa",
    "matthew", "betty",     "anthony", "sandra",   "mark",    "ashley",   "jürgen",  "zoë",
    "paul",    "emily",     "steven",  "donna",    "andrew",  "michelle", "kenneth", "carol",
    "joshua",  "amanda",    "kevin",   "melissa",  "brian",   "deborah",  "george",  "stephanie",
    "timothy", "rebecca",   "ronald",  "sharon",   "jason",   "laura",    "edward",  "cynthia",
    "jeffrey", "kathleen",  "ryan",    "amy",      "jacob",   "angela",   "gary",    "johnny"};
const std::vector<std::string> kLast = {
    "smith",    "johnson",   "williams", "brown",     "jones",    "garcia",    "miller",
    "davis",    "rodriguez", "martinez", "hernandez", "lopez",    "gonzalez",  "wilson",
    "anderson", "thomas",    "taylor",   "moore",     "jackson",  "martin",    "lee",
    "perez",    "thompson",  "white",    "harris",    "sanchez",  "clark",     "ramirez",
    "lewis",    "robinson",  "walker",   "young",     "allen",    "king",      "wright",
    "scott",    "torres",    "nguyen",   "hill",      "flores",   "green",     "adams",
    "nelson",   "baker",     "hall",     "rivera",    "campbell", "mitchell",  "carter",
    "roberts",  "müller",    "schmidt",  "schneider", "fischer",  "weber",     "meyer",
    "wagner",   "becker",    "schulz",   "hoffmann",  "smithson", "goldsmith", "koch",
    "richter"};

Pool email_pool(size_t n) {
  SplitMix64 rng{42};
  Pool pool;
  pool.bytes.reserve(n * 36);
  pool.offsets.reserve(n + 1);
  std::string v;
  for (size_t i = 0; i < n; ++i) {
    v = kFirst[rng.below(kFirst.size())];
    v += '.';
    v += kLast[rng.below(kLast.size())];
    if (i % 4 != 0) v += std::to_string(i);  // mostly distinct, as in a dictionary
    v += "@company";
    v += std::to_string(rng.below(200000));
    v += ".com";
    pool.add(v);
  }
  return pool;
}

Pool title_pool() {
  const std::array<const char*, 10> level = {"",           "senior ",   "junior ",  "lead ",
                                             "principal ", "staff ",    "head of ", "chief ",
                                             "vp ",        "associate "};
  const std::array<const char*, 50> area = {
      "software",   "sales",    "marketing",  "data",         "platform",       "security",
      "finance",    "people",   "product",    "design",       "research",       "legal",
      "support",    "quality",  "cloud",      "mobile",       "backend",        "frontend",
      "devops",     "network",  "hardware",   "firmware",     "growth",         "brand",
      "content",    "partner",  "channel",    "account",      "customer",       "field",
      "systems",    "test",     "release",    "build",        "infrastructure", "analytics",
      "business",   "strategy", "operations", "supply chain", "procurement",    "payroll",
      "tax",        "audit",    "risk",       "compliance",   "training",       "recruiting",
      "facilities", "events"};
  const std::array<const char*, 20> role = {
      " engineer",    " manager",       " director",  " analyst",        " architect",
      " specialist",  " consultant",    " developer", " scientist",      " designer",
      " coordinator", " administrator", " officer",   " representative", " strategist",
      " technician",  " advisor",       " planner",   " owner",          " partner"};
  const std::array<const char*, 5> team = {"", ", emea", ", americas", ", apac", " ii"};
  std::vector<std::string> titles;
  for (const char* l : level)
    for (const char* a : area)
      for (const char* r : role)
        for (const char* t : team) titles.push_back(std::string(l) + a + r + t);
  SplitMix64 rng{7};
  for (size_t i = titles.size() - 1; i > 0; --i) std::swap(titles[i], titles[rng.below(i + 1)]);
  Pool pool;
  for (const std::string& t : titles) pool.add(t);
  return pool;
}

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  }
  return -1;
}

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// Dictionary::match_contains as it stands (src/index/text_column.cpp): the baseline.
void dictionary_scan(const Pool& pool, std::string_view term, std::vector<uint8_t>& match) {
  match.assign(pool.size(), 0);
  const char* base = pool.bytes.data();
  size_t pos = 0;
  while (pos < pool.bytes.size()) {
    const void* hit = memmem(base + pos, pool.bytes.size() - pos, term.data(), term.size());
    if (!hit) break;
    const size_t at = static_cast<const char*>(hit) - base;
    const auto it = std::upper_bound(pool.offsets.begin(), pool.offsets.end(), at);
    match[it - pool.offsets.begin() - 1] = 1;
    pos = at + 1;
    const void* nul = memchr(base + at, '\0', pool.bytes.size() - at);
    if (nul) pos = static_cast<const char*>(nul) - base + 1;
  }
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// CPU time of this thread: the machine is shared, and waiting for a core is not the query's cost.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

template <class F>
double median_cpu_ms(F f, int runs) {
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    const double start = cpu_ms();
    f();
    times.push_back(cpu_ms() - start);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void measure(const char* name, const Pool& pool) {
  std::printf("== %s: %zu values, %.1f MB of bytes\n", name, pool.size(), pool.bytes.size() / 1e6);
  reset_peak_rss();
  const long rss_before = status_kb("VmRSS:");
  const auto start = Clock::now();
  const double start_cpu = cpu_ms();
  const TrigramData data = build_trigrams(pool.bytes, pool.offsets);
  const double build_cpu_ms = cpu_ms() - start_cpu;
  const double build_ms = ms_since(start);
  const long peak = status_kb("VmHWM:");
  const size_t pairs =
      std::count_if(data.postings.begin(), data.postings.end(), [](uint8_t b) { return b < 0x80; });
  const size_t index_bytes = data.postings.size() + data.keys.size() * 4 + data.starts.size() * 8;
  std::printf(
      "build %.0f ms (cpu %.0f ms); %zu keys; %zu (value, trigram) pairs; postings %.1f MB = %.2f "
      "B/value, "
      "%.2f B/pair; index total %.1f MB\n",
      build_ms, build_cpu_ms, data.keys.size(), pairs, data.postings.size() / 1e6,
      double(data.postings.size()) / pool.size(), double(data.postings.size()) / pairs,
      index_bytes / 1e6);
  std::printf("RSS before build %.0f MiB, peak during build %.0f MiB: +%.0f MiB (%.2f B/pair)\n",
              rss_before / 1024.0, peak / 1024.0, (peak - rss_before) / 1024.0,
              (peak - rss_before) * 1024.0 / pairs);

  const TrigramView view = view_of(data);
  std::vector<uint8_t> match;
  for (const char* term : {"john", "engineer", "zqxj", "smith@", "an"}) {
    const auto expected = scan_values_containing(pool.bytes, pool.offsets, term);
    ASSERT_EQ(values_containing(view, pool.bytes, pool.offsets, term), expected) << term;
    const double listed =
        median_cpu_ms([&] { (void)values_containing(view, pool.bytes, pool.offsets, term); }, 9);
    const double indexed =
        median_cpu_ms([&] { match_contains(view, pool.bytes, pool.offsets, term, match); }, 9);
    const double baseline = median_cpu_ms([&] { dictionary_scan(pool, term, match); }, 9);
    std::printf("  %-9s %8zu matches  cpu ms: list %9.3f  match_contains %9.3f  memmem %9.3f\n",
                term, expected.size(), listed, indexed, baseline);
  }
}

}  // namespace

TEST(TrigramIndex, DISABLED_Scale10M) {
  measure("titles", title_pool());
  const auto start = Clock::now();
  const char* values = std::getenv("TRIGRAM_SCALE_VALUES");
  const Pool emails = email_pool(values ? std::stoul(values) : 10'000'000);
  std::printf("(e-mail pool generated in %.0f ms)\n", ms_since(start));
  measure("e-mails", emails);
}
