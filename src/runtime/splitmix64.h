// SplitMix64 (Steele, Lea and Flood 2014): the same stream of 64-bit values on
// every platform, for the random-search sampler and the search's per-step seeds.
#pragma once

#include <cstdint>

namespace adarts {

inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ULL;

// The output for the generator state `z` (after the state has been advanced by the gamma).
inline uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace adarts
