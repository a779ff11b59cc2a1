#include "web/assets.h"

#include <algorithm>

namespace contacts::web {

namespace generated {
// Defined by the source web/embed_assets.py generates into the build tree.
extern const Asset kAssets[];
extern const size_t kAssetCount;
}  // namespace generated

std::span<const Asset> all_assets() { return {generated::kAssets, generated::kAssetCount}; }

const Asset* find_asset(std::string_view path) {
  const auto assets = all_assets();
  const auto it = std::lower_bound(assets.begin(), assets.end(), path,
                                   [](const Asset& a, std::string_view p) { return a.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

}  // namespace contacts::web
