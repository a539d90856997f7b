// hone's samplers, seeded, one trial at a time, against Optuna 3.1's with the same seed: every
// parameter of every trial equal (tests/tune/optuna_stream_gen.py dumped Optuna's trials into
// optuna_stream_data.h). The default random stream is numpy's RandomState(seed) drawn in
// Optuna's order, and the TPE arithmetic is Optuna's, so the studies must coincide to rounding.
#include <gtest/gtest.h>

#include <cmath>

#include "hone/tune/tune.h"
#include "tune/optuna_stream_data.h"
#include "tune/samplers/common.h"
#include "tune/samplers/parzen_estimator.h"

using namespace hone;

namespace {

const std::vector<std::string> kChoices = {"relu", "tanh", "gelu"};

// The TPE cases leave the categorical out (see optuna_stream_gen.py on ties).
double objective(Trial& t, bool with_cat) {
  double x = t.suggest_float("x", -3.0, 4.0);
  double lr = t.suggest_float("lr", 1e-5, 1e-1, {.log = true});
  double units = static_cast<double>(t.suggest_int("units", 8, 256, {.log = true}));
  double layers = static_cast<double>(t.suggest_int("layers", 1, 9, {.step = 2}));
  std::string act = with_cat ? t.suggest_categorical("act", kChoices) : kChoices[0];
  double drop = t.suggest_float("drop", 0.0, 0.5, {.step = 0.05});
  double a = static_cast<double>(std::find(kChoices.begin(), kChoices.end(), act) - kChoices.begin());
  return (x - 1.3) * (x - 1.3) + std::pow(std::log10(lr) + 2.5, 2) + std::pow(std::log2(units) - 6.0, 2) / 4.0 +
         (layers - 5) * (layers - 5) / 8.0 + a * 0.7 + (drop - 0.2) * (drop - 0.2) * 10.0;
}

std::shared_ptr<Sampler> sampler_for(const std::string& name) {
  if (name == "tpe_seed3") return make_tpe_sampler({.seed = 3});
  if (name == "tpe_seed3_ei8_startup5") return make_tpe_sampler({.n_startup_trials = 5, .n_ei_candidates = 8, .seed = 3});
  if (name == "tpe_mv_seed1") return make_tpe_sampler({.multivariate = true, .seed = 1});
  if (name == "random_seed5") return make_random_sampler(5);
  return nullptr;
}

std::vector<std::vector<double>> run(const std::shared_ptr<Sampler>& sampler, int n_trials, bool with_cat) {
  auto study = create_study({.sampler = sampler, .pruner = make_nop_pruner()});
  study->optimize([&](Trial& t) { return objective(t, with_cat); }, {.n_trials = n_trials});
  std::vector<std::vector<double>> rows;
  for (const auto& t : study->trials()) {
    const json& p = t.params_json();
    std::string act = p.contains("act") ? p.at("act").get<std::string>() : kChoices[0];
    rows.push_back({p.at("x").get<double>(), p.at("lr").get<double>(), p.at("units").get<double>(),
                    p.at("layers").get<double>(),
                    static_cast<double>(std::find(kChoices.begin(), kChoices.end(), act) - kChoices.begin()),
                    p.at("drop").get<double>()});
  }
  return rows;
}

TEST(OptunaStream, SameSeedSameTrialsAsOptuna) {
  for (const auto& c : optuna_stream::cases()) {
    auto sampler = sampler_for(c.name);
    ASSERT_TRUE(sampler) << c.name;
    auto got = run(sampler, c.n_trials, c.with_cat);
    ASSERT_EQ(got.size(), c.params.size()) << c.name;
    for (size_t i = 0; i < got.size(); ++i)
      for (size_t k = 0; k < got[i].size(); ++k)
        ASSERT_NEAR(got[i][k], c.params[i][k], 1e-9 * std::max(1.0, std::fabs(c.params[i][k])))
            << c.name << " trial " << i << " parameter " << k;
  }
}

TEST(OptunaStream, PerTrialStreamIsAnotherStream) {
  // The per-trial stream is a different (order-independent) stream: same seed, other trials.
  const auto& c = optuna_stream::cases().front();
  auto got = run(make_tpe_sampler({.seed = 3, .per_trial_stream = true}), 12, false);
  size_t differ = 0;
  for (size_t i = 0; i < got.size(); ++i) differ += got[i][0] != c.params[i][0];
  EXPECT_GT(differ, 10u);
}

TEST(OptunaStream, ArgsortIsNumpys) {
  for (const auto& a : optuna_stream::argsorts()) {
    std::vector<size_t> idx;
    tune_detail::numpy_argsort(a.v.data(), a.v.size(), idx);
    EXPECT_EQ(idx, a.idx) << "n = " << a.v.size();
  }
}

TEST(OptunaStream, LegacyRandomStateIsNumpys) {
  // numpy: RandomState(0).random_sample(3), RandomState(42).random_sample()
  tune_detail::LegacyRandomState r0(0), r42(42);
  EXPECT_EQ(r0.random_sample(), 0.5488135039273248);
  EXPECT_EQ(r0.random_sample(), 0.7151893663724195);
  EXPECT_EQ(r0.random_sample(), 0.6027633760716439);
  EXPECT_EQ(r42.random_sample(), 0.3745401188473625);
}

TEST(OptunaStream, TruncnormPpfInvertsTheCdf) {
  // q -> x -> q through the truncated normal CDF (from the left tail when a < 0, from the right
  // one otherwise, as the ppf itself), in the centre and far in both tails.
  using tune_detail::log_ndtr;
  for (auto [a, b] : {std::pair{-1.0, 2.0}, {-30.0, -25.0}, {25.0, 40.0}, {-0.5, 0.5}, {3.0, 9.0}}) {
    const double lm = tune_detail::log_gauss_mass(a, b);
    for (double q : {1e-12, 0.01, 0.3, 0.5, 0.9, 1 - 1e-9}) {
      double x = tune_detail::truncnorm_ppf(q, a, b);
      ASSERT_GE(x, a);
      ASSERT_LE(x, b);
      // mass below x over the whole mass, from the tail the ppf worked in (cancellation makes
      // the check itself absolute-accurate only to ~1e-16 / mass)
      double got = a < 0 ? (std::exp(log_ndtr(x)) - std::exp(log_ndtr(a))) / std::exp(lm)
                         : 1.0 - (std::exp(log_ndtr(-x)) - std::exp(log_ndtr(-b))) / std::exp(lm);
      EXPECT_NEAR(got, q, 1e-12 + 1e-7 * q) << a << " " << b << " q=" << q;
    }
  }
}

}  // namespace
