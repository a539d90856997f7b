// RandomSampler (optuna/samplers/_random.py): independent uniform draws in the transformed box.
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "tune/samplers/common.h"

namespace hone {
namespace {

class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(std::optional<uint64_t> seed) : seed_(tune_detail::seed_or_random(seed)) {}
  std::string name() const override { return "random"; }
  double sample_independent(const Study&, const FrozenTrial& trial, const std::string& name,
                            const Distribution& dist) override {
    Rng rng = tune_detail::trial_rng(seed_.load(), trial.number, name);
    return tune_detail::from_unit(dist, tune_detail::uniform01(rng));
  }
  void reseed(uint64_t seed) override { seed_.store(seed); }

 private:
  std::atomic<uint64_t> seed_;
};

}  // namespace

std::shared_ptr<Sampler> make_random_sampler(std::optional<uint64_t> seed) {
  return std::make_shared<RandomSampler>(seed);
}

}  // namespace hone
