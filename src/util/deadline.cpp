#include "util/deadline.h"

#include <algorithm>

namespace contacts::deadline {
namespace {

thread_local std::optional<Clock::time_point> current;

}  // namespace

Scope::Scope(std::chrono::milliseconds budget) : previous_(current) {
  current = Clock::now() + budget;
}

Scope::~Scope() { current = previous_; }

void check() {
  if (current && Clock::now() >= *current) throw Exceeded();
}

std::optional<int64_t> remaining_ms() {
  if (!current) return std::nullopt;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*current - Clock::now());
  return std::max<int64_t>(1, left.count());
}

}  // namespace contacts::deadline
