// PodBuffer keeps its values and size as it grows from the heap into a mapping of its own and
// that mapping grows (by mremap, or under ThreadSanitizer by a new mapping and a copy).
#include <gtest/gtest.h>

#include <cstdint>

#include "index/pod_buffer.h"

namespace {

TEST(PodBuffer, GrowingPastTheHeapIntoMappingsKeepsEveryValue) {
  contacts::index::PodBuffer<uint32_t> buffer;
  constexpr uint32_t kValues = 3'000'000;  // 12 MB: the heap (1 MiB), then several mappings
  for (uint32_t i = 0; i < kValues; ++i) buffer.push_back(i * 7u);
  ASSERT_EQ(buffer.size(), kValues);
  for (uint32_t i = 0; i < kValues; ++i) {
    ASSERT_EQ(buffer[i], i * 7u) << i;
  }
  buffer.append(buffer.data(), 0);
  EXPECT_EQ(buffer.span().size(), kValues);
}

}  // namespace
