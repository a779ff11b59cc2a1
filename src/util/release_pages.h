// Giving memory back to the system without freeing it: for a large array read once (a file
// mapping after a pass over it, a hash table's old slots while they are moved into a new one).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

namespace contacts {

// Drops the calling process's pages wholly inside [data, data + size) (madvise DONTNEED): a
// shared or file mapping reads the same bytes again from the page cache; private anonymous
// memory (the heap) reads as zeros afterwards, so only for bytes that will not be read again.
void release_pages(const void* data, size_t size);

// Calls f(v) for each v of `values`, in order, giving back each MiB once read: the old slots
// of a hash table that doubles, moved into the new one, so that the table costs its new size
// while it moves (not its new and old sizes together: 128 + 64 MiB at 10M e-mails).
template <class T, class F>
void consume_releasing(std::span<const T> values, F f) {
  constexpr size_t kChunk = (size_t{1} << 20) / sizeof(T);
  for (size_t start = 0; start < values.size(); start += kChunk) {
    const size_t end = std::min(values.size(), start + kChunk);
    for (size_t i = start; i < end; ++i) f(values[i]);
    release_pages(values.data() + start, (end - start) * sizeof(T));
  }
}

}  // namespace contacts
