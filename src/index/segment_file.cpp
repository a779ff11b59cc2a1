#include "index/segment_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/collation.h"
#include "util/release_pages.h"

namespace contacts::index {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'X', 'I', 'N', 'D', 'E', 'X'};
constexpr uint64_t kHeaderBytes = 4096;
constexpr uint64_t kAlignment = 64;
constexpr size_t kPieceBytes = 1 << 20;

struct Header {
  char magic[8];
  uint32_t format_version;
  uint32_t section_count;
  uint64_t store_id;
  uint64_t data_version;
  uint64_t rows;
  uint64_t table_offset;
  uint64_t file_size;
  uint64_t table_checksum;
  uint64_t body_checksum;    // XXH3 of every byte after the header: sections, padding, table
  uint64_t header_checksum;  // XXH3 of the whole header block with this field zero
  // collation::version() of the build that wrote the ranks (zero-padded): text orders change
  // with ICU's collation data.
  char collation[32];
};

// The checksum of a header block (kHeaderBytes, starting with a Header).
static_assert(offsetof(Header, header_checksum) == 72, "the header layout is part of the format");
uint64_t header_checksum(const char* block) {
  std::vector<char> copy(block, block + kHeaderBytes);
  std::memset(copy.data() + offsetof(Header, header_checksum), 0, sizeof(uint64_t));
  return XXH3_64bits(copy.data(), copy.size());
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

void pread_all(int fd, void* out, size_t size, uint64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SegmentFileError(errno_text("cannot read " + path));
    if (n == 0) throw SegmentFileError(path + " is truncated");
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

// XXH3 of `size` bytes at `offset`, read through the file (not the mapping, so that checking
// a large file does not make all of it resident in this process).
uint64_t checksum_range(int fd, uint64_t offset, uint64_t size, const std::string& path,
                        std::vector<char>& buffer) {
  XXH3_state_t* state = XXH3_createState();
  if (!state) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  while (size > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, buffer.size()));
    try {
      pread_all(fd, buffer.data(), n, offset, path);
    } catch (...) {
      XXH3_freeState(state);
      throw;
    }
    XXH3_64bits_update(state, buffer.data(), n);
    offset += n;
    size -= n;
  }
  const uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return sum;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

SegmentBytes::~SegmentBytes() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

std::shared_ptr<const SegmentBytes> SegmentBytes::map_fd(int fd, size_t size,
                                                         SegmentIdentity identity,
                                                         std::vector<Entry> table) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw SegmentFileError(errno_text("cannot map the index segment"));
  std::shared_ptr<SegmentBytes> bytes(new SegmentBytes());
  bytes->data_ = static_cast<const std::byte*>(p);
  bytes->size_ = size;
  bytes->identity_ = identity;
  std::sort(table.begin(), table.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  bytes->table_ = std::move(table);
  return bytes;
}

std::shared_ptr<const SegmentBytes> SegmentBytes::open(const std::string& path) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw SegmentFileError(errno_text("cannot open " + path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw SegmentFileError(errno_text("cannot stat " + path));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < kHeaderBytes) throw SegmentFileError(path + " is truncated (no header)");
  std::vector<char> block(kHeaderBytes);
  pread_all(fd.get(), block.data(), block.size(), 0, path);
  Header h{};
  std::memcpy(&h, block.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    throw SegmentFileError(path + " is not an index snapshot");
  }
  if (h.format_version != kSegmentFormatVersion) {
    throw SegmentFileError(path + " has format version " + std::to_string(h.format_version) +
                           ", this build reads version " + std::to_string(kSegmentFormatVersion));
  }
  if (header_checksum(block.data()) != h.header_checksum) {
    throw SegmentFileError(path + " has a corrupt header (checksum mismatch)");
  }
  const std::string collation(h.collation, strnlen(h.collation, sizeof h.collation));
  if (collation != collation::version()) {
    throw SegmentFileError(path + " was ordered with collation " + collation +
                           ", this build uses " + collation::version());
  }
  if (h.file_size != file_size) {
    throw SegmentFileError(path + " is truncated or extended: " + std::to_string(file_size) +
                           " bytes, the header says " + std::to_string(h.file_size));
  }
  const uint64_t table_bytes = uint64_t{h.section_count} * sizeof(Entry);
  if (h.table_offset < kHeaderBytes || h.table_offset > file_size ||
      file_size - h.table_offset != table_bytes) {
    throw SegmentFileError(path + " has a corrupt section table position");
  }
  std::vector<Entry> table(h.section_count);
  pread_all(fd.get(), table.data(), table_bytes, h.table_offset, path);
  if (XXH3_64bits(table.data(), table_bytes) != h.table_checksum) {
    throw SegmentFileError(path + " has a corrupt section table (checksum mismatch)");
  }
  for (const Entry& e : table) {
    if (e.offset < kHeaderBytes || e.offset > h.table_offset || e.size > h.table_offset - e.offset) {
      throw SegmentFileError(path + ": section " + std::to_string(e.id) + " lies outside the file");
    }
  }
  std::vector<char> buffer(4 << 20);
  if (checksum_range(fd.get(), kHeaderBytes, file_size - kHeaderBytes, path, buffer) !=
      h.body_checksum) {
    throw SegmentFileError(path + " is corrupt (checksum mismatch)");
  }
  return map_fd(fd.get(), file_size, {h.store_id, h.data_version, h.rows}, std::move(table));
}

std::span<const std::byte> SegmentBytes::bytes(uint32_t id) const {
  auto it = std::lower_bound(table_.begin(), table_.end(), id,
                             [](const Entry& e, uint32_t key) { return e.id < key; });
  if (it == table_.end() || it->id != id) {
    throw SegmentFileError("index segment has no section " + std::to_string(id));
  }
  return {data_ + it->offset, it->size};
}

bool SegmentBytes::has(uint32_t id) const {
  return std::binary_search(table_.begin(), table_.end(), Entry{id, 0, 0, 0},
                            [](const Entry& a, const Entry& b) { return a.id < b.id; });
}

void SegmentBytes::release(uint32_t id) const {
  if (!has(id)) return;
  const std::span<const std::byte> raw = bytes(id);
  release_range(raw.data(), raw.size());
}

void SegmentBytes::release_range(const void* data, size_t size) { release_pages(data, size); }

void SegmentBytes::throw_bad_size(uint32_t id) {
  throw SegmentFileError("index segment section " + std::to_string(id) + " has a bad size");
}

SegmentWriter::SegmentWriter(const std::string& path, Durability durability)
    : to_file_(!path.empty()), sync_(durability == Durability::synced), path_(path) {
  fd_ = to_file_ ? ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                 : ::memfd_create("contacts-index-segment", MFD_CLOEXEC);
  if (fd_ < 0) {
    throw SegmentFileError(errno_text("cannot create " + (to_file_ ? path : "a memfd")));
  }
  const std::vector<char> zeros(kHeaderBytes, 0);
  write_all(zeros.data(), zeros.size());
  body_ = XXH3_createState();
  if (!body_) throw std::bad_alloc();
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(body_));
}

SegmentWriter::~SegmentWriter() {
  if (in_section_) mutex_.unlock();  // a section left unfinished by an exception
  if (fd_ >= 0) ::close(fd_);
  if (body_) XXH3_freeState(static_cast<XXH3_state_t*>(body_));
}

void SegmentWriter::write_all(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, std::min<size_t>(size, 1 << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SegmentFileError(errno_text("cannot write the index segment"));
    if (body_) XXH3_64bits_update(static_cast<XXH3_state_t*>(body_), p, static_cast<size_t>(n));
    p += n;
    size -= static_cast<size_t>(n);
    position_ += static_cast<uint64_t>(n);
  }
}

void SegmentWriter::pad_to_alignment() {
  static const char kPad[kAlignment] = {};
  if (position_ % kAlignment != 0) write_all(kPad, kAlignment - position_ % kAlignment);
}

void SegmentWriter::add_bytes(uint32_t id, const void* data, size_t size) {
  std::lock_guard lock(mutex_);
  pad_to_alignment();
  table_.push_back({id, 0, position_, size});
  write_all(data, size);
}

void SegmentWriter::begin_section(uint32_t id) {
  mutex_.lock();
  in_section_ = true;
  pad_to_alignment();
  table_.push_back({id, 0, position_, 0});
  piece_.reserve(kPieceBytes);
}

void SegmentWriter::flush_piece() {
  write_all(piece_.data(), piece_.size());
  piece_.clear();
}

void SegmentWriter::append(const void* data, size_t size) {
  if (piece_.size() + size > kPieceBytes) flush_piece();
  if (size >= kPieceBytes) {
    write_all(data, size);
    return;
  }
  const char* p = static_cast<const char*>(data);
  piece_.insert(piece_.end(), p, p + size);
}

void SegmentWriter::end_section() {
  flush_piece();
  table_.back().size = position_ - table_.back().offset;
  in_section_ = false;
  std::vector<char>().swap(piece_);
  mutex_.unlock();
}

std::shared_ptr<const SegmentBytes> SegmentWriter::finish(const SegmentIdentity& identity) {
  if (in_section_) throw std::logic_error("a segment section was begun and not ended");
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.format_version = kSegmentFormatVersion;
  h.section_count = static_cast<uint32_t>(table_.size());
  h.store_id = identity.store_id;
  h.data_version = identity.data_version;
  h.rows = identity.rows;
  std::strncpy(h.collation, collation::version().c_str(), sizeof h.collation - 1);
  h.table_offset = position_;
  const size_t table_bytes = table_.size() * sizeof(SegmentBytes::Entry);
  h.table_checksum = XXH3_64bits(table_.data(), table_bytes);
  write_all(table_.data(), table_bytes);
  h.file_size = position_;
  h.body_checksum = XXH3_64bits_digest(static_cast<XXH3_state_t*>(body_));
  std::vector<char> block(kHeaderBytes, 0);
  std::memcpy(block.data(), &h, sizeof h);
  h.header_checksum = header_checksum(block.data());
  std::memcpy(block.data(), &h, sizeof h);
  if (::pwrite(fd_, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size())) {
    throw SegmentFileError(errno_text("cannot write the index segment header"));
  }
  if (to_file_ && sync_ && ::fsync(fd_) != 0) throw SegmentFileError(errno_text("cannot sync " + path_));
  return SegmentBytes::map_fd(fd_, position_, identity, table_);
}

}  // namespace contacts::index
