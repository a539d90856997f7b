// Each optimizer's first steps against values worked out by hand from its update equations.
// Common setup unless a test says otherwise: θ0 = [1, −2, 0.5], g = [0.1, −0.2, 0.3] at every
// step, so sign(g) = [+, −, +]. Expected values are exact decimal arithmetic (the comments show
// it); the optimizers compute in float, hence the tolerance of a few float ulps at |θ| ≤ 2.
#include <malloc.h>

#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/optimizer.h"
#include "optim/optim_test_util.h"

namespace hone {
namespace {

using json = nlohmann::json;
using testing::ParamSet;

constexpr double kTol = 1e-6;
const std::vector<float> kTheta0 = {1.0f, -2.0f, 0.5f};
const std::vector<float> kGrad = {0.1f, -0.2f, 0.3f};

ParamSet one_param(bool decay = true) {
  ParamSet ps;
  ps.add("w", kTheta0, decay);
  ps.set_grad(0, kGrad);
  return ps;
}

TEST(Sgd, PlainStepsAreThetaMinusLrTimesGrad) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "sgd"}, {"lr", 0.1}});
  EXPECT_EQ(opt->type(), "sgd");
  // θ1 = θ0 − 0.1·g = [1 − 0.01, −2 + 0.02, 0.5 − 0.03]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.99, -1.98, 0.47}), kTol);
  // θ2 = θ1 − 0.1·g
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.98, -1.96, 0.44}), kTol);
  EXPECT_EQ(opt->steps(), 2);
  EXPECT_EQ(opt->state_bytes(), 0u);  // no momentum: no state
}

TEST(Sgd, GdIsTheSameUpdate) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "gd"}, {"lr", 0.1}});
  EXPECT_EQ(opt->type(), "gd");
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.99, -1.98, 0.47}), kTol);
}

TEST(Sgd, MomentumWithCoupledWeightDecayOnlyOnDecayParams) {
  ParamSet ps;
  ps.add("w", kTheta0, /*decay=*/true);
  ps.add("b", kTheta0, /*decay=*/false);
  ps.set_grad(0, kGrad);
  ps.set_grad(1, kGrad);
  auto opt = make_optimizer(
      json{{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"weight_decay", 0.1}});
  // w, step 1: d = g + 0.1·θ0 = [0.1+0.1, −0.2−0.2, 0.3+0.05] = [0.2, −0.4, 0.35]
  //            b = d (first step: the buffer is a copy of d, no dampening)
  //            θ1 = θ0 − 0.1·b = [0.98, −1.96, 0.465]
  // b (decay=false), step 1: d = g; θ1 = θ0 − 0.1·g = [0.99, −1.98, 0.47]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.98, -1.96, 0.465}), kTol);
  EXPECT_VEC_NEAR(ps.value(1), (std::vector<double>{0.99, -1.98, 0.47}), kTol);
  // w, step 2: d = g + 0.1·θ1 = [0.198, −0.396, 0.3465]
  //            b = 0.9·[0.2, −0.4, 0.35] + d = [0.378, −0.756, 0.6615]
  //            θ2 = θ1 − 0.1·b = [0.98−0.0378, −1.96+0.0756, 0.465−0.06615]
  // b, step 2: b = 0.9g + g = 1.9g; θ2 = θ1 − 0.19g = [0.971, −1.942, 0.413]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.9422, -1.8844, 0.39885}), kTol);
  EXPECT_VEC_NEAR(ps.value(1), (std::vector<double>{0.971, -1.942, 0.413}), kTol);
  EXPECT_EQ(opt->state_bytes(), 6 * sizeof(float));  // one buffer per param
}

TEST(Sgd, Nesterov) {
  ParamSet ps = one_param();
  auto opt =
      make_optimizer(json{{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}});
  // step 1: b = g; d = g + 0.9·b = 1.9g; θ1 = θ0 − 0.19g = [0.981, −1.962, 0.443]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.981, -1.962, 0.443}), kTol);
  // step 2: b = 0.9g + g = 1.9g; d = g + 0.9·1.9g = 2.71g; θ2 = θ1 − 0.271g
  //         = [0.981−0.0271, −1.962+0.0542, 0.443−0.0813]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.9539, -1.9078, 0.3617}), kTol);
}

TEST(Sgd, DampeningSkipsTheFirstStepLikeTorch) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(
      json{{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"dampening", 0.5}});
  // step 1: b = g (torch clones d into the buffer; dampening not applied); θ1 = θ0 − 0.1g
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.99, -1.98, 0.47}), kTol);
  // step 2: b = 0.9g + (1−0.5)g = 1.4g; θ2 = θ1 − 0.14g = [0.976, −1.952, 0.428]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.976, -1.952, 0.428}), kTol);
  // step 3: b = 0.9·1.4g + 0.5g = 1.76g; θ3 = θ2 − 0.176g = [0.9584, −1.9168, 0.3752]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.9584, -1.9168, 0.3752}), kTol);
}

TEST(Adam, BiasCorrectionWithAlternatingGradients) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "adam"}, {"lr", 0.01}});
  // Gradients g, −g, g. Per element (a = |g|, s = sign g), β1 = 0.9, β2 = 0.999:
  // step 1: m = 0.1g, v = 0.001a²; m̂ = m/0.1 = g; v̂ = v/0.001 = a²
  //         θ1 = θ0 − 0.01·g/(a + 1e−8) ≈ θ0 − 0.01s    (ε changes it by 1e−9)
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.99, -1.99, 0.49}), kTol);
  // step 2 (grad −g): m = 0.9·0.1g − 0.1g = −0.01g; bc1 = 1 − 0.81 = 0.19; m̂ = −g/19
  //         v = 0.999·0.001a² + 0.001a² = 0.001999a²; bc2 = 1 − 0.998001 = 0.001999; v̂ = a²
  //         θ2 = θ1 + 0.01s/19 = θ1 + 0.000526315789s
  ps.set_grad(0, {-0.1f, 0.2f, -0.3f});
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.990526316, -1.990526316, 0.490526316}),
                  kTol);
  // step 3 (grad g): m = 0.9·(−0.01g) + 0.1g = 0.091g; bc1 = 1 − 0.729 = 0.271; m̂ = (91/271)g
  //         v = 0.999·0.001999a² + 0.001a² = 0.002997001a²; bc2 = 1 − 0.999³ = 0.002997001
  //         v̂ = a²; θ3 = θ2 − 0.01·(91/271)s = θ2 − 0.00335793358s
  ps.set_grad(0, kGrad);
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.987168382, -1.987168382, 0.487168382}),
                  kTol);
  EXPECT_EQ(opt->state_bytes(), 2 * 3 * sizeof(float));  // m and v
}

TEST(Adam, CoupledL2WeightDecayIsAddedToTheGradient) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "adam"}, {"lr", 0.01}, {"weight_decay", 0.1}});
  // step 1: g' = g + 0.1θ0 = [0.2, −0.4, 0.35]; m̂ = g', v̂ = g'² → θ1 = θ0 − 0.01·sign(g')
  //         = [0.99, −1.99, 0.49]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.99, -1.99, 0.49}), kTol);
  // step 2: g' = g + 0.1θ1 = [0.199, −0.399, 0.349]
  //         m = 0.9·0.1·[0.2, −0.4, 0.35] + 0.1g' = [0.0379, −0.0759, 0.0664]
  //         v = 0.999·0.001·[0.04, 0.16, 0.1225] + 0.001·g'² = [7.9561e−5, 3.19041e−4, 2.441785e−4]
  //         θ2 = θ1 − 0.01·(m/0.19)/(√(v/0.001999) + 1e−8)
  //            = [0.99 − 0.0099998661, −1.99 + 0.0099993390, 0.49 − 0.0099992434]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.980001339, -1.980000661, 0.480000757}),
                  kTol);
}

TEST(Adam, AmsgradNormalisesByTheLargestSecondMoment) {
  // β1 = β2 = 0.5 and a zero gradient at step 2 make v shrink, which is where AMSGrad differs.
  for (bool ams : {false, true}) {
    SCOPED_TRACE(ams ? "amsgrad" : "plain");
    ParamSet ps = one_param();
    auto opt = make_optimizer(json{{"type", "adam"}, {"lr", 0.01}, {"beta1", 0.5},
                                   {"beta2", 0.5}, {"amsgrad", ams}});
    // step 1: m = 0.5g, v = 0.5a²; m̂ = g, v̂ = a² → θ1 = θ0 − 0.01s
    opt->step(ps.params());
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.99, -1.99, 0.49}), kTol);
    // step 2 (g = 0): m = 0.25g; v = 0.25a²; bc1 = bc2 = 0.75; m̂ = g/3
    //   plain:   denom = √(0.25/0.75)·a = 0.577350269a → θ2 = θ1 − 0.01·(1/3)/0.577350269·s
    //            = θ1 − 0.00577350269s
    //   amsgrad: v_max = max(0.5a², 0.25a²) = 0.5a²; denom = √(0.5/0.75)·a = 0.816496581a
    //            → θ2 = θ1 − 0.01·(1/3)/0.816496581·s = θ1 − 0.00408248290s
    ps.set_grad(0, {0.0f, 0.0f, 0.0f});
    opt->step(ps.params());
    const double d = ams ? 0.00408248290 : 0.00577350269;
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.99 - d, -1.99 + d, 0.49 - d}), kTol);
    EXPECT_EQ(opt->state_bytes(), (ams ? 3u : 2u) * 3 * sizeof(float));
  }
}

TEST(AdamW, DecoupledDecayShrinksThetaFirstAndSkipsNoDecayParams) {
  ParamSet ps;
  ps.add("w", kTheta0, true);
  ps.add("b", kTheta0, false);
  ps.set_grad(0, kGrad);
  ps.set_grad(1, kGrad);
  auto opt = make_optimizer(json{{"type", "adamw"}, {"lr", 0.01}, {"weight_decay", 0.1}});
  EXPECT_EQ(opt->type(), "adamw");
  // w step 1: θ ← θ0·(1 − 0.01·0.1) = 0.999θ0, then the Adam step −0.01s:
  //           [0.999 − 0.01, −1.998 + 0.01, 0.4995 − 0.01] = [0.989, −1.988, 0.4895]
  // b step 1: no decay: [0.99, −1.99, 0.49]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.989, -1.988, 0.4895}), kTol);
  EXPECT_VEC_NEAR(ps.value(1), (std::vector<double>{0.99, -1.99, 0.49}), kTol);
  // w step 2 (grad −g): θ ← 0.999θ1 = [0.988011, −1.986012, 0.4890105], then +0.01s/19
  //           (as in Adam.BiasCorrectionWithAlternatingGradients) = ± 0.000526316
  ps.set_grad(0, {-0.1f, 0.2f, -0.3f});
  ps.set_grad(1, {-0.1f, 0.2f, -0.3f});
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.988537316, -1.986538316, 0.489536816}),
                  kTol);
  EXPECT_VEC_NEAR(ps.value(1), (std::vector<double>{0.990526316, -1.990526316, 0.490526316}),
                  kTol);
}

TEST(AdamW, DefaultWeightDecayIsTorchs001) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "adamw"}, {"lr", 0.1}});
  // θ1 = θ0·(1 − 0.1·0.01) − 0.1s = [0.999 − 0.1, −1.998 + 0.1, 0.4995 − 0.1]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.899, -1.898, 0.3995}), kTol);
}

TEST(RmsProp, Plain) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "rmsprop"}, {"lr", 0.01}});
  // step 1: s = 0.01g²; θ1 = θ0 − 0.01·g/(0.1a + 1e−8) ≈ θ0 − 0.1s
  //         exactly: 0.01·0.1/(0.01 + 1e−8) = 0.0999999 → [0.9000001, −1.90000005, 0.40000003]
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.9000001, -1.90000005, 0.40000003}), kTol);
  // step 2: s = 0.99·0.01g² + 0.01g² = 0.0199g²; θ2 = θ1 − 0.01·g/(√0.0199·a + 1e−8)
  //         0.01/√0.0199 = 0.0708881205 → θ2 ≈ θ1 − 0.0708880s
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.82911203, -1.82911196, 0.32911193}), kTol);
}

TEST(RmsProp, CenteredWithMomentum) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(
      json{{"type", "rmsprop"}, {"lr", 0.01}, {"momentum", 0.9}, {"centered", true}});
  // step 1: s = 0.01g²; ḡ = 0.01g; r = √(0.01g² − 0.0001g²) + ε = √0.0099·a + 1e−8
  //         = [0.00994988437, 0.0198997587, 0.0298496331]
  //         b = g/r = [10.0503680, −10.0503731, 10.0503748]; θ1 = θ0 − 0.01b
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.89949632, -1.89949627, 0.39949625}), kTol);
  // step 2: s = 0.0199g²; ḡ = 0.0199g; r = √(0.0199 − 0.0199²)·a + ε = 0.139656782a + 1e−8
  //         b = 0.9·b1 + g/r = [16.2057423, −16.2057494, 16.2057518]; θ2 = θ1 − 0.01b
  opt->step(ps.params());
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.73743890, -1.73743878, 0.23743873}), kTol);
  EXPECT_EQ(opt->state_bytes(), 3 * 3 * sizeof(float));  // square avg, grad avg, momentum
}

TEST(Adagrad, PlainDecayAndInitialAccumulator) {
  {
    ParamSet ps = one_param();
    auto opt = make_optimizer(json{{"type", "adagrad"}, {"lr", 0.1}});
    // step 1: S = g²; θ1 = θ0 − 0.1·g/(a + 1e−10) = θ0 − 0.1s
    opt->step(ps.params());
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.9, -1.9, 0.4}), kTol);
    // step 2: S = 2g²; θ2 = θ1 − 0.1/√2·s = θ1 − 0.0707106781s
    opt->step(ps.params());
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.829289322, -1.829289322, 0.329289322}),
                    kTol);
  }
  {
    ParamSet ps = one_param();
    auto opt = make_optimizer(json{{"type", "adagrad"}, {"lr", 0.1}, {"lr_decay", 0.5}});
    opt->step(ps.params());  // step 1: clr = 0.1/(1 + 0·0.5) = 0.1 → θ0 − 0.1s
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.9, -1.9, 0.4}), kTol);
    // step 2: clr = 0.1/(1 + 1·0.5) = 0.0666667; θ2 = θ1 − 0.0666667/√2·s = θ1 − 0.0471404521s
    opt->step(ps.params());
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.852859548, -1.852859548, 0.352859548}),
                    kTol);
  }
  {
    ParamSet ps = one_param();
    auto opt = make_optimizer(
        json{{"type", "adagrad"}, {"lr", 0.1}, {"initial_accumulator_value", 0.1}});
    // step 1: S = 0.1 + g² = [0.11, 0.14, 0.19]; θ1 = θ0 − 0.1·g/√S
    //         = [1 − 0.01/0.331662, −2 + 0.02/0.374166, 0.5 − 0.03/0.435890]
    opt->step(ps.params());
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.969848866, -1.946547752, 0.43117528}),
                    kTol);
    // step 2: S = 0.1 + 2g² = [0.12, 0.18, 0.28]; θ2 = θ1 − 0.1·g/√S
    opt->step(ps.params());
    EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.940981352, -1.8994073, 0.374480609}),
                    kTol);
  }
}

TEST(Optimizer, SetLrTakesEffectOnTheNextStep) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "sgd"}, {"lr", 0.1}});
  EXPECT_DOUBLE_EQ(opt->lr(), 0.1);
  opt->set_lr(0.5);
  opt->step(ps.params());  // θ1 = θ0 − 0.5g = [0.95, −1.9, 0.35]
  EXPECT_VEC_NEAR(ps.value(0), (std::vector<double>{0.95, -1.9, 0.35}), kTol);
}

TEST(Optimizer, DefaultLearningRatesAreTorchs) {
  EXPECT_DOUBLE_EQ(make_optimizer(json("sgd"))->lr(), 0.01);  // torch has none; Keras's 0.01
  EXPECT_DOUBLE_EQ(make_optimizer(json("adam"))->lr(), 1e-3);
  EXPECT_DOUBLE_EQ(make_optimizer(json("adamw"))->lr(), 1e-3);
  EXPECT_DOUBLE_EQ(make_optimizer(json("rmsprop"))->lr(), 1e-2);
  EXPECT_DOUBLE_EQ(make_optimizer(json("adagrad"))->lr(), 1e-2);
  EXPECT_EQ(make_optimizer(json{{"type", "Adam"}})->type(), "adam");  // case-insensitive
}

TEST(Optimizer, StateIsAllocatedOnceAndReused) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "adam"}, {"amsgrad", true}});
  EXPECT_EQ(opt->state_bytes(), 0u);
  opt->step(ps.params());
  const size_t bytes = opt->state_bytes();
  EXPECT_EQ(bytes, 3 * 3 * sizeof(float));
  // glibc's heap statistics: bytes in use must not move across later steps. (Under ASan the
  // allocator is ASan's and these read 0; the Release run is the one that checks.)
  const struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < 10; ++i) opt->step(ps.params());
  const struct mallinfo2 after = mallinfo2();
  EXPECT_EQ(after.uordblks + after.hblkhd, before.uordblks + before.hblkhd);
  EXPECT_EQ(opt->state_bytes(), bytes);
}

TEST(Optimizer, ADifferentParamListIsAnErrorNotACorruption) {
  ParamSet ps = one_param();
  auto opt = make_optimizer(json{{"type", "adam"}});
  opt->step(ps.params());
  ParamSet other;
  other.add("w", {1.0f, 2.0f});
  try {
    opt->step(other.params());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kRuntime);
    EXPECT_NE(std::string(e.what()).find("\"w\""), std::string::npos) << e.what();
  }
  ParamSet two = one_param();
  two.add("b", {0.0f});
  EXPECT_THROW(opt->step(two.params()), Error);
}

}  // namespace
}  // namespace hone

namespace hone {
namespace {

// The kernels work in blocks of 512 elements with vectorised bodies and scalar tails. A long
// param (2 blocks + 13) must get exactly the per-element update that one-element params get.
TEST(Optimizer, LongParamsMatchElementByElementUpdates) {
  const int n = 2 * 512 + 13;
  std::vector<float> theta(n), grad(n);
  for (int i = 0; i < n; ++i) {
    theta[i] = std::sin(0.37f * static_cast<float>(i));
    grad[i] = 0.1f * std::cos(1.3f * static_cast<float>(i)) + 0.01f;
  }
  for (const char* cfg :
       {R"({"type":"sgd","lr":0.1,"momentum":0.9,"nesterov":true,"weight_decay":0.1})",
        R"({"type":"adam","lr":0.01,"weight_decay":0.1,"amsgrad":true})",
        R"({"type":"adamw","lr":0.01})",
        R"({"type":"rmsprop","lr":0.01,"centered":true,"momentum":0.5,"weight_decay":0.1})",
        R"({"type":"adagrad","lr":0.1,"weight_decay":0.1})"}) {
    SCOPED_TRACE(cfg);
    ParamSet one, many;
    one.add("w", theta);
    one.set_grad(0, grad);
    for (int i = 0; i < n; ++i) {
      many.add("w" + std::to_string(i), {theta[i]});
      many.set_grad(static_cast<size_t>(i), {grad[i]});
    }
    auto a = make_optimizer(json::parse(cfg));
    auto b = make_optimizer(json::parse(cfg));
    for (int t = 0; t < 3; ++t) {
      a->step(one.params());
      b->step(many.params());
    }
    const std::vector<float> got = one.value(0);
    for (int i = 0; i < n; ++i) {
      const float want = many.value(static_cast<size_t>(i))[0];
      ASSERT_NEAR(got[i], want, 2e-7f * std::max(1.0f, std::fabs(want))) << "element " << i;
    }
  }
}

}  // namespace
}  // namespace hone
