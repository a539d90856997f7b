// hone/augment.h — data augmentation applied to training mini-batches ([train] augment).
//
// Images (N, C, H, W): random shift (translate by up to `shift` pixels each way, zero fill: the
// same pixels as a zero-padded random crop), horizontal flip with probability 0.5, rotation by a
// uniform angle in [-rotate, rotate] degrees about the centre (bilinear, zero fill), cutout (one
// zeroed square of side `cutout` at a uniform centre that may overhang the border, DeVries &
// Taylor 2017). Any features: Gaussian noise of std `noise` added to every value (after scaling),
// and mixup (Zhang et al. 2018): one lambda ~ Beta(mixup, mixup) per batch, rows mixed with a
// random permutation of the batch, the loss lam * L(y) + (1 - lam) * L(y[perm]).
// Everything is off by default. Randomness is a function of (seed, epoch, batch) alone, so a run
// repeats exactly; a batch is augmented in place in buffers reserved once, so a training step
// allocates nothing after the first. Validation and test data are never augmented (only
// Trainer::fit's training batches go through an Augmenter).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hone/random.h"
#include "hone/tensor.h"

namespace hone {

struct AugmentOptions {
  int64_t shift = 0;    // pixels, images only
  bool flip = false;    // horizontal, p = 0.5, images only
  double rotate = 0.0;  // max degrees, images only
  int64_t cutout = 0;   // square side in pixels, images only
  double noise = 0.0;   // Gaussian std, any features
  double mixup = 0.0;   // Beta(alpha, alpha) alpha, any features
  bool any() const { return shift > 0 || flip || rotate > 0 || cutout > 0 || noise > 0 || mixup > 0; }
  bool geometric() const { return shift > 0 || flip || rotate > 0; }
  bool needs_images() const { return geometric() || cutout > 0; }
};

// Parses `[train] augment = {shift = 2, flip = true, rotate = 10.0, cutout = 8, noise = 0.1,
// mixup = 0.2}` (false/absent: all off). Throws Error(kInvalidArgument) naming the key
// ("train.augment.rotate must be in [0, 180]").
AugmentOptions parse_augment(const nlohmann::json& value, const std::string& where = "train.augment");

class Augmenter {
 public:
  Augmenter() = default;
  Augmenter(AugmentOptions options, uint64_t seed) : o_(options), seed_(seed) {}
  const AugmentOptions& options() const { return o_; }

  // Reserves every buffer for batches of up to `max_rows` samples of shape `sample`.
  // Throws Error(kInvalidArgument) when an image option is set but `sample` is not (C, H, W).
  void reserve(const Shape& sample, int64_t max_rows);
  // Augments the batch `x` in place with the randomness of (seed, epoch, batch). With mixup, also
  // fills `y_mix` with y's rows in the mixing order and returns lambda (the weight of y); without
  // mixup returns 1 and leaves y_mix alone. Allocates nothing once reserve() covered the batch.
  double apply(Tensor& x, const Tensor& y, Tensor& y_mix, int epoch, int64_t batch);

 private:
  void warp(float* img, float angle_rad, float dx, float dy, bool flip);
  AugmentOptions o_;
  uint64_t seed_ = 0;
  int64_t c_ = 0, h_ = 0, w_ = 0;
  std::vector<float> scratch_;    // one image
  std::vector<int64_t> perm_;     // mixup order
  Tensor x_copy_;                 // the batch before mixing
};

}  // namespace hone
