// Deterministic randomness for the generator: xoshiro256** seeded through splitmix64, and
// integer-weighted choices. The same seed gives the same sequence on every platform and
// standard library (std:: distributions do not promise that). Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace contacts::demo {

// One splitmix64 step: a well-mixed 64-bit value from `x` (also usable as a hash).
uint64_t splitmix64(uint64_t& x);

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next();
  // Uniform in [0, n); n must be positive.
  uint64_t below(uint64_t n);
  // Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi);
  // True with probability per_mille / 1000.
  bool chance(uint32_t per_mille);

 private:
  uint64_t s_[4];
};

// Chooses an index with probability proportional to its integer weight.
class WeightedPicker {
 public:
  explicit WeightedPicker(std::span<const uint32_t> weights);
  size_t pick(Rng& rng) const;
  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<uint64_t> cumulative_;
};

// Zipf-like weights for n ranks: proportional to 1/(rank+1) (`steep`) or 1/sqrt(rank+1).
std::vector<uint32_t> zipf_weights(size_t n, bool steep);

}  // namespace contacts::demo
