// Conv2d, pooling, normalisation and embedding: hand-computed forwards and finite differences.
#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "nn/gradcheck.h"
#include "nn/test_util.h"

namespace hone {
namespace {

using nlohmann::json;
using testing::built_layer;
using testing::check_layer_grads;
using testing::random_tensor;

TEST(Conv2d, ForwardOnTinyImage) {
  // One 3x3 image, a 2x2 kernel of ones plus a second kernel picking the top-left pixel.
  auto l = built_layer({{"type", "conv2d"}, {"filters", 2}, {"kernel_size", 2}}, Shape{1, 3, 3});
  auto ps = l->params();
  EXPECT_EQ(ps[0].value->shape(), (Shape{2, 1, 2, 2}));
  Tensor& w = *ps[0].value;
  float ws[] = {1, 1, 1, 1, 1, 0, 0, 0};
  for (int i = 0; i < 8; ++i) w[i] = ws[i];
  (*ps[1].value)[1] = 10.0f;
  Tensor x(Shape{1, 1, 3, 3});
  for (int i = 0; i < 9; ++i) x[i] = static_cast<float>(i + 1);  // 1..9
  Tensor y;
  l->forward(x, y, false);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 2, 2}));
  float want[] = {1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9, 11, 12, 14, 15};
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(y[i], want[i]) << i;
}

TEST(Conv2d, SamePaddingAndStrideShapes) {
  Rng rng(1);
  auto a = make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel_size", 3}, {"padding", "same"}});
  EXPECT_EQ(a->build(Shape{2, 7, 5}, rng), (Shape{4, 7, 5}));
  auto b = make_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel_size", 3}, {"stride", 2}, {"padding", 1}});
  EXPECT_EQ(b->build(Shape{2, 7, 5}, rng), (Shape{4, 4, 3}));
  auto c = make_layer({{"type", "conv2d"}, {"filters", 1}, {"kernel_size", 5}});
  EXPECT_THROW(c->build(Shape{1, 3, 3}, rng), Error);  // kernel larger than the image
  auto d = make_layer({{"type", "conv2d"}, {"filters", 1}, {"kernel_size", 2}, {"padding", "same"}});
  EXPECT_THROW(d->build(Shape{1, 3, 3}, rng), Error);  // even kernel cannot be "same"
}

struct ConvCase {
  json cfg;
  Shape in;
};

class Conv2dGrad : public ::testing::TestWithParam<int> {};

TEST_P(Conv2dGrad, FiniteDifferences) {
  const ConvCase cases[] = {
      {{{"type", "conv2d"}, {"filters", 3}, {"kernel_size", 3}}, Shape{2, 5, 5}},
      {{{"type", "conv2d"}, {"filters", 2}, {"kernel_size", 3}, {"padding", "same"}}, Shape{2, 4, 5}},
      {{{"type", "conv2d"}, {"filters", 2}, {"kernel_size", json::array({2, 3})}, {"stride", 2}, {"padding", 1}},
       Shape{3, 5, 6}},
      {{{"type", "conv2d"}, {"filters", 3}, {"kernel_size", 1}, {"bias", false}}, Shape{2, 3, 3}},
  };
  const ConvCase& c = cases[GetParam()];
  auto l = built_layer(c.cfg, c.in);
  check_layer_grads(*l, random_tensor(c.in.with_batch(2), 5));
}

INSTANTIATE_TEST_SUITE_P(Cases, Conv2dGrad, ::testing::Range(0, 4));

TEST(Conv2d, MultiThreadedMatchesSingleThreaded) {
  auto l = built_layer({{"type", "conv2d"}, {"filters", 4}, {"kernel_size", 3}}, Shape{3, 6, 6});
  Tensor x = random_tensor(Shape{7, 3, 6, 6}, 2);
  Tensor y1, y2, dx1, dx2;
  const int saved = Eigen::nbThreads();
  Eigen::setNbThreads(1);
  l->forward(x, y1, true);  // 7 samples over 3 threads: uneven chunks
  Tensor r = random_tensor(y1.shape(), 3);
  l->backward(x, y1, r, &dx1);
  Tensor dw1 = *l->params()[0].grad, db1 = *l->params()[1].grad;
  Eigen::setNbThreads(3);
  l->forward(x, y2, true);
  l->backward(x, y2, r, &dx2);
  Eigen::setNbThreads(saved);
  // Threads take different sample chunks through the GEMM, so rounding may differ slightly.
  for (int64_t i = 0; i < y1.size(); ++i) ASSERT_NEAR(y1[i], y2[i], 1e-5);
  for (int64_t i = 0; i < dx1.size(); ++i) ASSERT_NEAR(dx1[i], dx2[i], 1e-5);
  for (int64_t i = 0; i < dw1.size(); ++i) ASSERT_NEAR(dw1[i], (*l->params()[0].grad)[i], 1e-4);
  for (int64_t i = 0; i < db1.size(); ++i) ASSERT_NEAR(db1[i], (*l->params()[1].grad)[i], 1e-4);
}

TEST(MaxPool, ForwardPicksMaxAndBackwardRoutesToArgmax) {
  auto l = built_layer({{"type", "maxpool2d"}, {"pool_size", 2}}, Shape{1, 4, 4});
  Tensor x(Shape{1, 1, 4, 4});
  float xs[] = {1, 5, 2, 0,  //
                3, 4, 8, 1,  //
                0, 0, 1, 1,  //
                9, 0, 1, 2};
  for (int i = 0; i < 16; ++i) x[i] = xs[i];
  Tensor y;
  l->forward(x, y, true);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(y[0], 5);
  EXPECT_EQ(y[1], 8);
  EXPECT_EQ(y[2], 9);
  EXPECT_EQ(y[3], 2);
  Tensor dy(y.shape()), dx;
  for (int i = 0; i < 4; ++i) dy[i] = static_cast<float>(10 * (i + 1));
  l->backward(x, y, dy, &dx);
  for (int i = 0; i < 16; ++i) {
    float want = i == 1 ? 10 : i == 6 ? 20 : i == 12 ? 30 : i == 15 ? 40 : 0;
    EXPECT_EQ(dx[i], want) << i;
  }
}

// Pools on inputs whose window entries are well separated (distinct multiples of 0.1, shuffled),
// so +-eps never changes an argmax.
TEST(Pools, FiniteDifferences) {
  Tensor x(Shape{2, 2, 5, 5});
  Rng rng(4);
  std::vector<int> perm(static_cast<size_t>(x.size()));
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(perm[static_cast<size_t>(i)]) - 5.0f;
  for (json cfg : {json{{"type", "maxpool2d"}, {"pool_size", 2}}, json{{"type", "maxpool2d"}, {"pool_size", json::array({2, 3})}}, json{{"type", "maxpool2d"}, {"pool_size", 3}, {"stride", 2}},
                   json{{"type", "avgpool2d"}, {"pool_size", 2}, {"stride", 1}}, json{{"type", "global_avg_pool"}}}) {
    SCOPED_TRACE(cfg.dump());
    auto l = built_layer(cfg, Shape{2, 5, 5});
    check_layer_grads(*l, x, {1e-2, 1e-2, 1e-3});
  }
}

TEST(AvgPool, Forward) {
  auto l = built_layer({{"type", "avgpool2d"}, {"pool_size", 2}}, Shape{1, 2, 2});
  Tensor x(Shape{1, 1, 2, 2});
  for (int i = 0; i < 4; ++i) x[i] = static_cast<float>(i);
  Tensor y;
  l->forward(x, y, false);
  EXPECT_FLOAT_EQ(y[0], 1.5f);
  auto g = built_layer({{"type", "global_avg_pool"}}, Shape{1, 2, 2});
  g->forward(x, y, false);
  EXPECT_EQ(y.shape(), (Shape{1, 1}));
  EXPECT_FLOAT_EQ(y[0], 1.5f);
}

TEST(BatchNorm, TrainNormalisesEvalUsesRunningStats) {
  auto l = built_layer({{"type", "batchnorm"}, {"momentum", 0.1}}, Shape{2});
  Tensor x(Shape{4, 2});
  float xs[] = {1, 10, 2, 20, 3, 30, 4, 40};
  for (int i = 0; i < 8; ++i) x[i] = xs[i];
  Tensor y;
  l->forward(x, y, true);
  for (int c = 0; c < 2; ++c) {  // zero mean, unit (biased) variance per feature
    double m = 0, v = 0;
    for (int i = 0; i < 4; ++i) m += y[i * 2 + c];
    for (int i = 0; i < 4; ++i) v += y[i * 2 + c] * y[i * 2 + c];
    EXPECT_NEAR(m / 4, 0.0, 1e-6);
    EXPECT_NEAR(v / 4, 1.0, 1e-4);
  }
  auto bufs = l->buffers();
  ASSERT_EQ(bufs.size(), 2u);
  EXPECT_EQ(bufs[0].name, "batchnorm1.running_mean");
  // running_mean = 0.9 * 0 + 0.1 * 2.5; running_var = 0.9 * 1 + 0.1 * var_unbiased(1,2,3,4) (= 5/3)
  EXPECT_NEAR((*bufs[0].value)[0], 0.25, 1e-6);
  EXPECT_NEAR((*bufs[1].value)[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
  EXPECT_NEAR((*bufs[1].value)[1], 0.9 + 0.1 * 500.0 / 3.0, 1e-4);
  l->forward(x, y, false);
  EXPECT_NEAR(y[0], (1 - 0.25) / std::sqrt(0.9 + 0.1 * 5.0 / 3.0 + 1e-5), 1e-5);
  auto ps = l->params();
  EXPECT_FALSE(ps[0].decay);
  EXPECT_FALSE(ps[1].decay);
}

TEST(BatchNorm, GradientsDenseAndConv) {
  {
    auto l = built_layer({{"type", "batchnorm"}}, Shape{3});
    (*l->params()[0].value)[1] = 1.7f;
    check_layer_grads(*l, random_tensor(Shape{5, 3}, 8, -2, 2), {1e-2, 3e-2, 3e-3});
  }
  {
    auto l = built_layer({{"type", "batchnorm"}}, Shape{2, 3, 3});
    (*l->params()[1].value)[0] = 0.3f;
    check_layer_grads(*l, random_tensor(Shape{2, 2, 3, 3}, 9, -2, 2), {1e-2, 3e-2, 3e-3});
  }
}

TEST(LayerNorm, ForwardAndGradients) {
  auto l = built_layer({{"type", "layernorm"}}, Shape{2, 3});
  Tensor x = random_tensor(Shape{3, 2, 3}, 10, -2, 2);
  Tensor y;
  l->forward(x, y, true);
  for (int n = 0; n < 3; ++n) {
    double m = 0, v = 0;
    for (int i = 0; i < 6; ++i) m += y[n * 6 + i];
    for (int i = 0; i < 6; ++i) v += y[n * 6 + i] * y[n * 6 + i];
    EXPECT_NEAR(m / 6, 0.0, 1e-6);
    EXPECT_NEAR(v / 6, 1.0, 1e-3);
  }
  auto ps = l->params();
  for (int64_t i = 0; i < ps[0].value->size(); ++i) (*ps[0].value)[i] = 0.5f + 0.1f * static_cast<float>(i);
  check_layer_grads(*l, x, {1e-2, 3e-2, 3e-3});
}

TEST(Embedding, LooksUpRowsAndScattersGradients) {
  auto l = built_layer({{"type", "embedding"}, {"num_embeddings", 5}, {"dim", 3}}, Shape{4});
  Tensor x(Shape{2, 4});
  float idx[] = {0, 4, 4, 1, 2, 2, 3, 0};
  for (int i = 0; i < 8; ++i) x[i] = idx[i];
  Tensor y;
  l->forward(x, y, true);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  const Tensor& w = *l->params()[0].value;
  for (int i = 0; i < 8; ++i)
    for (int d = 0; d < 3; ++d) EXPECT_EQ(y[i * 3 + d], w[static_cast<int64_t>(idx[i]) * 3 + d]);
  check_layer_grads(*l, x, {}, /*check_dx=*/false);
  x[3] = 5;  // out of range
  EXPECT_THROW(l->forward(x, y, true), Error);
  x[3] = 1.5f;
  EXPECT_THROW(l->forward(x, y, true), Error);
}

TEST(Factory, ErrorsNameTheOption) {
  auto expect_msg = [](const json& cfg, const std::string& part) {
    try {
      make_layer(cfg, "model.layers[1]");
      ADD_FAILURE() << "no error for " << cfg.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("model.layers[1]"), std::string::npos) << e.what();
    }
  };
  expect_msg({{"type", "dnse"}}, "unknown layer type \"dnse\"");
  expect_msg({{"units", 3}}, "type");
  expect_msg({{"type", "dense"}}, "units");
  expect_msg({{"type", "dense"}, {"units", "x"}}, "units");
  expect_msg({{"type", "dense"}, {"units", 3}, {"activation", "relu"}}, "activation");
  expect_msg({{"type", "conv2d"}, {"filters", 3}, {"kernel_size", 3}, {"padding", "full"}}, "padding");
  expect_msg({{"type", "conv2d"}, {"filters", 3}, {"kernel_size", json::array({1, 2, 3})}}, "kernel_size");
  expect_msg({{"type", "dropout"}, {"rate", 1.0}}, "rate");
  expect_msg({{"type", "batchnorm"}, {"momentum", 2}}, "momentum");
  expect_msg({{"type", "maxpool2d"}, {"pool_size", 0}}, "pool_size");
  expect_msg({{"type", "embedding"}, {"dim", 3}}, "num_embeddings");
  expect_msg({{"type", "relu"}, {"negative_slope", 0.1}}, "negative_slope");
  expect_msg(json::array(), "layer");
  EXPECT_EQ(layer_types().size(), 16u);
}

TEST(Factory, ConfigRebuildsEveryLayer) {
  for (const std::string& t : layer_types()) {
    json cfg = {{"type", t}};
    if (t == "dense") cfg["units"] = 3;
    if (t == "conv2d") cfg = {{"type", t}, {"filters", 2}, {"kernel_size", 3}, {"padding", "same"}};
    if (t == "embedding") cfg = {{"type", t}, {"num_embeddings", 7}, {"dim", 2}};
    auto a = make_layer(cfg);
    auto b = make_layer(a->config());
    EXPECT_EQ(a->config(), b->config()) << t;
    EXPECT_EQ(a->type(), t);
  }
}

}  // namespace
}  // namespace hone
