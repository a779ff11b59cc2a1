// Runs another program as a child process with a time limit: no shell, its own process group
// (killed whole past the limit), standard output collected, the end of standard error kept.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace contacts {

struct ChildResult {
  int exit_status = -1;     // the exit status, or -1 when a signal ended it
  std::string out;          // standard output (at most max_output bytes)
  std::string err_tail;     // the last 2 KiB of standard error
  bool output_truncated = false;
};

class ChildTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs argv[0] (found on PATH when it has no '/') with `argv`, standard input from /dev/null,
// and waits for it to end. Past `deadline` its process group gets SIGKILL and ChildTimeout is
// thrown. Throws std::system_error when it cannot be started. Thread-safe.
ChildResult run_child(const std::vector<std::string>& argv,
                      std::chrono::steady_clock::time_point deadline, size_t max_output = 16u << 20);

}  // namespace contacts
