#include "metrics/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace contacts::metrics {
namespace {

double unix_now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Set when the program starts (static initialisation), a few milliseconds after exec.
const double kStartTimeSeconds = unix_now_seconds();

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

}  // namespace

void write_process_metrics(TextWriter& out) {
  out.family("process_start_time_seconds", "Start time of the process since the Unix epoch.",
             "gauge");
  out.sample("process_start_time_seconds").value(kStartTimeSeconds);

  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    out.family("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
               "counter");
    out.sample("process_cpu_seconds_total").value(seconds(usage.ru_utime) + seconds(usage.ru_stime));
  }

  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    out.family("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
    out.sample("process_resident_memory_bytes")
        .value(resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  }

  std::error_code ec;
  uint64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    out.family("process_open_fds", "Open file descriptors.", "gauge");
    out.sample("process_open_fds").value(fds > 0 ? fds - 1 : 0);  // not the one listing them
  }
}

}  // namespace contacts::metrics
