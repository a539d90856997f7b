// NSGA-II (src/tune/samplers/nsga2.cc): seeded, one trial at a time, the trials of Optuna 3.1's
// NSGAIISampler with the same seed (tests/tune/mo_golden_gen.py dumped Optuna's trials into
// mo_golden_data.h), with and without constraints; its options and bad configs.
#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/tune.h"
#include "tune/mo_golden_data.h"
#include "tune/mo_golden_run.h"
#include "tune/samplers/common.h"

using namespace hone;

namespace {

std::shared_ptr<Sampler> nsga2_for(const std::string& name) {
  if (name == "nsga2_p10_seed2") return make_nsga2_sampler({.population_size = 10, .seed = 2});
  if (name == "nsga2_p8_seed7_max") return make_nsga2_sampler({.population_size = 8, .seed = 7});
  if (name == "nsga2_p10_seed4_constraints") return make_nsga2_sampler({.population_size = 10, .seed = 4});
  if (name == "nsga2_p6_seed9_mutation_swap")
    return make_nsga2_sampler(
        {.population_size = 6, .mutation_prob = 0.3, .crossover_prob = 0.7, .swapping_prob = 0.3, .seed = 9});
  return nullptr;
}

TEST(Nsga2, SameSeedSameTrialsAsOptuna) {
  EXPECT_EQ(mo_golden::expect_optuna_trials(mo_golden::cases(), nsga2_for), 4u);
}

TEST(Nsga2, TagsGenerationsAndBreedsFromTheFirst) {
  auto study = create_study({.directions = {Direction::kMinimize, Direction::kMinimize},
                             .sampler = make_nsga2_sampler({.population_size = 4, .seed = 1}),
                             .pruner = make_nop_pruner()});
  study->optimize(MultiObjective([](Trial& t) {
                    double x = t.suggest_float("x", 0, 1);
                    return std::vector<double>{x, 1 - x};
                  }),
                  {.n_trials = 10});
  auto trials = study->trials();
  ASSERT_EQ(trials.size(), 10u);
  std::vector<int> gen;
  for (auto& t : trials) gen.push_back(t.system_attrs.at("nsga2:generation").get<int>());
  EXPECT_EQ(gen, (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2}));
}

TEST(Nsga2, RandomStreamIsNumpysRandint) {
  // numpy: RandomState(7).choice(10) five times, then rand()
  tune_detail::LegacyRandomState rs(7);
  std::vector<size_t> got;
  for (int i = 0; i < 5; ++i) got.push_back(rs.randint(10));
  EXPECT_EQ(got, (std::vector<size_t>{4, 9, 6, 3, 3}));
  EXPECT_DOUBLE_EQ(rs.random_sample(), 0.7234651778309412);
}

TEST(Nsga2, RegistryOptionsAndBadConfigs) {
  EXPECT_EQ(make_sampler(json{{"type", "nsga2"}})->name(), "nsga2");
  EXPECT_EQ(make_sampler(json{{"type", "nsga2"}, {"population_size", 20}, {"crossover_prob", 0.8},
                              {"swapping_prob", 0.4}, {"mutation_prob", 0.1}, {"crossover", "uniform"}, {"seed", 3}})
                ->name(),
            "nsga2");
  auto bad = [](const json& j, const std::string& needle) {
    try {
      make_sampler(j);
      ADD_FAILURE() << j.dump() << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  bad(json{{"type", "nsga2"}, {"population_size", 1}}, "population_size");
  bad(json{{"type", "nsga2"}, {"crossover_prob", 1.5}}, "crossover_prob");
  bad(json{{"type", "nsga2"}, {"swapping_prob", -0.1}}, "swapping_prob");
  bad(json{{"type", "nsga2"}, {"mutation_prob", 2}}, "mutation_prob");
  bad(json{{"type", "nsga2"}, {"crossover", "sbx"}}, "crossover");
  bad(json{{"type", "nsga2"}, {"population", 10}}, "population");
}

}  // namespace
