// Define-by-run search from C++, as Optuna users write it: a study, an objective that suggests
// values, reports per epoch and lets the pruner stop it, then ask/tell for a caller-owned loop.
//   build/release/example_define_by_run
#include <cmath>
#include <cstdio>

#include "hone/tune/tune.h"

int main() {
  // 1. optimize(): the study drives the loop, two trials at once.
  auto study = hone::create_study({.name = "quadratic",
                                   .direction = hone::Direction::kMinimize,
                                   .sampler = hone::make_sampler({{"type", "tpe"}}, 42),
                                   .pruner = hone::make_pruner({{"type", "median"}})});
  study->enqueue_trial({{"x", 1.0}, {"lr", 1e-3}, {"kind", "b"}});  // a known configuration first
  study->optimize(
      [](hone::Trial& t) {
        double x = t.suggest_float("x", -10, 10);
        double lr = t.suggest_float("lr", 1e-5, 1e-1, {.log = true});
        std::string kind = t.suggest_categorical("kind", std::vector<std::string>{"a", "b", "c"});
        double value = 0;
        for (int step = 0; step < 10; ++step) {  // a pretend training loop
          value = (x - 2) * (x - 2) + std::fabs(std::log10(lr) + 3) + (kind == "b" ? 0 : 1) + 1.0 / (step + 1);
          t.report(value, step);
          if (t.should_prune()) throw hone::TrialPruned();
        }
        return value;
      },
      {.n_trials = 60, .n_jobs = 2});
  std::printf("best value %.4f with %s\n", study->best_value(), study->best_params().dump().c_str());

  // 2. ask/tell: the caller owns the loop.
  auto s2 = hone::create_study({.direction = hone::Direction::kMaximize});
  for (int i = 0; i < 20; ++i) {
    hone::Trial t = s2->ask();
    double u = t.suggest_float("u", 0, 1);
    s2->tell(t, u * (1 - u));
  }
  std::printf("ask/tell best %.4f at u=%.3f\n", s2->best_value(), s2->best_params()["u"].get<double>());
  return 0;
}
