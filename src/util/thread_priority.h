// Scheduling priorities of the process's threads (Linux nice values, per thread): when the two
// cores are busy, the threads that answer requests get one first, then reads, then the
// background work that no request waits for directly.
#pragma once

namespace contacts::priority {

// The server's threads (accepting, parsing, answering `/api/health/`) keep the process's.
// Reads and password checks (api::App's pools) run this much below them.
constexpr int kReads = 5;
// Import jobs, read-index refreshes and compactions: below reads, so that a query waits for
// one of them only when no core is idle (a contested core gives a read three times their share).
constexpr int kBackground = 10;

// Lowers the calling thread's priority by `nice` (> 0; capped at 19). Best effort: without the
// right to change it, the thread keeps the process's. Threads it starts inherit it.
void lower_this_thread(int nice);

// Names the calling thread (`top -H`, `perf report --sort comm`, gdb): at most 15 characters
// are kept.
void name_this_thread(const char* name);

}  // namespace contacts::priority
