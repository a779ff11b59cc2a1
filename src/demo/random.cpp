#include "demo/random.h"

#include <algorithm>
#include <cmath>

namespace contacts::demo {
namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

int64_t Rng::between(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
}

bool Rng::chance(uint32_t per_mille) { return below(1000) < per_mille; }

WeightedPicker::WeightedPicker(std::span<const uint32_t> weights) {
  cumulative_.reserve(weights.size());
  uint64_t total = 0;
  for (const uint32_t w : weights) cumulative_.push_back(total += w);
}

size_t WeightedPicker::pick(Rng& rng) const {
  const uint64_t x = rng.below(cumulative_.back());
  return static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), x) -
                             cumulative_.begin());
}

std::vector<uint32_t> zipf_weights(size_t n, bool steep) {
  constexpr double kScale = 1e6;
  std::vector<uint32_t> weights(n);
  for (size_t i = 0; i < n; ++i) {
    const double rank = static_cast<double>(i + 1);
    // Division and sqrt are correctly rounded in IEEE 754, so this is the same everywhere.
    weights[i] = static_cast<uint32_t>(kScale / (steep ? rank : std::sqrt(rank))) + 1;
  }
  return weights;
}

}  // namespace contacts::demo
