// Training knobs: augmentation in the fit loop (no allocation, validation untouched, config
// keys), and early stopping's restore of the best weights however training ends.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/estimator.h"
#include "hone/run.h"
#include "hone/trainer.h"
#include "nn/alloc_counter.h"
#include "testing/blobs.h"

namespace hone {
namespace {

using nlohmann::json;
using testing::blobs;

// n images (1, 8, 8) of 2 classes: a bright left or right half, with noise.
Dataset halves(int64_t n, uint64_t seed) {
  Dataset d;
  d.num_classes = 2;
  d.x.resize({n, 1, 8, 8});
  d.y.resize({n});
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 2);
    for (int64_t p = 0; p < 64; ++p)
      d.x[i * 64 + p] = 0.3f * uniform01f(rng) + ((p % 8 < 4) == (c == 0) ? 1.0f : 0.0f);
    d.y[i] = static_cast<float>(c);
  }
  return d;
}

Model small_cnn() {
  return Model::from_config(json::parse(R"({"input_shape": [1, 8, 8], "seed": 0, "layers": [
      {"type": "conv2d", "filters": 4, "kernel_size": 3}, {"type": "relu"},
      {"type": "maxpool2d", "pool_size": 2}, {"type": "flatten"}, {"type": "dense", "units": 2}]})"));
}

AugmentOptions every_augmentation() {
  return parse_augment(json::parse(R"({"shift": 1, "flip": true, "rotate": 10.0, "cutout": 3, "noise": 0.05,
                                       "mixup": 0.2})"));
}

TEST(Augmentation, TrainingStepWithEveryAugmentationAllocatesNothing) {
  Dataset train = halves(200, 1);
  Model m = small_cnn();
  auto loss = make_loss({{"type", "cross_entropy"}});
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 32;  // 6 full batches and a short one
  o.augment = every_augmentation();
  Trainer t(m, *loss, *opt, nullptr, o);
  struct Count : Callback {
    std::unique_ptr<hone::testing::AllocScope> scope;
    long counted = -1;
    void on_batch_end(Trainer&, int64_t b, int64_t, double) override {
      if (b == 1) scope = std::make_unique<hone::testing::AllocScope>();  // steps 3..7 (with the short one)
      if (b == 6) {
        scope->stop();
        counted = scope->count();
      }
    }
  };
  auto c = std::make_shared<Count>();
  t.add_callback(c);
  t.fit(train, nullptr);
  if (!hone::testing::counts_malloc()) GTEST_SKIP() << "malloc is not counted in this build";
  // The scope object itself is one allocation made before counting starts; steps add none.
  EXPECT_EQ(c->counted, 0);
}

TEST(Augmentation, ValidationIsNeverAugmentedAndRunsRepeat) {
  Dataset train = halves(200, 1), val = halves(100, 2);
  auto fit = [&](AugmentOptions a, Model& m) {
    auto loss = make_loss({{"type", "cross_entropy"}});
    auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
    TrainOptions o;
    o.epochs = 2;
    o.augment = a;
    Trainer t(m, *loss, *opt, nullptr, o);
    History h = t.fit(train, &val);
    // The epoch's val_loss is the plain evaluation of the final model on the untouched data.
    EXPECT_DOUBLE_EQ(h.rows.back().at("val_loss"), evaluate(m, *loss, val).at("loss"));
    return h;
  };
  AugmentOptions heavy;
  heavy.noise = 2.0;
  Model a = small_cnn(), b = small_cnn(), c = small_cnn();
  History ha = fit(heavy, a), hb = fit(heavy, b), hc = fit(AugmentOptions{}, c);
  EXPECT_EQ(ha.rows.back().at("loss"), hb.rows.back().at("loss"));  // seeded: the same run
  EXPECT_NE(ha.rows.back().at("loss"), hc.rows.back().at("loss"));  // and it did change the training
}

TEST(Augmentation, ConfigKeysTrainAndBadValuesFailBeforeData) {
  DataSplits d;
  d.train = halves(120, 1);
  d.val = halves(40, 2);
  json cfg = {{"seed", 1},
              {"model", {{"type", "cnn"}, {"conv_filters", {4}}, {"dense_units", {8}}}},
              {"train", {{"epochs", 2}, {"batch_size", 16}, {"augment", json::parse(
                  R"({"shift": 2, "flip": true, "rotate": 10.0, "cutout": 3, "noise": 0.1, "mixup": 0.2})")}}}};
  RunResult r = train_model(cfg, d, RunHooks{});
  EXPECT_EQ(r.history.rows.size(), 2u);
  EXPECT_TRUE(std::isfinite(r.history.rows.back().at("val_loss")));
  json bad = cfg;
  bad["train"]["augment"]["rotate"] = -5;
  EXPECT_THROW(validate_run_config(bad), Error);
  bad = cfg;
  bad["train"]["augment"]["spin"] = 1;
  EXPECT_THROW(validate_run_config(bad), Error);
  // Image augmentation on tabular data: refused before training, naming the key.
  DataSplits tab;
  tab.train = blobs(60, 1);
  json mlp_shift = {{"model", {{"type", "mlp"}, {"hidden_layers", {8}}}},
                   {"train", {{"epochs", 1}, {"augment", {{"shift", 2}}}}}};
  try {
    check_run_on_data(mlp_shift, tab);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.augment"), std::string::npos) << e.what();
  }
  json tab_cfg = {{"model", {{"type", "mlp"}, {"hidden_layers", {8}}}},
                  {"train", {{"epochs", 1}, {"augment", {{"noise", 0.1}, {"mixup", 0.3}}}}}};
  EXPECT_NO_THROW(check_run_on_data(tab_cfg, tab));
}

// ---- early stopping: the best weights come back however training ends ----

struct Fixture {
  Dataset train = blobs(300, 1), val = blobs(90, 2);
  Model model = Model::from_config({{"input_shape", {4}}, {"seed", 0},
                                    {"layers", {{{"type", "dense"}, {"units", 8}}, {{"type", "relu"}},
                                                {{"type", "dense"}, {"units", 3}}}}});
  std::unique_ptr<Loss> loss = make_loss({{"type", "cross_entropy"}});
  std::unique_ptr<Optimizer> opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
};

// A metric that is best at epoch 1 (0-based) and worse after, with a snapshot of those weights;
// `act` runs at each epoch end and may stop training or break it.
struct BestAtEpoch1 : Callback {
  std::vector<Tensor> best;
  std::function<bool(Trainer&, int)> act;
  bool timed_out = false, interrupted = false, diverged = false;
  void on_train_end(Trainer& t) override {
    timed_out = t.timed_out();
    interrupted = t.interrupted();
    diverged = t.diverged();
  }
  bool on_epoch_end(Trainer& t, int epoch, Logs& logs) override {
    logs["score"] = epoch == 1 ? 0.0 : 1.0 + epoch;
    if (epoch == 1)
      for (auto& p : t.model().params()) best.push_back(*p.value);
    return act ? act(t, epoch) : false;
  }
};

void expect_best_weights(Model& m, const BestAtEpoch1& cb) {
  auto ps = m.params();
  ASSERT_EQ(ps.size(), cb.best.size());
  for (size_t i = 0; i < ps.size(); ++i)
    for (int64_t j = 0; j < ps[i].value->size(); ++j) ASSERT_EQ((*ps[i].value)[j], cb.best[i][j]);
}

// Runs a fit of `epochs` with early stopping (patience 100: it never stops training itself).
template <class Setup>
std::shared_ptr<EarlyStopping> fit_with(Fixture& f, int epochs, Setup setup, std::shared_ptr<BestAtEpoch1> cb,
                                        TrainOptions o = {}) {
  o.epochs = epochs;
  Trainer t(f.model, *f.loss, *f.opt, nullptr, o);
  auto es = std::make_shared<EarlyStopping>("score", 100, 0.0, "min", true);
  t.add_callback(cb);
  t.add_callback(es);
  setup(t);
  t.fit(f.train, &f.val);
  return es;
}

TEST(RestoreBestWeights, WhenTheEpochsRunOut) {
  Fixture f;
  auto cb = std::make_shared<BestAtEpoch1>();
  auto es = fit_with(f, 4, [](Trainer&) {}, cb);
  EXPECT_EQ(es->stopped_epoch(), -1);  // early stopping never fired (Keras #12511's case)
  EXPECT_TRUE(es->restored());
  expect_best_weights(f.model, *cb);
}

TEST(RestoreBestWeights, WhenAnotherCallbackStopsTraining) {
  Fixture f;
  auto cb = std::make_shared<BestAtEpoch1>();
  cb->act = [](Trainer&, int epoch) { return epoch == 3; };  // e.g. a pruner
  auto es = fit_with(f, 20, [](Trainer&) {}, cb);
  EXPECT_TRUE(es->restored());
  expect_best_weights(f.model, *cb);
}

TEST(RestoreBestWeights, WhenTheStopFlagIsSet) {
  Fixture f;
  std::atomic<bool> stop{false};
  auto cb = std::make_shared<BestAtEpoch1>();
  cb->act = [&](Trainer&, int epoch) {
    if (epoch == 2) stop = true;
    return false;
  };
  auto es = fit_with(f, 20, [&](Trainer& t) { t.set_stop_flag(&stop); }, cb);
  EXPECT_TRUE(cb->interrupted);
  EXPECT_TRUE(es->restored());
  expect_best_weights(f.model, *cb);
}

TEST(RestoreBestWeights, WhenTheTimeLimitRunsOut) {
  Fixture f;
  auto cb = std::make_shared<BestAtEpoch1>();
  cb->act = [](Trainer&, int epoch) {
    if (epoch >= 2) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return false;
  };
  TrainOptions o;
  o.time_limit_s = 0.25;  // epochs 0 and 1 take milliseconds; then each epoch takes 100 ms
  auto es = fit_with(f, 1000, [](Trainer&) {}, cb, o);
  EXPECT_TRUE(cb->timed_out);
  EXPECT_TRUE(es->restored());
  expect_best_weights(f.model, *cb);
}

TEST(RestoreBestWeights, WhenTheLossBecomesNaN) {
  Fixture f;
  auto cb = std::make_shared<BestAtEpoch1>();
  cb->act = [](Trainer& t, int epoch) {
    if (epoch == 3) (*t.model().params().back().value)[0] = NAN;  // output bias: the next loss is NaN
    return false;
  };
  auto es = fit_with(f, 20, [](Trainer&) {}, cb);
  EXPECT_TRUE(cb->diverged);
  EXPECT_TRUE(es->restored());
  expect_best_weights(f.model, *cb);
}

TEST(RestoreBestWeights, ConfigPathReportsTheEndingAndEvaluatesTheRestoredModel) {
  DataSplits d;
  d.train = blobs(300, 1);
  d.val = blobs(90, 2);
  d.test = blobs(90, 3);
  json cfg = {{"seed", 0},
              {"model", {{"type", "mlp"}, {"hidden_layers", {8}}}},
              {"train", {{"epochs", 100000}, {"time_limit", 0.3},
                         {"early_stopping", {{"patience", 100000}, {"restore_best_weights", true}}}}}};
  RunResult r = train_model(cfg, d, RunHooks{});
  EXPECT_EQ(r.stop_reason, "time_limit");
  EXPECT_TRUE(r.restored_best);
  // The test metrics are those of the restored model: its val_loss is the best epoch's.
  double best = 1e300;
  for (const auto& row : r.history.rows) best = std::min(best, row.at("val_loss"));
  auto loss = make_loss({{"type", "cross_entropy"}});
  EXPECT_NEAR(evaluate(r.model, *loss, d.val).at("loss"), best, 1e-6);
  EXPECT_FALSE(r.test.empty());
  json bad = cfg;
  bad["train"]["time_limit"] = -1;
  EXPECT_THROW(validate_run_config(bad), Error);
}

TEST(RestoreBestWeights, EstimatorRestoresWhenMaxIterRunsOut) {
  Dataset d = blobs(400, 5, 1.2f);
  MLPParams p;
  p.hidden_layer_sizes = {16};
  p.max_iter = 8;
  p.early_stopping = true;
  p.n_iter_no_change = 100;  // never stops by itself: the iterations run out
  p.learning_rate_init = 0.05;
  p.random_state = 3;
  MLPClassifier clf(p);
  clf.fit(d.x, d.y);
  ASSERT_EQ(clf.n_iter(), 8);
  // The validation split the estimator made, and its score there: the best epoch's.
  auto split = train_val_split(d, p.validation_fraction, p.random_state, true);
  const auto& scores = clf.validation_scores();
  EXPECT_DOUBLE_EQ(clf.score(split.second.x, split.second.y), *std::max_element(scores.begin(), scores.end()));
}

}  // namespace
}  // namespace hone
