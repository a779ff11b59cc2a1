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
    "usage: contacts-bench (--port P | --endpoint HOST:P) [--port P | --endpoint HOST:P ...]\n"
    "                      [--host H] [--concurrency C] (--requests N | --duration S)\n"
    "                      --path TARGET [--path TARGET ...] [--header 'Name: value' ...]\n"
    "                      [--warmup K] [--timeout S]\n"
    "Sends GET requests round-robin over the paths from C keep-alive connections until N\n"
    "requests are done or S seconds have passed (whichever comes first), after K warm-up\n"
    "requests that are not measured. The connections are spread round-robin over the\n"
    "endpoints (each --port on --host, default 127.0.0.1; each --endpoint as given).\n"
    "Prints one JSON line, with per-endpoint counts under \"endpoints\".\n";

struct Options {
  std::vector<Endpoint> endpoints;  // connection i goes to endpoints[i % size]
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
  uint64_t cache_hits = 0;  // responses with X-Cache-Hit: true
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

// "host:port" or "[v6-address]:port".
Endpoint parse_endpoint(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) usage_error("--endpoint needs HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return Endpoint{host, parse_number<uint16_t>("--endpoint", text.substr(colon + 1))};
}

Options parse_options(int argc, char** argv) {
  Options options;
  std::string default_host = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) usage_error(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--host") {
      default_host = value;
    } else if (flag == "--port") {
      options.endpoints.push_back(Endpoint{"", parse_number<uint16_t>(flag, value)});
    } else if (flag == "--endpoint") {
      options.endpoints.push_back(parse_endpoint(value));
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
  if (options.endpoints.empty()) usage_error("--port or --endpoint is required");
  for (Endpoint& endpoint : options.endpoints) {
    if (endpoint.port == 0) usage_error("port 0 is not a target");
    if (endpoint.host.empty()) endpoint.host = default_host;
  }
  if (options.paths.empty()) usage_error("at least one --path is required");
  if (options.requests == 0 && options.duration_s <= 0) {
    usage_error("--requests or --duration is required");
  }
  if (options.concurrency == 0 || options.concurrency > 1024) {
    usage_error("--concurrency must be 1..1024");
  }
  if (options.concurrency < options.endpoints.size()) {
    usage_error("--concurrency must be at least the number of endpoints");
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
    if (result.cache_hit) ++stats->cache_hits;
  }
}

// Runs one phase on all connections; `stats` is null for the unmeasured warm-up. Connection
// i sends requests_by_endpoint[i % endpoints] (the same targets, each endpoint's Host header).
void run_phase(std::vector<std::unique_ptr<HttpConnection>>& connections, Schedule& schedule,
               const std::vector<std::vector<std::string>>& requests_by_endpoint,
               std::vector<WorkerStats>* stats) {
  std::vector<std::thread> threads;
  threads.reserve(connections.size());
  for (size_t i = 0; i < connections.size(); ++i) {
    WorkerStats* worker_stats = stats == nullptr ? nullptr : &(*stats)[i];
    threads.emplace_back(run_worker, std::ref(*connections[i]), std::ref(schedule),
                         std::cref(requests_by_endpoint[i % requests_by_endpoint.size()]),
                         worker_stats);
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

void merge(WorkerStats& total, const WorkerStats& s) {
  total.latencies_ms.insert(total.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
  total.errors += s.errors;
  total.non_2xx += s.non_2xx;
  total.cache_hits += s.cache_hits;
  total.body_bytes += s.body_bytes;
  if (total.first_error.empty()) total.first_error = s.first_error;
}

// The "requests", "errors", "non_2xx" and "cache_hits" members of `merged`.
std::string count_members(const WorkerStats& merged) {
  return "\"requests\":" + std::to_string(merged.latencies_ms.size() + merged.errors) +
         ",\"errors\":" + std::to_string(merged.errors) +
         ",\"non_2xx\":" + std::to_string(merged.non_2xx) +
         ",\"cache_hits\":" + std::to_string(merged.cache_hits);
}

// One object per endpoint: its connections, counts, p50 and p99.
std::string endpoints_json(const Options& options, const std::vector<WorkerStats>& stats) {
  const size_t n = options.endpoints.size();
  std::string out = "[";
  for (size_t e = 0; e < n; ++e) {
    WorkerStats merged;
    unsigned connections = 0;
    for (size_t i = e; i < stats.size(); i += n, ++connections) merge(merged, stats[i]);
    std::sort(merged.latencies_ms.begin(), merged.latencies_ms.end());
    const Endpoint& endpoint = options.endpoints[e];
    out += (e == 0 ? "{" : ",{") + std::string("\"endpoint\":") +
           json_string(endpoint.host + ":" + std::to_string(endpoint.port)) +
           ",\"connections\":" + std::to_string(connections) + "," + count_members(merged) +
           ",\"p50_ms\":" + json_ms(merged.latencies_ms, 50) +
           ",\"p99_ms\":" + json_ms(merged.latencies_ms, 99) + "}";
  }
  return out + "]";
}

void print_report(const Options& options, const std::vector<WorkerStats>& stats, double elapsed_s) {
  WorkerStats total;
  for (const WorkerStats& s : stats) merge(total, s);
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
  std::cout << "{" << count_members(total) << ",\"p50_ms\":" << json_ms(sorted, 50)
            << ",\"p90_ms\":" << json_ms(sorted, 90) << ",\"p99_ms\":" << json_ms(sorted, 99)
            << ",\"max_ms\":" << json_ms(sorted, 100) << ",\"mean_ms\":" << mean << "," << numbers
            << ",\"first_error\":"
            << (total.first_error.empty() ? "null" : json_string(total.first_error))
            << ",\"endpoints\":" << endpoints_json(options, stats) << "}" << std::endl;
}

int run(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  std::vector<std::vector<std::string>> requests(options.endpoints.size());
  for (size_t e = 0; e < options.endpoints.size(); ++e) {
    for (const std::string& path : options.paths) {
      requests[e].push_back(build_get_request(options.endpoints[e], path, options.headers));
    }
  }
  std::vector<std::unique_ptr<HttpConnection>> connections;
  for (unsigned i = 0; i < options.concurrency; ++i) {
    const Endpoint& endpoint = options.endpoints[i % options.endpoints.size()];
    connections.push_back(std::make_unique<HttpConnection>(endpoint, options.timeout_s));
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
