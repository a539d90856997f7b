// RandomSampler (optuna/samplers/_random.py): independent uniform draws in the transformed box.
#include <mutex>

#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "tune/samplers/common.h"

namespace hone {
namespace {

class RandomSampler final : public Sampler {
 public:
  RandomSampler(std::optional<uint64_t> seed, bool per_trial)
      : seed_(tune_detail::seed_or_random(seed)), per_trial_(per_trial), rs_(seed_) {}
  std::string name() const override { return "random"; }
  double sample_independent(const Study&, const FrozenTrial& trial, const std::string& name,
                            const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!per_trial_) return tune_detail::optuna_random_draw(dist, rs_);
    Rng rng = tune_detail::trial_rng(seed_, trial.number, name);
    return tune_detail::from_unit(dist, tune_detail::uniform01(rng));
  }
  void reseed(uint64_t seed) override {
    std::lock_guard<std::mutex> lock(mu_);
    seed_ = seed;
    rs_ = tune_detail::LegacyRandomState(seed);
  }

 private:
  std::mutex mu_;
  uint64_t seed_;
  bool per_trial_;
  tune_detail::LegacyRandomState rs_;
};

}  // namespace

std::shared_ptr<Sampler> make_random_sampler(std::optional<uint64_t> seed, bool per_trial_stream) {
  return std::make_shared<RandomSampler>(seed, per_trial_stream);
}

}  // namespace hone
