// mo_front: hone's multi-objective samplers (nsga2, tpe) on ZDT1 (D variables in [0, 1], two
// objectives minimised): per seed, the hypervolume of the Pareto front of the COMPLETE trials
// against reference (1.1, 1.1), the wall time of the study, and the objective values of every
// trial (so the peer script can check that the same seed gave Optuna's trials). One JSON line.
//   mo_front [--seeds 5] [--trials 200] [--dim 5] [--samplers nsga2,tpe]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "hone/tune/tune.h"
#include "tune/samplers/parzen_estimator.h"

using namespace hone;

namespace {

std::vector<double> zdt1(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 1; i < x.size(); ++i) s += x[i];
  const double g = 1 + 9 * s / static_cast<double>(x.size() - 1), f1 = x[0];
  return {f1, g * (1 - std::sqrt(f1 / g))};
}

std::shared_ptr<Sampler> sampler_for(const std::string& name, uint64_t seed) {
  if (name == "nsga2") return make_nsga2_sampler({.seed = seed});
  if (name == "tpe") return make_tpe_sampler({.seed = seed});
  std::fprintf(stderr, "mo_front: unknown sampler %s (expected nsga2 or tpe)\n", name.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 5, trials = 200, dim = 5;
  std::string samplers = "nsga2,tpe";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seeds")) seeds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--trials")) trials = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dim")) dim = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--samplers")) samplers = argv[i + 1];
    else {
      std::fprintf(stderr, "mo_front: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (seeds < 1 || trials < 1 || dim < 2) {
    std::fprintf(stderr, "mo_front: --seeds, --trials >= 1 and --dim >= 2\n");
    return 2;
  }
  const std::vector<double> ref = {1.1, 1.1};
  std::printf("{\"problem\": \"zdt1\", \"dim\": %d, \"trials\": %d, \"results\": [", dim, trials);
  std::stringstream names(samplers);
  std::string name;
  bool first = true;
  while (std::getline(names, name, ',')) {
    for (int seed = 0; seed < seeds; ++seed) {
      StudyOptions so;
      so.sampler = sampler_for(name, static_cast<uint64_t>(seed));
      so.pruner = make_nop_pruner();
      so.directions = {Direction::kMinimize, Direction::kMinimize};
      auto study = create_study(so);
      auto t0 = std::chrono::steady_clock::now();
      study->optimize(MultiObjective([&](Trial& t) {
                        std::vector<double> x(static_cast<size_t>(dim));
                        for (int i = 0; i < dim; ++i) x[static_cast<size_t>(i)] = t.suggest_float("x" + std::to_string(i), 0, 1);
                        return zdt1(x);
                      }),
                      {.n_trials = trials});
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      tune_detail::Points front;
      for (const auto& t : study->best_trials())
        if (t.values[0] <= ref[0] && t.values[1] <= ref[1]) front.push_back(t.values);
      const double hv = front.empty() ? 0.0 : tune_detail::optuna_hypervolume(front, ref);
      std::printf("%s{\"sampler\": \"%s\", \"seed\": %d, \"hypervolume\": %.17g, \"seconds\": %.4f, \"values\": [",
                  first ? "" : ", ", name.c_str(), seed, hv, secs);
      first = false;
      bool f2 = true;
      for (const auto& t : study->trials()) {
        if (t.values.size() != 2) continue;
        std::printf("%s[%.17g, %.17g]", f2 ? "" : ", ", t.values[0], t.values[1]);
        f2 = false;
      }
      std::printf("]}");
    }
  }
  std::printf("]}\n");
  return 0;
}
