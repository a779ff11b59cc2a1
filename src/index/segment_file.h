// The bytes of one index segment: numbered sections (arrays of fixed-size values or raw bytes)
// behind a header that names the format version, the store and the data version they reflect.
// The same format lives in a file of CONTACTS_DATA_DIR (the persisted snapshot, mapped at
// start) and in anonymous memory (segments built by a refresh), so every segment is read
// through one code path.
//
// File layout: a 4 KiB header, then the sections (each 64-byte aligned), then the section
// table. The header carries XXH3-64 checksums of itself, of the table and of every byte after
// the header, all verified when a file is opened: a flipped byte anywhere is found before any
// query reads the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace contacts::index {

// Bumped whenever the layout or the meaning of a section changes; older files are rebuilt.
inline constexpr uint32_t kSegmentFormatVersion = 4;

// Why a segment file cannot be used (missing, truncated, corrupt, other format or store).
class SegmentFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SegmentIdentity {
  uint64_t store_id = 0;      // Store::store_id() of the store the rows came from
  uint64_t data_version = 0;  // every write committed up to it is in the segment
  uint64_t rows = 0;
};

// Read-only bytes of a segment: a shared mapping of a file, or of a memfd. Immutable and
// thread-safe; spans handed out stay valid while this object lives.
class SegmentBytes {
 public:
  ~SegmentBytes();
  SegmentBytes(const SegmentBytes&) = delete;
  SegmentBytes& operator=(const SegmentBytes&) = delete;

  // Opens and maps `path`, checking the header, the table and every section's checksum.
  // Throws SegmentFileError saying what is wrong (never maps a file that failed a check).
  static std::shared_ptr<const SegmentBytes> open(const std::string& path);

  const SegmentIdentity& identity() const { return identity_; }
  // The section `id` as an array of T. Throws SegmentFileError when it is missing or its size
  // is not a multiple of sizeof(T).
  template <class T>
  std::span<const T> section(uint32_t id) const {
    const std::span<const std::byte> raw = bytes(id);
    if (raw.size() % sizeof(T) != 0) throw_bad_size(id);
    return {reinterpret_cast<const T*>(raw.data()), raw.size() / sizeof(T)};
  }
  std::span<const std::byte> bytes(uint32_t id) const;
  bool has(uint32_t id) const;
  // Drops this process's mapping of section `id`'s pages (they stay in the page cache, or the
  // memfd): after a one-off pass over it, so that it stops counting in this process's memory.
  // The section stays readable.
  void release(uint32_t id) const;
  // The same for the pages wholly inside [data, data + size), bytes of this segment: a long
  // pass over a section releases what it has read as it goes.
  static void release_range(const void* data, size_t size);
  // How far such a pass reads between two releases.
  static constexpr size_t kReleaseEvery = size_t{32} << 20;
  // release() of every page of the segment.
  void release_all() const { release_range(data_, size_); }
  // Size of the mapping (file size).
  size_t size() const { return size_; }

 private:
  friend class SegmentWriter;
  struct Entry {
    uint32_t id;
    uint32_t reserved;
    uint64_t offset;
    uint64_t size;
  };
  SegmentBytes() = default;
  static std::shared_ptr<const SegmentBytes> map_fd(int fd, size_t size, SegmentIdentity identity,
                                                    std::vector<Entry> table);
  [[noreturn]] static void throw_bad_size(uint32_t id);

  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  SegmentIdentity identity_;
  std::vector<Entry> table_;  // sorted by id
};

// Writes a segment section by section. Sections are written as they are added, so a caller
// can free each array once added; several threads may add sections (each is written whole,
// under a lock), one finishes.
class SegmentWriter {
 public:
  // Into `path` (created or truncated; the caller renames it into place once finished, after
  // finish() synced it to disk), or, when `path` is empty, into anonymous memory (memfd).
  // A `scratch` file (read once and removed by this process: a refresh's pieces) is not
  // synced: a crash loses nothing that is not rebuilt anyway.
  enum class Durability { synced, scratch };
  explicit SegmentWriter(const std::string& path, Durability durability = Durability::synced);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  template <class T>
  void add(uint32_t id, std::span<const T> values) {
    add_bytes(id, values.data(), values.size_bytes());
  }
  // Any contiguous container of trivially copyable values (std::vector, PodBuffer).
  template <class Container>
  void add(uint32_t id, const Container& values) {
    add_bytes(id, values.data(), values.size() * sizeof(*values.data()));
  }
  void add_bytes(uint32_t id, const void* data, size_t size);
  // A section written in pieces, for one too large to hold in memory at once: begin_section,
  // then append as often as needed, then end_section. The writer is held meanwhile (another
  // thread's add waits for end_section); this thread adds no other section in between.
  void begin_section(uint32_t id);
  void append(const void* data, size_t size);
  template <class T>
  void append_value(const T& value) {
    append(&value, sizeof value);
  }
  void end_section();
  // Writes the table and the header, flushes a file to disk (fsync), and maps the result.
  std::shared_ptr<const SegmentBytes> finish(const SegmentIdentity& identity);

 private:
  void write_all(const void* data, size_t size);
  void pad_to_alignment();
  void flush_piece();
  int fd_ = -1;
  bool to_file_ = false;
  bool sync_ = true;
  std::mutex mutex_;  // add_bytes'
  std::string path_;
  uint64_t position_ = 0;
  void* body_ = nullptr;  // XXH3 state of every byte written after the header
  std::vector<SegmentBytes::Entry> table_;
  std::vector<char> piece_;  // begin_section's buffer, written when full
  bool in_section_ = false;
};

}  // namespace contacts::index
