#include "util/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace contacts::priority {

void lower_this_thread(int nice) {
  if (nice <= 0) return;
  const id_t self = static_cast<id_t>(gettid());
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, self);
  if (errno == 0) setpriority(PRIO_PROCESS, self, std::min(current + nice, 19));
}

}  // namespace contacts::priority
