// hone/random.h — the random number generator used everywhere.
// Determinism: every random choice flows from a seed (the study seed and the trial number, or the
// `seed` of a training config). derive_seed() mixes a base seed with a stream id (SplitMix64).
#pragma once

#include <cstdint>
#include <random>

namespace hone {

using Rng = std::mt19937_64;

inline uint64_t derive_seed(uint64_t base, uint64_t stream) {
  uint64_t z = base + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform float in [0, 1) with 24 random bits (fast, exact).
inline float uniform01f(Rng& rng) { return static_cast<float>(rng() >> 40) * (1.0f / 16777216.0f); }

}  // namespace hone
