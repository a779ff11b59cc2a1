// contacts-bench: a bounded HTTP/1.1 keep-alive load generator. Prints one JSON line with
// request counts, latency percentiles and throughput. See docs/benchmarks.md.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"

namespace contacts::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
    "usage: contacts-bench --port P [--host H] [--concurrency C] (--requests N | --duration S)\n"
    "                      --path TARGET [--path TARGET ...] [--header 'Name: value' ...]\n"
    "                      [--warmup K] [--timeout S]\n"
    "Sends GET requests round-robin over the paths from C keep-alive connections until N\n"
    "requests are done or S seconds have passed (whichever comes first), after K warm-up\n"
    "requests that are not measured. Prints one JSON line.\n";

struct Options {
  Endpoint endpoint{"127.0.0.1", 0};
  unsigned concurrency = 1;
  uint64_t requests = 0;  // 0 = no request limit
  double duration_s = 0;  // 0 = no time limit
  uint64_t warmup = 0;
  double timeout_s = 60;
  std::vector<std::string> paths;
  std::vector<std::string> headers;
};

struct WorkerStats {
  std::vector<double> latencies_ms;  // one per complete response, 2xx or not
  uint64_t errors = 0;
  uint64_t non_2xx = 0;
  uint64_t body_bytes = 0;
  std::string first_error;
};

// Hands out request numbers until the request limit or the deadline is reached.
class Schedule {
 public:
  Schedule(uint64_t limit, std::optional<Clock::time_point> deadline)
      : limit_(limit), deadline_(deadline) {}
  std::optional<uint64_t> claim() {
    if (deadline_ && Clock::now() >= *deadline_) return std::nullopt;
    const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    if (limit_ != 0 && n >= limit_) return std::nullopt;
    return n;
  }

 private:
  std::atomic<uint64_t> next_{0};
  const uint64_t limit_;
  const std::optional<Clock::time_point> deadline_;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "contacts-bench: " << message << "\n" << kUsage;
  std::exit(2);
}

template <typename T>
T parse_number(const std::string& flag, const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used != text.size() || value < 0 || !std::isfinite(value)) throw std::exception();
    return static_cast<T>(value);
  } catch (const std::exception&) {
    usage_error(flag + " needs a non-negative number, got '" + text + "'");
  }
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) usage_error(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--host") {
      options.endpoint.host = value;
    } else if (flag == "--port") {
      options.endpoint.port = parse_number<uint16_t>(flag, value);
    } else if (flag == "--concurrency") {
      options.concurrency = parse_number<unsigned>(flag, value);
    } else if (flag == "--requests") {
      options.requests = parse_number<uint64_t>(flag, value);
    } else if (flag == "--duration") {
      options.duration_s = parse_number<double>(flag, value);
    } else if (flag == "--warmup") {
      options.warmup = parse_number<uint64_t>(flag, value);
    } else if (flag == "--timeout") {
      options.timeout_s = parse_number<double>(flag, value);
    } else if (flag == "--path") {
      if (value.empty() || value[0] != '/') usage_error("--path must start with '/'");
      options.paths.push_back(value);
    } else if (flag == "--header") {
      if (value.find(':') == std::string::npos) usage_error("--header needs 'Name: value'");
      options.headers.push_back(value);
    } else {
      usage_error("unknown option " + flag);
    }
  }
  if (options.endpoint.port == 0) usage_error("--port is required");
  if (options.paths.empty()) usage_error("at least one --path is required");
  if (options.requests == 0 && options.duration_s <= 0) {
    usage_error("--requests or --duration is required");
  }
  if (options.concurrency == 0 || options.concurrency > 1024) {
    usage_error("--concurrency must be 1..1024");
  }
  if (options.timeout_s <= 0) usage_error("--timeout must be positive");
  return options;
}

void run_worker(HttpConnection& connection, Schedule& schedule,
                const std::vector<std::string>& requests, WorkerStats* stats) {
  while (const std::optional<uint64_t> n = schedule.claim()) {
    const std::string& request = requests[*n % requests.size()];
    const Clock::time_point start = Clock::now();
    HttpResult result = connection.round_trip(request);
    const std::chrono::duration<double, std::milli> elapsed = Clock::now() - start;
    if (stats == nullptr) continue;
    if (!result.ok) {
      ++stats->errors;
      if (stats->first_error.empty()) stats->first_error = result.error;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no busy loop on refusal
      continue;
    }
    stats->latencies_ms.push_back(elapsed.count());
    stats->body_bytes += result.body_bytes;
    if (result.status < 200 || result.status > 299) ++stats->non_2xx;
  }
}

// Runs one phase on all connections; `stats` is null for the unmeasured warm-up.
void run_phase(std::vector<std::unique_ptr<HttpConnection>>& connections, Schedule& schedule,
               const std::vector<std::string>& requests, std::vector<WorkerStats>* stats) {
  std::vector<std::thread> threads;
  threads.reserve(connections.size());
  for (size_t i = 0; i < connections.size(); ++i) {
    WorkerStats* worker_stats = stats == nullptr ? nullptr : &(*stats)[i];
    threads.emplace_back(run_worker, std::ref(*connections[i]), std::ref(schedule),
                         std::cref(requests), worker_stats);
  }
  for (std::thread& thread : threads) thread.join();
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_ms(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", p >= 100 ? sorted.back() : percentile(sorted, p));
  return text;
}

void print_report(const Options& options, const std::vector<WorkerStats>& stats, double elapsed_s) {
  WorkerStats total;
  for (const WorkerStats& s : stats) {
    total.latencies_ms.insert(total.latencies_ms.end(), s.latencies_ms.begin(),
                              s.latencies_ms.end());
    total.errors += s.errors;
    total.non_2xx += s.non_2xx;
    total.body_bytes += s.body_bytes;
    if (total.first_error.empty()) total.first_error = s.first_error;
  }
  std::vector<double>& sorted = total.latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (const double v : sorted) sum += v;
  const uint64_t responses = sorted.size();
  char numbers[256];
  std::snprintf(numbers, sizeof numbers,
                "\"rps\":%.2f,\"duration_s\":%.3f,\"concurrency\":%u,\"body_bytes\":%llu",
                elapsed_s > 0 ? static_cast<double>(responses) / elapsed_s : 0.0, elapsed_s,
                options.concurrency, static_cast<unsigned long long>(total.body_bytes));
  char mean[32] = "null";
  if (responses > 0) std::snprintf(mean, sizeof mean, "%.3f", sum / static_cast<double>(responses));
  std::cout << "{\"requests\":" << responses + total.errors << ",\"errors\":" << total.errors
            << ",\"non_2xx\":" << total.non_2xx << ",\"p50_ms\":" << json_ms(sorted, 50)
            << ",\"p90_ms\":" << json_ms(sorted, 90) << ",\"p99_ms\":" << json_ms(sorted, 99)
            << ",\"max_ms\":" << json_ms(sorted, 100) << ",\"mean_ms\":" << mean << "," << numbers
            << ",\"first_error\":"
            << (total.first_error.empty() ? "null" : json_string(total.first_error)) << "}"
            << std::endl;
}

int run(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  std::vector<std::string> requests;
  for (const std::string& path : options.paths) {
    requests.push_back(build_get_request(options.endpoint, path, options.headers));
  }
  std::vector<std::unique_ptr<HttpConnection>> connections;
  for (unsigned i = 0; i < options.concurrency; ++i) {
    connections.push_back(std::make_unique<HttpConnection>(options.endpoint, options.timeout_s));
  }
  if (options.warmup > 0) {
    Schedule warmup(options.warmup, std::nullopt);
    run_phase(connections, warmup, requests, nullptr);
  }
  std::optional<Clock::time_point> deadline;
  const Clock::time_point start = Clock::now();
  if (options.duration_s > 0) {
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options.duration_s));
  }
  Schedule measured(options.requests, deadline);
  std::vector<WorkerStats> stats(connections.size());
  run_phase(connections, measured, requests, &stats);
  const std::chrono::duration<double> elapsed = Clock::now() - start;
  print_report(options, stats, elapsed.count());
  return 0;
}

}  // namespace
}  // namespace contacts::bench

int main(int argc, char** argv) { return contacts::bench::run(argc, argv); }
