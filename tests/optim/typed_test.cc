// The typed constructors (make_sgd(SgdOptions), ...) and the config factory are one thing: each
// pair below must give the same type, the same rate and the same trajectory on a small problem,
// and the typed form rejects what the config form rejects.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/optimizer.h"
#include "optim/optim_test_util.h"

namespace hone {
namespace {

using json = nlohmann::json;
using testing::ParamSet;

// Five steps on f(θ) = ½‖θ − c‖² with a decayed weight and a non-decayed bias; returns θ after
// each step, weight then bias.
std::vector<float> trajectory(Optimizer& opt) {
  ParamSet ps;
  ps.add("w", {1.0f, -2.0f, 0.5f}, /*decay=*/true);
  ps.add("b", {0.3f, -0.1f}, /*decay=*/false);
  const std::vector<float> c = {0.2f, 0.4f, -0.6f, 0.1f, 0.0f};
  std::vector<float> out;
  for (int t = 0; t < 5; ++t) {
    std::vector<float> w = ps.value(0), b = ps.value(1);
    ps.set_grad(0, {w[0] - c[0], w[1] - c[1], w[2] - c[2]});
    ps.set_grad(1, {b[0] - c[3], b[1] - c[4]});
    opt.step(ps.params());
    for (size_t i = 0; i < 2; ++i)
      for (float v : ps.value(i)) out.push_back(v);
  }
  return out;
}

void expect_same(Optimizer& typed, const json& config) {
  SCOPED_TRACE(config.dump());
  auto from_config = make_optimizer(config);
  EXPECT_EQ(typed.type(), from_config->type());
  EXPECT_EQ(typed.lr(), from_config->lr());
  EXPECT_EQ(trajectory(typed), trajectory(*from_config));  // bit for bit
}

TEST(TypedOptimizers, BehaveAsTheConfigBuiltOnes) {
  expect_same(*make_sgd({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true}),
              json{{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"weight_decay", 0.01},
                   {"nesterov", true}});
  expect_same(*make_adam({.lr = 0.05, .beta1 = 0.8, .weight_decay = 0.1, .amsgrad = true}),
              json{{"type", "adam"}, {"lr", 0.05}, {"beta1", 0.8}, {"weight_decay", 0.1},
                   {"amsgrad", true}});
  expect_same(*make_adamw({.lr = 0.05}), json{{"type", "adamw"}, {"lr", 0.05}});
  expect_same(*make_rmsprop({.lr = 0.02, .momentum = 0.5, .weight_decay = 0.1, .centered = true}),
              json{{"type", "rmsprop"}, {"lr", 0.02}, {"momentum", 0.5}, {"weight_decay", 0.1},
                   {"centered", true}});
  expect_same(*make_adagrad({.lr = 0.1, .lr_decay = 0.5, .initial_accumulator_value = 0.1}),
              json{{"type", "adagrad"}, {"lr", 0.1}, {"lr_decay", 0.5},
                   {"initial_accumulator_value", 0.1}});
}

TEST(TypedOptimizers, DefaultsAreTheConfigDefaults) {
  expect_same(*make_sgd(), json("sgd"));
  expect_same(*make_adam(), json("adam"));
  expect_same(*make_adamw(), json("adamw"));  // weight_decay 0.01, torch's AdamW
  expect_same(*make_rmsprop(), json("rmsprop"));
  expect_same(*make_adagrad(), json("adagrad"));
  EXPECT_EQ(AdamWOptions{}.weight_decay, 0.01);
  EXPECT_EQ(AdamOptions{}.weight_decay, 0.0);
}

TEST(TypedOptimizers, RejectInvalidOptionsNamingThem) {
  auto message = [](auto make) -> std::string {
    try {
      make();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message([] { make_sgd({.lr = 0.0}); }).find("sgd.lr must be > 0"), std::string::npos);
  EXPECT_NE(message([] { make_adam({.beta1 = 1.0}); }).find("adam.beta1 must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(message([] { make_sgd({.nesterov = true}); }).find("sgd.nesterov"), std::string::npos);
  EXPECT_NE(message([] { make_rmsprop({.eps = -1.0}); }).find("rmsprop.eps must be >= 0"),
            std::string::npos);
  EXPECT_NE(message([] { make_adagrad({.lr_decay = -1.0}); }).find("adagrad.lr_decay"),
            std::string::npos);
}

TEST(OptimizerRegistry, UnknownTypeListsTheRegisteredNames) {
  try {
    make_optimizer(json("lbfgs"), "train.optimizer");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "train.optimizer.type: unknown optimizer \"lbfgs\" (known: sgd, gd, adam, adamw, "
              "rmsprop, adagrad)");
  }
}

}  // namespace
}  // namespace hone
