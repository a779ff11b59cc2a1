// Multipart upload bodies (http/multipart.h), fed in two pieces split where the first byte
// says: any bytes end as a complete upload or a malformed one, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "http/multipart.h"

using namespace contacts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (std::filesystem::temp_directory_path() /
                                   ("contacts_fuzz_" + std::to_string(::getpid()) + "_upload"))
                                      .string();
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
  std::filesystem::remove(path);
  {
    http::MultipartFileSink sink("XyZ-boundary", "file", path);
    if (sink.write(bytes.substr(0, split))) (void)sink.write(bytes.substr(split));
    (void)sink.complete();
  }
  std::filesystem::remove(path);
  return 0;
}
