// Invalid optimizer and scheduler options: each is an Error(kInvalidArgument) whose message
// names where the config came from and the offending key.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/optimizer.h"
#include "hone/scheduler.h"

namespace hone {
namespace {

using json = nlohmann::json;

// Expects make(config) to throw Error(kInvalidArgument) whose message contains every needle.
template <typename Make>
void expect_invalid(Make make, const json& config, std::vector<std::string> needles) {
  SCOPED_TRACE(config.dump());
  try {
    make(config);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
          << "\"" << n << "\" not in: " << e.what();
  }
}

void bad_opt(const json& c, std::vector<std::string> needles) {
  expect_invalid([](const json& j) { return make_optimizer(j, "train.optimizer"); }, c,
                 std::move(needles));
}
void bad_sched(const json& c, std::vector<std::string> needles) {
  expect_invalid([](const json& j) { return make_scheduler(j, "train.scheduler"); }, c,
                 std::move(needles));
}

TEST(OptimizerOptions, LearningRate) {
  bad_opt({{"type", "sgd"}, {"lr", 0.0}}, {"train.optimizer.lr", "> 0"});
  bad_opt({{"type", "adam"}, {"lr", -1e-3}}, {"train.optimizer.lr"});
  bad_opt({{"type", "adam"}, {"lr", "fast"}}, {"train.optimizer.lr", "number"});
}

TEST(OptimizerOptions, Betas) {
  bad_opt({{"type", "adam"}, {"beta1", 1.0}}, {"train.optimizer.beta1", "[0, 1)"});
  bad_opt({{"type", "adamw"}, {"beta2", -0.1}}, {"train.optimizer.beta2"});
  bad_opt({{"type", "sgd"}, {"momentum", 1.5}}, {"train.optimizer.momentum"});
  bad_opt({{"type", "rmsprop"}, {"alpha", 1.0}}, {"train.optimizer.alpha"});
  // β = 0 is valid (torch accepts 0 <= β < 1).
  EXPECT_NO_THROW(make_optimizer(json{{"type", "adam"}, {"beta1", 0.0}}));
}

TEST(OptimizerOptions, NonNegativeOptions) {
  bad_opt({{"type", "adam"}, {"eps", -1e-8}}, {"train.optimizer.eps", ">= 0"});
  bad_opt({{"type", "rmsprop"}, {"eps", -1.0}}, {"train.optimizer.eps"});
  bad_opt({{"type", "sgd"}, {"weight_decay", -0.1}}, {"train.optimizer.weight_decay"});
  bad_opt({{"type", "adagrad"}, {"lr_decay", -0.1}}, {"train.optimizer.lr_decay"});
  bad_opt({{"type", "adagrad"}, {"initial_accumulator_value", -1}},
          {"train.optimizer.initial_accumulator_value"});
  bad_opt({{"type", "sgd"}, {"dampening", 2.0}}, {"train.optimizer.dampening"});
}

TEST(OptimizerOptions, NesterovNeedsMomentumAndNoDampening) {
  bad_opt({{"type", "sgd"}, {"nesterov", true}}, {"train.optimizer.nesterov", "momentum"});
  bad_opt({{"type", "sgd"}, {"nesterov", true}, {"momentum", 0.9}, {"dampening", 0.1}},
          {"train.optimizer.nesterov", "dampening"});
}

TEST(OptimizerOptions, UnknownTypeAndUnknownKey) {
  bad_opt({{"type", "lbfgs"}}, {"train.optimizer.type", "\"lbfgs\"", "adam"});
  bad_opt(json::object(), {"train.optimizer.type", "missing"});
  bad_opt(json(3), {"train.optimizer"});
  // A typo of a real option, and an option of another optimizer.
  bad_opt({{"type", "adam"}, {"betas1", 0.9}}, {"train.optimizer", "\"betas1\"", "beta1"});
  bad_opt({{"type", "sgd"}, {"amsgrad", true}}, {"train.optimizer", "\"amsgrad\""});
  bad_opt({{"type", "adam"}, {"amsgrad", 1}}, {"train.optimizer.amsgrad", "true or false"});
}

TEST(SchedulerOptions, UnknownTypeAndUnknownKey) {
  bad_sched({{"type", "poly"}}, {"train.scheduler.type", "\"poly\"", "cosine"});
  bad_sched(json::object(), {"train.scheduler.type", "missing"});
  bad_sched({{"type", "step"}, {"step_size", 2}, {"gama", 0.5}},
            {"train.scheduler", "\"gama\"", "gamma"});
  bad_sched({{"type", "cosine"}, {"patience", 3}}, {"train.scheduler", "\"patience\""});
}

TEST(SchedulerOptions, RequiredAndRanges) {
  bad_sched({{"type", "step"}}, {"train.scheduler.step_size", "missing"});
  bad_sched({{"type", "step"}, {"step_size", 0}}, {"train.scheduler.step_size", ">= 1"});
  bad_sched({{"type", "step"}, {"step_size", 2}, {"gamma", 0.0}}, {"train.scheduler.gamma"});
  bad_sched({{"type", "multistep"}}, {"train.scheduler.milestones", "missing"});
  bad_sched({{"type", "multistep"}, {"milestones", {3, -1}}}, {"train.scheduler.milestones"});
  bad_sched({{"type", "multistep"}, {"milestones", {1.5}}}, {"train.scheduler.milestones"});
  bad_sched({{"type", "exponential"}}, {"train.scheduler.gamma", "missing"});
  bad_sched({{"type", "cosine"}, {"t_max", 0}}, {"train.scheduler.t_max"});
  bad_sched({{"type", "cosine"}, {"eta_min", -1e-3}}, {"train.scheduler.eta_min"});
  bad_sched({{"type", "cosine"}, {"t_mult", 2}}, {"train.scheduler.t_mult", "restarts"});
  bad_sched({{"type", "cosine"}, {"restarts", true}, {"t_mult", 0}}, {"train.scheduler.t_mult"});
  bad_sched({{"type", "onecycle"}, {"pct_start", 1.5}}, {"train.scheduler.pct_start"});
  bad_sched({{"type", "onecycle"}, {"anneal", "cosine"}}, {"train.scheduler.anneal", "linear"});
  bad_sched({{"type", "onecycle"}, {"div_factor", 0}}, {"train.scheduler.div_factor"});
  bad_sched({{"type", "onecycle"}, {"max_lr", -1}}, {"train.scheduler.max_lr"});
}

TEST(SchedulerOptions, Plateau) {
  // Keras: "ReduceLROnPlateau does not support a factor >= 1.0".
  bad_sched({{"type", "plateau"}, {"factor", 1.0}}, {"train.scheduler.factor", "1.0"});
  bad_sched({{"type", "plateau"}, {"factor", 0.0}}, {"train.scheduler.factor"});
  bad_sched({{"type", "plateau"}, {"mode", "up"}}, {"train.scheduler.mode", "\"up\""});
  bad_sched({{"type", "plateau"}, {"patience", -1}}, {"train.scheduler.patience"});
  bad_sched({{"type", "plateau"}, {"cooldown", -2}}, {"train.scheduler.cooldown"});
  bad_sched({{"type", "plateau"}, {"min_lr", -1e-5}}, {"train.scheduler.min_lr"});
  bad_sched({{"type", "plateau"}, {"min_delta", -0.1}}, {"train.scheduler.min_delta"});
  bad_sched({{"type", "plateau"}, {"monitor", ""}}, {"train.scheduler.monitor"});
  bad_sched({{"type", "plateau"}, {"verbose", "yes"}}, {"train.scheduler.verbose"});
}

TEST(SchedulerOptions, Warmup) {
  bad_sched({{"type", "constant"}, {"warmup_epochs", 1}, {"warmup_steps", 10}},
            {"train.scheduler", "warmup_epochs", "warmup_steps"});
  bad_sched({{"type", "constant"}, {"warmup_steps", -5}}, {"train.scheduler.warmup_steps"});
  bad_sched({{"type", "constant"}, {"warmup_steps", 5}, {"warmup_start_factor", 1.5}},
            {"train.scheduler.warmup_start_factor"});
  bad_sched({{"type", "constant"}, {"warmup_start_factor", 0.1}},
            {"train.scheduler.warmup_start_factor", "warmup"});
}

TEST(SchedulerOptions, BeginChecksTheRun) {
  auto s = make_scheduler(json{{"type", "constant"}}, "train.scheduler");
  auto opt = make_sgd({.lr = 0.1});
  EXPECT_THROW(s->begin(*opt, 0, 5), Error);
  EXPECT_THROW(s->begin(*opt, 10, 0), Error);
  EXPECT_NO_THROW(s->begin(*opt, 10, 5));
  opt->set_lr(0.0);  // the base rate is the optimizer's rate when begin() is called
  EXPECT_THROW(s->begin(*opt, 10, 5), Error);
}

}  // namespace
}  // namespace hone
