#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/distribution.h"
#include "hone/tune/frozen_trial.h"

using hone::Distribution;
using hone::json;

// The exact distribution_json rows Optuna 3.1 writes (ref doc, section 2).
TEST(Distribution, WritesOptunaDistributionJson) {
  EXPECT_EQ(Distribution::real(-10, 10).to_json_string(),
            R"({"name": "FloatDistribution", "attributes": {"step": null, "low": -10.0, "high": 10.0, "log": false}})");
  EXPECT_EQ(Distribution::real(1e-5, 1, true).to_json_string(),
            R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 1.0, "log": true}})");
  EXPECT_EQ(Distribution::real(0, 1, false, 0.25).to_json_string(),
            R"({"name": "FloatDistribution", "attributes": {"step": 0.25, "low": 0.0, "high": 1.0, "log": false}})");
  EXPECT_EQ(Distribution::integer(1, 9).to_json_string(),
            R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 1, "high": 9}})");
  EXPECT_EQ(Distribution::integer(1, 1024, true).to_json_string(),
            R"({"name": "IntDistribution", "attributes": {"log": true, "step": 1, "low": 1, "high": 1024}})");
  EXPECT_EQ(Distribution::integer(0, 10, false, 2).to_json_string(),
            R"({"name": "IntDistribution", "attributes": {"log": false, "step": 2, "low": 0, "high": 10}})");
  EXPECT_EQ(Distribution::categorical({"a", 1, 2.5, nullptr, true}).to_json_string(),
            R"({"name": "CategoricalDistribution", "attributes": {"choices": ["a", 1, 2.5, null, true]}})");
}

TEST(Distribution, JsonRoundTripKeepsEveryKind) {
  std::vector<Distribution> all = {
      Distribution::real(-10, 10), Distribution::real(1e-5, 1, true), Distribution::real(0, 1, false, 0.25),
      Distribution::integer(1, 9), Distribution::integer(1, 1024, true), Distribution::integer(0, 10, false, 2),
      Distribution::categorical({"a", 1, 2.5, nullptr, true}),
      Distribution::categorical({json::array({128, 64}), json::array({256})})};
  for (auto& d : all) {
    EXPECT_EQ(Distribution::from_json_string(d.to_json_string()), d) << d.describe();
    EXPECT_EQ(Distribution::from_json(d.to_json()), d) << d.describe();
  }
}

TEST(Distribution, ReadsLegacyAndShortForms) {
  EXPECT_EQ(Distribution::from_json_string(R"({"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 1.0}})"),
            Distribution::real(0.001, 1, true));
  EXPECT_EQ(Distribution::from_json_string(R"({"name": "DiscreteUniformDistribution", "attributes": {"low": 0, "high": 1, "q": 0.5}})"),
            Distribution::real(0, 1, false, 0.5));
  EXPECT_EQ(Distribution::from_json_string(R"({"name": "IntUniformDistribution", "attributes": {"low": 0, "high": 8, "step": 2}})"),
            Distribution::integer(0, 8, false, 2));
  EXPECT_EQ(Distribution::from_json(json{{"type", "int"}, {"low", 1}, {"high", 5}}), Distribution::integer(1, 5));
  EXPECT_THROW(Distribution::from_json_string(R"({"name": "Weird", "attributes": {}})"), hone::Error);
  EXPECT_THROW(Distribution::from_json_string("not json"), hone::Error);
}

TEST(Distribution, InternalRepresentationIsADouble) {
  auto c = Distribution::categorical({"adam", "sgd", json::array({128, 64})});
  EXPECT_EQ(c.to_internal("sgd"), 1.0);
  EXPECT_EQ(c.to_internal(json::array({128, 64})), 2.0);
  EXPECT_EQ(c.to_external(2.0), json::array({128, 64}));
  EXPECT_THROW(c.to_internal("rmsprop"), hone::Error);
  auto i = Distribution::integer(0, 10, false, 2);
  EXPECT_EQ(i.to_external(4.0), json(4));
  EXPECT_TRUE(i.contains(4));
  EXPECT_FALSE(i.contains(5));
  EXPECT_THROW(i.to_internal(2.5), hone::Error);
  auto n = Distribution::categorical({1, 2});
  EXPECT_EQ(n.to_internal(2.0), 1.0);  // 2 == 2.0 as in Python
}

TEST(Distribution, ValidatesAndAdjustsLikeOptuna) {
  EXPECT_THROW(Distribution::real(1, 0), hone::Error);
  EXPECT_THROW(Distribution::real(0, 1, true), hone::Error);          // log needs low > 0
  EXPECT_THROW(Distribution::real(1, 2, true, 0.5), hone::Error);     // log and step
  EXPECT_THROW(Distribution::integer(0, 10, true), hone::Error);      // log needs low >= 1
  EXPECT_THROW(Distribution::integer(1, 10, true, 2), hone::Error);   // log needs step 1
  EXPECT_THROW(Distribution::categorical({}), hone::Error);
  EXPECT_DOUBLE_EQ(Distribution::real(0, 1, false, 0.3).high(), 0.9);  // high lowered to the grid
  EXPECT_EQ(Distribution::integer(0, 9, false, 2).high(), 8);
  EXPECT_TRUE(Distribution::real(1, 1).single());
  EXPECT_TRUE(Distribution::categorical({"x"}).single());
  EXPECT_FALSE(Distribution::integer(0, 1).single());
}

TEST(Distribution, CompatibilityIsKindLogAndChoices) {
  EXPECT_TRUE(Distribution::real(0, 1).compatible(Distribution::real(-5, 5)));
  EXPECT_FALSE(Distribution::real(1, 2).compatible(Distribution::real(1, 2, true)));
  EXPECT_FALSE(Distribution::real(0, 1).compatible(Distribution::integer(0, 1)));
  EXPECT_FALSE(Distribution::categorical({"a", "b"}).compatible(Distribution::categorical({"b", "a"})));
}

TEST(Distribution, PythonJsonDumps) {
  EXPECT_EQ(hone::python_json_dumps(json::parse(R"({"b": [1, 2.0, "é"], "a": null})")),
            R"({"a": null, "b": [1, 2.0, "\u00e9"]})");
  EXPECT_EQ(hone::python_json_dumps(json(1e20)), "1e+20");
  EXPECT_EQ(hone::python_json_dumps(json(0.1)), "0.1");
}

TEST(TrialStateNames, MatchOptunaStorage) {
  for (auto s : {hone::TrialState::kRunning, hone::TrialState::kComplete, hone::TrialState::kPruned,
                 hone::TrialState::kFail, hone::TrialState::kWaiting})
    EXPECT_EQ(hone::trial_state_from_string(hone::to_string(s)), s);
  EXPECT_STREQ(hone::to_string(hone::TrialState::kComplete), "COMPLETE");
  EXPECT_THROW(hone::trial_state_from_string("DONE"), hone::Error);
  EXPECT_EQ(hone::direction_from_string("Maximize"), hone::Direction::kMaximize);
  EXPECT_THROW(hone::direction_from_string("up"), hone::Error);
}

// Ranges whose width overflows (int64 end to end, floats from -1e308 to 1e308) and integers a double
// cannot hold exactly are errors, not signed overflow (UBSan) or an infinite high.
TEST(Distribution, RangesThatOverflowAreErrors) {
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  EXPECT_THROW(Distribution::integer(lo, hi), hone::Error);
  EXPECT_THROW(Distribution::integer(0, hi, false, 3), hone::Error);
  EXPECT_THROW(Distribution::integer(lo, 0), hone::Error);
  try {
    Distribution::integer(lo, hi);
  } catch (const hone::Error& e) {
    EXPECT_NE(std::string(e.what()).find("2^53"), std::string::npos) << e.what();
  }
  const int64_t exact = int64_t{1} << 53;
  EXPECT_EQ(Distribution::integer(-exact, exact).high(), static_cast<double>(exact));
  EXPECT_EQ(Distribution::integer(0, exact, false, exact - 1).high(), static_cast<double>(exact - 1));
  EXPECT_THROW(Distribution::real(-1e308, 1e308), hone::Error);
  EXPECT_THROW(Distribution::real(0, 1, false, 1e-300), hone::Error);  // 1e300 grid points
  // A stored categorical index out of range (a corrupt storage) is an error, not a cast of NaN.
  EXPECT_THROW(Distribution::categorical({"a"}).to_external(NAN), hone::Error);
  EXPECT_THROW(Distribution::categorical({"a"}).to_external(1e300), hone::Error);
  EXPECT_THROW(Distribution::integer(0, 3).to_external(1e300), hone::Error);
}
