// Model: building from config, naming, forward/backward through the stack, predict, clone.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/model.h"
#include "nn/gradcheck.h"

namespace hone {
namespace {

using nlohmann::json;

json mlp_config() {
  return json::parse(R"({"input_shape": [6], "seed": 3, "layers": [
      {"type": "dense", "units": 5}, {"type": "tanh"},
      {"type": "dense", "units": 4, "init": "xavier_normal"}, {"type": "gelu"},
      {"type": "dense", "units": 3}]})");
}

TEST(Model, FromConfigNamesParamsAndShapes) {
  Model m = Model::from_config(mlp_config());
  EXPECT_TRUE(m.built());
  EXPECT_EQ(m.output_shape(), (Shape{3}));
  auto ps = m.params();
  ASSERT_EQ(ps.size(), 6u);
  EXPECT_EQ(ps[0].name, "dense1.weight");
  EXPECT_EQ(ps[3].name, "dense2.bias");
  EXPECT_EQ(ps[5].name, "dense3.bias");
  EXPECT_EQ(m.num_params(), 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
  EXPECT_DOUBLE_EQ(m.flops_per_sample(), 2.0 * (30 + 20 + 12));
  EXPECT_EQ(m.layer(1).name(), "tanh1");
}

TEST(Model, SameSeedSameWeights) {
  Model a = Model::from_config(mlp_config()), b = Model::from_config(mlp_config());
  json c = mlp_config();
  c["seed"] = 4;
  Model d = Model::from_config(c);
  auto pa = a.params(), pb = b.params(), pd = d.params();
  bool all_equal = true, any_diff = false;
  for (size_t k = 0; k < pa.size(); k += 2)
    for (int64_t i = 0; i < pa[k].value->size(); ++i) {
      all_equal &= (*pa[k].value)[i] == (*pb[k].value)[i];
      any_diff |= (*pa[k].value)[i] != (*pd[k].value)[i];
    }
  EXPECT_TRUE(all_equal);
  EXPECT_TRUE(any_diff);
}

// The model's backward is checked end to end: L = sum(r * model(x)) against finite differences
// on every parameter.
TEST(Model, BackwardMatchesFiniteDifferences) {
  Model m = Model::from_config(mlp_config());
  Tensor x = testing::random_tensor(Shape{4, 6}, 11);
  const Tensor& y = m.forward(x, true);
  Tensor r = testing::random_tensor(y.shape(), 12);
  m.backward(r);
  auto probe = [&]() {
    const Tensor& out = m.forward(x, true);
    double s = 0;
    for (int64_t i = 0; i < out.size(); ++i) s += static_cast<double>(r[i]) * out[i];
    return s;
  };
  testing::GradTol tol;
  for (auto& p : m.params()) {
    Tensor g = *p.grad;
    for (int64_t i = 0; i < p.value->size(); ++i) {
      float v = (*p.value)[i];
      (*p.value)[i] = v + 1e-2f;
      double lp = probe();
      (*p.value)[i] = v - 1e-2f;
      double lm = probe();
      (*p.value)[i] = v;
      EXPECT_TRUE(testing::close(g[i], (lp - lm) / 2e-2, tol)) << p.name << "[" << i << "]";
    }
  }
}

// An identity layer without parameters that counts its backward calls.
class CountingIdentity final : public Layer {
 public:
  explicit CountingIdentity(int* calls) : calls_(calls) { set_name("counting"); }
  std::string type() const override { return "counting_identity"; }
  Shape build(const Shape& in, Rng&) override { return in; }
  void forward(const Tensor& x, Tensor& y, bool) override { y = x; }
  void backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) override {
    ++*calls_;
    if (dx) *dx = dy;
  }

 private:
  int* calls_;
};

// backward() stops at the lowest layer with parameters: nothing below it runs, and that layer
// gets no input-gradient buffer; a parameter-free layer between two Dense layers still runs.
TEST(Model, BackwardSkipsLayersBelowTheFirstWithParameters) {
  int below = 0, between = 0;
  Model m;
  m.add(std::make_unique<CountingIdentity>(&below));
  m.add(make_layer({{"type", "dense"}, {"units", 4}}));
  m.add(std::make_unique<CountingIdentity>(&between));
  m.add(make_layer({{"type", "dense"}, {"units", 2}}));
  m.build(Shape{3}, 1);
  Tensor x = testing::random_tensor(Shape{5, 3}, 2);
  const Tensor& y = m.forward(x, true);
  Tensor r = testing::random_tensor(y.shape(), 3);
  m.backward(r);
  EXPECT_EQ(below, 0);
  EXPECT_EQ(between, 1);
  // The first Dense still got its weight gradient: dW = xᵀ · (dL/dy of that layer) is non-zero.
  double norm = 0;
  const Tensor& g = *m.params()[0].grad;
  for (int64_t i = 0; i < g.size(); ++i) norm += std::fabs(g[i]);
  EXPECT_GT(norm, 0.0);
}

TEST(Model, PredictMatchesForwardInAnyBatchSize) {
  Model m = Model::from_config(mlp_config());
  Tensor x = testing::random_tensor(Shape{10, 6}, 5);
  Tensor want = m.forward(x, false);
  Tensor out;
  m.predict(x, out, 3);
  ASSERT_EQ(out.shape(), want.shape());
  // GEMM blocking differs with the batch size, so the rounding may differ in the last bits.
  for (int64_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-6);
  // predict() leaves the model in inference state: no backward without a training forward.
  EXPECT_THROW(m.backward(want), Error);
}

TEST(Model, CloneIsDeepAndEqual) {
  Model m = Model::from_config(mlp_config());
  Model c = m.clone();
  Tensor x = testing::random_tensor(Shape{2, 6}, 6);
  Tensor a = m.forward(x, false);
  Tensor b = c.forward(x, false);
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]);
  (*c.params()[0].value)[0] += 1.0f;  // changing the clone leaves the original alone
  EXPECT_NE((*c.params()[0].value)[0], (*m.params()[0].value)[0]);
  EXPECT_EQ(c.config(), m.config());
}

TEST(Model, ConfigRoundTrips) {
  Model m = Model::from_config(mlp_config());
  Model r = Model::from_config(m.config());
  EXPECT_EQ(r.config(), m.config());
  EXPECT_EQ(r.num_params(), m.num_params());
}

TEST(Model, ConfigErrorsNameWhere) {
  json c = mlp_config();
  c["layers"][2]["type"] = "dnse";
  try {
    Model::from_config(c);
    FAIL();
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("model.layers[2]: unknown layer type \"dnse\" (known: dense,"), std::string::npos) << w;
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
  c = mlp_config();
  c["layers"][0]["unitz"] = 3;
  EXPECT_THROW(Model::from_config(c), Error);
  c = mlp_config();
  c["layers"][0]["units"] = -3;
  EXPECT_THROW(Model::from_config(c), Error);
  c = mlp_config();
  c["layers"][0]["init"] = "kaiming";
  EXPECT_THROW(Model::from_config(c), Error);
  c = mlp_config();
  c.erase("input_shape");
  EXPECT_THROW(Model::from_config(c), Error);
  c = mlp_config();
  c["layers"] = json::array();
  EXPECT_THROW(Model::from_config(c), Error);
  c = mlp_config();
  c["lyers"] = 1;
  EXPECT_THROW(Model::from_config(c), Error);
  // A shape mismatch at build time (dense after an image without flatten is fine: it acts on the
  // last dim; conv2d on a vector is not).
  json bad = json::parse(R"({"input_shape": [6], "layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3}]})");
  EXPECT_THROW(Model::from_config(bad), Error);
}

TEST(Model, WrongInputShapeThrows) {
  Model m = Model::from_config(mlp_config());
  Tensor x(Shape{2, 7});
  EXPECT_THROW(m.forward(x, true), Error);
}

}  // namespace
}  // namespace hone
