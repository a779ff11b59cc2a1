#include "auth/secret_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "auth/random_bytes.h"
#include "util/text.h"

namespace contacts::auth {
namespace {

namespace fs = std::filesystem;

constexpr size_t kKeyBytes = 32;
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Removes a temporary file when the scope ends, whether publishing succeeded or not.
class TempFileGuard {
 public:
  explicit TempFileGuard(fs::path path) : path_(std::move(path)) {}
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  ~TempFileGuard() { ::unlink(path_.c_str()); }

 private:
  fs::path path_;
};

[[noreturn]] void throw_io_error(std::string_view what, const fs::path& path) {
  const int err = errno;
  throw std::runtime_error("secret key: " + std::string(what) + " " + path.string() + ": " +
                           std::strerror(err));
}

// The trimmed key in `path`; nullopt when the file does not exist.
std::optional<std::string> read_key_file(const fs::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::nullopt;
    throw_io_error("cannot open", path);
  }
  std::string contents;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_io_error("cannot read", path);
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
    if (contents.size() > kMaxKeyFileBytes) {
      throw std::runtime_error("secret key: file too large: " + path.string());
    }
  }
  const std::string key(text::trim(contents));
  if (key.empty()) throw std::runtime_error("secret key: file is empty: " + path.string());
  return key;
}

void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_io_error("cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void sync_directory(const fs::path& dir) {
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::fsync(fd.get());
}

// Writes a new key to a private temporary file and hard-links it to `path`. link() never
// replaces an existing file, so when another process published first its key stays.
void publish_new_key(const fs::path& dir, const fs::path& path) {
  const fs::path tmp = dir / (".secret_key." + random_hex(8) + ".tmp");
  const UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) throw_io_error("cannot create", tmp);
  const TempFileGuard guard(tmp);
  if (::fchmod(fd.get(), 0600) != 0) throw_io_error("cannot chmod", tmp);
  write_all(fd.get(), random_hex(kKeyBytes) + "\n", tmp);
  if (::fsync(fd.get()) != 0) throw_io_error("cannot sync", tmp);
  if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    throw_io_error("cannot create", path);
  }
  sync_directory(dir);
}

}  // namespace

std::string load_or_create_secret_key(const std::string& data_dir, const std::string& configured) {
  if (!configured.empty()) return configured;
  const fs::path dir(data_dir);
  const fs::path path = dir / "secret_key";
  if (auto key = read_key_file(path)) return *key;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("secret key: cannot create directory " + dir.string());
  publish_new_key(dir, path);
  if (auto key = read_key_file(path)) return *key;
  throw std::runtime_error("secret key: file disappeared after creation: " + path.string());
}

}  // namespace contacts::auth
