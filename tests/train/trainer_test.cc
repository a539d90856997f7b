// The fit loop, callbacks, history, run-from-config and model files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#define HONE_ALLOC_COUNTER_DEFINE
#include "nn/alloc_counter.h"

#include "hone/error.h"
#include "hone/run.h"
#include "hone/trainer.h"
#include "testing/blobs.h"

namespace hone {
namespace {

using nlohmann::json;

using testing::blobs;

Model mlp(uint64_t seed = 0) {
  return Model::from_config({{"input_shape", {4}},
                             {"seed", seed},
                             {"layers",
                              {{{"type", "dense"}, {"units", 16}},
                               {{"type", "relu"}},
                               {{"type", "dense"}, {"units", 3}}}}});
}

struct Fixture {
  Dataset train = blobs(300, 1), val = blobs(90, 2);
  Model model = mlp();
  std::unique_ptr<Loss> loss = make_loss({{"type", "cross_entropy"}});
};

TEST(Trainer, LearnsSeparableBlobsAndRecordsEveryEpoch) {
  Fixture f;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  TrainOptions o;
  o.epochs = 15;
  o.batch_size = 32;
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  History h = t.fit(f.train, &f.val);
  ASSERT_EQ(h.rows.size(), 15u);
  // The loss must fall and the validation accuracy must be high on separable data.
  EXPECT_LT(h.rows.back().at("loss"), 0.5 * h.rows.front().at("loss"));
  EXPECT_GT(h.rows.back().at("val_accuracy"), 0.9);
  for (const char* k : {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "time_s"})
    EXPECT_TRUE(h.rows[3].count(k)) << k;
  EXPECT_EQ(h.rows[3].at("epoch"), 4.0);
  // The CSV has one header line and one line per epoch; the JSON one object per epoch.
  std::string csv = h.to_csv();
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 16);
  EXPECT_EQ(csv.rfind("epoch,", 0), 0u);
  EXPECT_EQ(h.to_json().size(), 15u);
}

TEST(Trainer, SameSeedSameResult) {
  Fixture a, b;
  auto oa = make_optimizer({{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}});
  auto ob = make_optimizer({{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}});
  TrainOptions o;
  o.epochs = 3;
  Trainer ta(a.model, *a.loss, *oa, nullptr, o), tb(b.model, *b.loss, *ob, nullptr, o);
  auto ha = ta.fit(a.train, &a.val), hb = tb.fit(b.train, &b.val);
  EXPECT_EQ(ha.rows.back().at("loss"), hb.rows.back().at("loss"));
}

TEST(Trainer, FullBatchGdTakesOneStepPerEpoch) {
  Fixture f;
  auto opt = make_optimizer({{"type", "gd"}, {"lr", 0.1}});
  TrainOptions o;
  o.epochs = 4;
  o.batch_size = 0;  // full batch
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  t.fit(f.train, nullptr);
  EXPECT_EQ(opt->steps(), 4);
}

TEST(Trainer, DivergenceIsAnOutcomeNotACrash) {
  Fixture f;
  auto opt = make_optimizer({{"type", "sgd"}, {"lr", 1e30}});
  TrainOptions o;
  o.epochs = 5;
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  History h = t.fit(f.train, &f.val);
  EXPECT_TRUE(t.diverged());
  EXPECT_LT(h.rows.size(), 5u);
}

TEST(Trainer, StopFlagEndsTrainingAndKeepsCompletedEpochs) {
  Fixture f;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  TrainOptions o;
  o.epochs = 50;
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  std::atomic<bool> stop{false};
  t.set_stop_flag(&stop);
  struct StopAfter2 : Callback {
    std::atomic<bool>* s;
    bool on_epoch_end(Trainer&, int epoch, Logs&) override {
      if (epoch == 1) s->store(true);
      return false;
    }
  };
  auto cb = std::make_shared<StopAfter2>();
  cb->s = &stop;
  t.add_callback(cb);
  History h = t.fit(f.train, nullptr);
  EXPECT_TRUE(t.interrupted());
  EXPECT_EQ(h.rows.size(), 2u);
}

TEST(EarlyStopping, StopsAfterPatienceAndRestoresBestWeights) {
  Fixture f;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  TrainOptions o;
  o.epochs = 40;
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  // A fake metric that improves for 3 epochs, then worsens: training must stop 2 epochs later
  // (patience 2) and come back to the weights of epoch 3.
  struct FakeMetric : Callback {
    std::vector<Tensor> at_epoch3;
    bool on_epoch_end(Trainer& tr, int epoch, Logs& logs) override {
      logs["val_score"] = epoch < 3 ? 1.0 - epoch : 10.0 + epoch;
      if (epoch == 2)
        for (auto& p : tr.model().params()) at_epoch3.push_back(*p.value);
      return false;
    }
  };
  auto fake = std::make_shared<FakeMetric>();
  auto es = std::make_shared<EarlyStopping>("val_score", 2, 0.0, "min", true);
  t.add_callback(fake);
  t.add_callback(es);
  History h = t.fit(f.train, &f.val);
  EXPECT_EQ(h.rows.size(), 5u);        // epochs 1..5: best at 3, two without improvement
  EXPECT_EQ(es->best_epoch(), 2);      // 0-based
  EXPECT_EQ(es->stopped_epoch(), 4);
  auto params = f.model.params();
  ASSERT_EQ(params.size(), fake->at_epoch3.size());
  for (size_t i = 0; i < params.size(); ++i)
    for (int64_t j = 0; j < params[i].value->size(); ++j)
      ASSERT_EQ((*params[i].value)[j], fake->at_epoch3[i][j]);
}

TEST(EarlyStopping, ModeAutoMaximisesAccuracy) {
  EarlyStopping es("val_accuracy", 1, 0.0, "auto", false);
  Fixture f;
  auto opt = make_optimizer({{"type", "sgd"}, {"lr", 0.1}});
  Trainer t(f.model, *f.loss, *opt, nullptr, TrainOptions{});
  es.on_train_begin(t);
  Logs l;
  l["val_accuracy"] = 0.5;
  EXPECT_FALSE(es.on_epoch_end(t, 0, l));
  l["val_accuracy"] = 0.6;  // an improvement in "max" mode
  EXPECT_FALSE(es.on_epoch_end(t, 1, l));
  l["val_accuracy"] = 0.55;  // worse: patience 1 is used up
  EXPECT_TRUE(es.on_epoch_end(t, 2, l));
}

// A training step allocates no heap memory after the first step (Adam + cosine schedule +
// gradient clipping + L2, the full step).
TEST(Trainer, StepAllocatesNothingAfterTheFirst) {
  Fixture f;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  auto sched = make_scheduler({{"type", "cosine"}});
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 30;  // 300 samples: 10 equal batches
  o.l2 = 1e-4;
  o.clip_norm = 1.0;
  Trainer t(f.model, *f.loss, *opt, sched.get(), o);
  struct Count : Callback {
    std::unique_ptr<testing::AllocScope> scope;
    long allocs = -1;
    void on_batch_end(Trainer&, int64_t b, int64_t, double) override {
      if (b == 1) scope = std::make_unique<testing::AllocScope>();
      if (b == 8) {
        scope->stop();
        allocs = scope->count();
      }
    }
  };
  auto c = std::make_shared<Count>();
  t.add_callback(c);
  t.fit(f.train, nullptr);
  EXPECT_EQ(c->allocs, 0) << "heap allocations in 7 training steps";
}

// Regression: Dense picks its dX algorithm by batch size (nn/dense.cc, kGemmDxMaxRows = 64), so
// an epoch's short last batch (300 = 2 x 128 + 44) can take a path the full batches never took;
// its scratch must have been sized by the first step. Counts every step after the very first
// over two epochs, the short batches included (epoch-end bookkeeping is outside the spans).
TEST(Trainer, ShortLastBatchAllocatesNothingAfterTheFirstStep) {
  Fixture f;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 128;
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  struct Count : Callback {
    std::unique_ptr<testing::AllocScope> scope;
    long allocs = 0, steps = 0;
    void on_epoch_begin(Trainer&, int epoch) override {
      if (epoch > 0) scope = std::make_unique<testing::AllocScope>();
    }
    void on_batch_end(Trainer&, int64_t b, int64_t batches, double) override {
      if (scope) {
        scope->stop();
        allocs += scope->count();
        ++steps;
        scope.reset();
      }
      if (b + 1 < batches) scope = std::make_unique<testing::AllocScope>();
    }
  };
  auto c = std::make_shared<Count>();
  t.add_callback(c);
  t.fit(f.train, nullptr);
  EXPECT_EQ(c->steps, 5) << "3 batches per epoch, 2 epochs, all but the first step counted";
  EXPECT_EQ(c->allocs, 0) << "heap allocations in the steps after the first";
}

TEST(Trainer, RejectsDataOfTheWrongShape) {
  Fixture f;
  auto opt = make_optimizer({{"type", "sgd"}, {"lr", 0.1}});
  Trainer t(f.model, *f.loss, *opt, nullptr, TrainOptions{});
  Dataset wrong;
  wrong.num_classes = 3;
  wrong.x.resize({10, 5});
  wrong.y.resize({10});
  wrong.y.zero();
  EXPECT_THROW(t.fit(wrong, nullptr), Error);
}

class ModelFile : public ::testing::Test {
 protected:
  std::string path = (std::filesystem::temp_directory_path() /
                      ("hone_model_test_" + std::to_string(::getpid()) + ".hone")).string();
  void TearDown() override { std::remove(path.c_str()); }
  std::string read() {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  void write(const std::string& s) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << s;
  }
};

TEST_F(ModelFile, RoundTripKeepsArchitectureWeightsAndMetadata) {
  Fixture f;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  TrainOptions o;
  o.epochs = 2;
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  t.fit(f.train, nullptr);
  f.model.save(path, {{"class_names", {"a", "b", "c"}}});
  json meta;
  Model m = Model::load(path, &meta);
  EXPECT_EQ(meta["class_names"][2], "c");
  Tensor a, b;
  f.model.predict(f.val.x, a);
  m.predict(f.val.x, b);
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]);
}

TEST_F(ModelFile, TruncatedCorruptAndForeignFilesGiveClearErrors) {
  Model m = mlp();
  m.save(path);
  const std::string good = read();
  auto expect_data_error = [&](const std::string& content, const std::string& needle) {
    write(content);
    try {
      Model::load(path);
      FAIL() << "loaded a bad file (" << needle << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kDataError);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // Every truncation point must be caught, never read past the end.
  for (size_t cut : {size_t{0}, size_t{5}, size_t{12}, size_t{30}, good.size() / 2, good.size() - 1})
    expect_data_error(good.substr(0, cut), cut < 8 ? "magic" : "");
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  expect_data_error(flipped, "checksum");
  expect_data_error("PK\x03\x04 this is a zip file, not a model", "magic");
  EXPECT_THROW(Model::load(path + ".missing"), Error);
}

TEST(RunConfig, TypoAndBadValuesFailBeforeAnyWork) {
  json cfg = {{"model", {{"layers", {{{"type", "dense"}, {"units", 3}}}}}},
              {"train", {{"epochs", 1}, {"optimizr", "adam"}}}};
  EXPECT_THROW(validate_run_config(cfg), Error);
  cfg["train"] = {{"lr", -1.0}};
  try {
    validate_run_config(cfg);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
  }
}

TEST(RunConfig, ValidationBuildsThePartsTheRunKeeps) {
  json cfg = {{"model", {{"layers", {{{"type", "dense"}, {"units", 3}}}}}},
              {"train", {{"lr", 0.05}, {"optimizer", "sgd"}, {"scheduler", "cosine"}}}};
  TrainingParts p = validate_run_config(cfg);
  EXPECT_EQ(p.loss, nullptr);  // not configured: the run picks it from the data
  ASSERT_NE(p.optimizer, nullptr);
  EXPECT_EQ(p.optimizer->type(), "sgd");
  EXPECT_EQ(p.optimizer->lr(), 0.05);  // train.lr folded in
  ASSERT_NE(p.scheduler, nullptr);
  EXPECT_EQ(p.scheduler->type(), "cosine");
  cfg["train"]["scheduler"] = "none";
  cfg["train"]["loss"] = "mse";
  p = validate_run_config(cfg);
  EXPECT_EQ(p.scheduler, nullptr);
  EXPECT_EQ(p.loss->type(), "mse");
  // The run trains with those parts.
  DataSplits d;
  d.train = blobs(60, 1);
  json run = {{"model", {{"layers", {{{"type", "dense"}, {"units", 3}}}}}},
              {"train", {{"epochs", 2}, {"lr", 0.05}, {"optimizer", "sgd"}}}};
  RunResult r = train_model(run, d, {}, validate_run_config(run));
  ASSERT_EQ(r.history.rows.size(), 2u);
  EXPECT_EQ(r.history.rows[0].at("lr"), 0.05);
}

TEST(Evaluate, NeedsNoOptimizerAndMatchesTheTrainersEvaluation) {
  Fixture f;
  auto opt = make_optimizer({{"type", "adam"}, {"lr", 0.01}});
  TrainOptions o;
  o.epochs = 2;
  o.metrics = {"accuracy", "f1_macro"};
  o.eval_batch_size = 7;  // several batches, the last one partial
  Trainer t(f.model, *f.loss, *opt, nullptr, o);
  t.fit(f.train, nullptr);
  const Logs by_trainer = t.evaluate(f.val);
  Tensor pred;
  const Logs alone = evaluate(f.model, *f.loss, f.val, {.batch_size = 7, .metrics = o.metrics}, &pred);
  EXPECT_EQ(alone, by_trainer);
  EXPECT_EQ(pred.dim(0), f.val.size());
  EXPECT_EQ(pred.dim(1), 3);
  // Defaults: accuracy for classification, one batch.
  const Logs dflt = evaluate(f.model, *f.loss, f.val);
  EXPECT_NEAR(dflt.at("loss"), by_trainer.at("loss"), 1e-6);
  EXPECT_EQ(dflt.at("accuracy"), by_trainer.at("accuracy"));
  EXPECT_TRUE(evaluate(f.model, *f.loss, Dataset{}).empty());
}

TEST(Trainer, ASecondFitWithASchedulerStartsFromTheConfiguredRate) {
  Fixture f;
  auto opt = make_adam({.lr = 0.01});
  auto sched = make_scheduler(json("cosine"));
  TrainOptions o;
  o.epochs = 3;
  Trainer t(f.model, *f.loss, *opt, sched.get(), o);
  const std::vector<double> first = t.fit(f.train, nullptr).values("lr");
  EXPECT_EQ(opt->lr(), 0.01);  // end() put the base rate back
  EXPECT_EQ(t.fit(f.train, nullptr).values("lr"), first);
}

TEST(Trainer, AFitThatThrowsStillPutsTheConfiguredRateBack) {
  struct ThrowsInEpoch2 : Callback {
    bool on_epoch_end(Trainer&, int epoch, Logs&) override {
      if (epoch == 1) throw std::runtime_error("callback failed");
      return false;
    }
  };
  Fixture f;
  auto opt = make_adam({.lr = 0.01});
  auto sched = make_scheduler(json("cosine"));
  TrainOptions o;
  o.epochs = 4;
  Trainer t(f.model, *f.loss, *opt, sched.get(), o);
  t.add_callback(std::make_shared<ThrowsInEpoch2>());
  EXPECT_THROW(t.fit(f.train, nullptr), std::runtime_error);
  EXPECT_EQ(opt->lr(), 0.01);  // cosine had lowered it; the throw still ran end()
}

TEST(RunConfig, TrainModelFromConfigWithEarlyStoppingAndTestMetrics) {
  DataSplits d;
  d.train = blobs(300, 1);
  d.val = blobs(60, 2);
  d.test = blobs(90, 3);
  json cfg = {{"seed", 3},
              {"model", {{"layers", {{{"type", "dense"}, {"units", 8}}, {{"type", "relu"}}, {{"type", "dense"}, {"units", 3}}}}}},
              {"train", {{"epochs", 30}, {"lr", 0.02}, {"batch_size", 16},
                         {"early_stopping", {{"monitor", "val_loss"}, {"patience", 2}}}}}};
  RunResult r = train_model(cfg, d, RunHooks{});
  EXPECT_GT(r.test.at("accuracy"), 0.9);
  EXPECT_GT(r.peak_tensor_bytes, 0);
  EXPECT_GT(r.num_params, 0);
  EXPECT_FALSE(r.diverged);
}

}  // namespace
}  // namespace hone
