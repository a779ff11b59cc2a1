// A growable array of trivially copyable values for the index builders' columns. Unlike
// std::vector it grows large buffers with mremap (the pages move, the bytes are not copied)
// and asks for transparent huge pages, so that filling gigabytes costs few page faults and
// TLB misses; small ones live on the heap.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

namespace contacts::index {

template <class T>
class PodBuffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  PodBuffer() = default;
  ~PodBuffer() { release(); }
  PodBuffer(PodBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  PodBuffer& operator=(PodBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  const T& back() const { return data_[size_ - 1]; }
  std::span<const T> span() const { return {data_, size_}; }
  operator std::span<const T>() const { return span(); }  // NOLINT: a view, like vector's

  void push_back(T v) {
    if (size_ == capacity_) reserve(size_ + 1);
    data_[size_++] = v;
  }
  void append(const T* values, size_t n) {
    if (n > capacity_ - size_) reserve(size_ + n);
    if (n > 0) std::memcpy(data_ + size_, values, n * sizeof(T));
    size_ += n;
  }
  // Adds `n` values left for the caller to write; returns the first.
  T* extend(size_t n) {
    if (n > capacity_ - size_) reserve(size_ + n);
    size_ += n;
    return data_ + size_ - n;
  }
  // Sets the size to `n`, new values zero (fresh pages are zero; reused ones are cleared).
  void resize_zeroed(size_t n) {
    reserve(n);
    if (n > size_) std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
    size_ = n;
  }
  // Room for at least `n` values; at least doubles. Up to kHeapBytes the buffer is the
  // heap's (malloc reuses its memory without a system call); beyond, a mapping of its own.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    size_t bytes = std::max(n, capacity_ * 2) * sizeof(T);
    if (bytes <= kHeapBytes) {
      void* p = std::realloc(static_cast<void*>(data_), bytes);
      if (p == nullptr) throw std::bad_alloc();
      data_ = static_cast<T*>(p);
      capacity_ = bytes / sizeof(T);
      return;
    }
    bytes = (bytes + kPage - 1) & ~(kPage - 1);
    void* p;
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer does not see mremap: pages it moves keep their old access history at
    // the old address, which another thread's next mapping may get (a false race). Under TSan
    // the buffer grows by a new mapping, a copy and munmap, which it follows.
    p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (data_ != nullptr) std::memcpy(p, static_cast<const void*>(data_), size_ * sizeof(T));
    const size_t size = size_;
    release();  // which also forgets the size
    size_ = size;
#else
    if (data_ == nullptr || on_heap()) {
      p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      if (data_ != nullptr) std::memcpy(p, static_cast<const void*>(data_), size_ * sizeof(T));
      std::free(static_cast<void*>(data_));
    } else {
      p = ::mremap(data_, capacity_ * sizeof(T), bytes, MREMAP_MAYMOVE);
      if (p == MAP_FAILED) throw std::bad_alloc();
    }
#endif
    if (bytes >= kHugePage) ::madvise(p, bytes, MADV_HUGEPAGE);
    data_ = static_cast<T*>(p);
    capacity_ = bytes / sizeof(T);
  }
  // Frees the memory.
  void release() {
    if (on_heap()) {
      std::free(static_cast<void*>(data_));
    } else if (data_ != nullptr) {
      ::munmap(data_, capacity_ * sizeof(T));
    }
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  // Whether data_ came from malloc (mappings are always larger).
  bool on_heap() const { return data_ != nullptr && capacity_ * sizeof(T) <= kHeapBytes; }

  // Each mapping, its moves (mremap) and its end (munmap) are system calls, and all but the
  // first flush the TLBs of every core running the process: the index builders' thousands of
  // small buffers grown a page at a time by half were 129k such calls during a 1M-row import,
  // their flushes a tenth of the refresh's time (perf) and interrupts to the importing job.
  static constexpr size_t kHeapBytes = size_t{1} << 20;
  static constexpr size_t kPage = 4096, kHugePage = 2 << 20;
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Bytes, appended as strings.
inline void append(PodBuffer<char>& out, std::string_view s) { out.append(s.data(), s.size()); }

}  // namespace contacts::index
