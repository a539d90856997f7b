// tests/testing/blobs.h — a small separable classification data set shared by the train and
// objective tests: three Gaussian blobs in 4-D, class c centred on unit vector c scaled by 2.
#pragma once

#include <random>

#include "hone/dataset.h"
#include "hone/random.h"

namespace hone::testing {

inline Dataset blobs(int64_t n, uint64_t seed, float noise_sd = 0.5f) {
  Dataset d;
  d.num_classes = 3;
  d.x.resize({n, 4});
  d.y.resize({n});
  Rng rng(seed);
  std::normal_distribution<float> noise(0.0f, noise_sd);
  for (int64_t i = 0; i < n; ++i) {
    int c = static_cast<int>(i % 3);
    for (int j = 0; j < 4; ++j) d.x[i * 4 + j] = noise(rng) + (j == c ? 2.0f : 0.0f);
    d.y[i] = static_cast<float>(c);
  }
  return d;
}

}  // namespace hone::testing
