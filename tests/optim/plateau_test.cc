// ReduceLROnPlateau stories, with Keras's (tf.keras 2.x) on_epoch_end logic as the reference:
//   if cooldown_counter > 0: cooldown_counter -= 1; wait = 0
//   if monitor_op(current, best): best = current; wait = 0
//   elif cooldown_counter == 0: wait += 1
//     if wait >= patience and float32(lr) > float32(min_lr):
//       lr = max(lr·factor, min_lr); print; cooldown_counter = cooldown; wait = 0
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/scheduler.h"
#include "optim/attach.h"
#include "optim/schedules.h"

namespace hone {
namespace {

using json = nlohmann::json;

// Runs a plateau schedule over a series of monitored values (one per epoch, 2 steps per
// epoch) and records the rate used in each epoch and every message.
struct Story {
  std::vector<double> lr;  // the rate during epoch e (before its end_epoch)
  std::vector<std::string> messages;
};

Story tell(const json& config, const std::vector<double>& values, double base = 1.0,
           const std::string& key = "val_loss") {
  auto s = make_scheduler(config);
  Story st;
  s->set_log([&](const std::string& m) { st.messages.push_back(m); });
  auto opt = begin_at(*s, base, 2, static_cast<int>(values.size()));
  for (size_t e = 0; e < values.size(); ++e) {
    const double a = s->lr_at_step(static_cast<int64_t>(2 * e), static_cast<int>(e));
    const double b = s->lr_at_step(static_cast<int64_t>(2 * e + 1), static_cast<int>(e));
    EXPECT_EQ(a, b) << "the rate changes only at epoch ends";
    st.lr.push_back(a);
    s->end_epoch(static_cast<int>(e), Logs{{"loss", 0.5}, {key, values[e]}});
  }
  return st;
}

TEST(Plateau, PatienceCountsEpochsWithoutImprovement) {
  auto st = tell(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 2}},
                 {1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.5});
  // e0 1.0 < inf: best 1.0.   e1 0.9 < 1.0 − 1e−4: best 0.9.
  // e2 0.95: wait 1.          e3 0.93: wait 2 = patience → lr 0.5, wait 0 ("Epoch 4").
  // e4 0.92: wait 1.          e5 0.91: wait 2 → lr 0.25 ("Epoch 6").
  // e6 0.5: improvement; lr stays.
  EXPECT_EQ(st.lr, (std::vector<double>{1, 1, 1, 1, 0.5, 0.5, 0.25}));
  ASSERT_EQ(st.messages.size(), 2u);
  EXPECT_EQ(st.messages[0], "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.5.");
  EXPECT_EQ(st.messages[1], "Epoch 6: ReduceLROnPlateau reducing learning rate to 0.25.");
}

TEST(Plateau, KerasDefaults) {
  // factor 0.1, patience 10, min_delta 1e−4: a flat series reduces once after 10 bad epochs.
  std::vector<double> flat(12, 1.0);
  auto st = tell(json{{"type", "plateau"}}, flat, 0.1);
  // e0 sets best; e1..e10 are 10 epochs without improvement → reduce at e10 (message "Epoch 11").
  for (int e = 0; e <= 10; ++e) EXPECT_EQ(st.lr[e], 0.1) << e;
  EXPECT_NEAR(st.lr[11], 0.01, 1e-17);
  ASSERT_EQ(st.messages.size(), 1u);
  EXPECT_EQ(st.messages[0].rfind("Epoch 11: ReduceLROnPlateau reducing learning rate to ", 0), 0u);
}

TEST(Plateau, MinDeltaIgnoresSmallImprovements) {
  auto st = tell(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 1}, {"min_delta", 0.1}},
                 {1.0, 0.95, 0.92, 0.85, 0.80});
  // e0 best 1.0.  e1 0.95 is not < 1.0 − 0.1: wait 1 → lr 0.5 (best stays 1.0).
  // e2 0.92: not < 0.9: wait 1 → lr 0.25.  e3 0.85 < 0.9: best 0.85.  e4 0.80: not < 0.75 → 0.125.
  EXPECT_EQ(st.lr, (std::vector<double>{1, 1, 0.5, 0.25, 0.25}));
  EXPECT_EQ(st.messages.size(), 3u);
}

TEST(Plateau, CooldownPausesCountingAfterAReduction) {
  auto st = tell(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 1}, {"cooldown", 2}},
                 std::vector<double>(8, 1.0));
  // e0: best 1.0.
  // e1: wait 1 → lr 0.5, cooldown_counter 2.
  // e2: counter → 1 (still cooling down): nothing counted.
  // e3: counter → 0; no longer in cooldown: wait 1 → lr 0.25, counter 2.
  // e4: counter → 1.  e5: counter → 0, wait 1 → lr 0.125.  e6: counter → 1.  e7: → 0.0625.
  // The rate used in epoch e is the one set at the end of e − 1:
  EXPECT_EQ(st.lr, (std::vector<double>{1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125}));
  ASSERT_EQ(st.messages.size(), 4u);
  EXPECT_EQ(st.messages[1], "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.25.");
  // Without cooldown the same series reduces at every epoch from e1 on.
  auto fast = tell(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 1}},
                   std::vector<double>(4, 1.0));
  EXPECT_EQ(fast.lr, (std::vector<double>{1, 1, 0.5, 0.25}));
}

TEST(Plateau, MinLrIsAFloorAndReachingItIsSilent) {
  auto st = tell(json{{"type", "plateau"}, {"patience", 1}, {"min_lr", 0.005}},
                 std::vector<double>(7, 1.0));
  // e1: 1 → 0.1.  e2: 0.1 → 0.010000000000000002 (double arithmetic, printed like Python).
  // e3: max(0.001…, 0.005) = 0.005.  e4+: float32(0.005) > float32(0.005) is false: no change,
  // no message (Keras's `old_lr > np.float32(min_lr)` check).
  ASSERT_EQ(st.lr.size(), 7u);
  EXPECT_EQ(st.lr[2], 0.1);
  EXPECT_EQ(st.lr[3], 0.1 * 0.1);
  EXPECT_EQ(st.lr[4], 0.005);
  EXPECT_EQ(st.lr[6], 0.005);
  ASSERT_EQ(st.messages.size(), 3u);
  EXPECT_EQ(st.messages[1],
            "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.010000000000000002.");
  EXPECT_EQ(st.messages[2], "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.005.");
}

TEST(Plateau, AutoModeMaximisesAccuracyLikeMetrics) {
  const std::vector<double> acc = {0.5, 0.6, 0.6, 0.55, 0.7};
  auto cfg = json{{"type", "plateau"}, {"monitor", "val_accuracy"}, {"factor", 0.5},
                  {"patience", 2}};
  // auto → max ("acc" in the name): e0 best 0.5; e1 0.6 > 0.5001: best; e2 0.6 is not
  // > 0.6001: wait 1; e3 0.55: wait 2 → lr 0.5; e4 0.7 improves.
  auto st = tell(cfg, acc, 1.0, "val_accuracy");
  EXPECT_EQ(st.lr, (std::vector<double>{1, 1, 1, 1, 0.5}));
  // mode "max" is the same; mode "min" treats the rising accuracy as bad:
  // e0 best 0.5; e1 0.6: wait 1; e2: wait 2 → 0.5; e3 0.55: wait 1; e4 0.7: wait 2 → 0.25.
  cfg["mode"] = "max";
  EXPECT_EQ(tell(cfg, acc, 1.0, "val_accuracy").lr, st.lr);
  cfg["mode"] = "min";
  EXPECT_EQ(tell(cfg, acc, 1.0, "val_accuracy").lr, (std::vector<double>{1, 1, 1, 0.5, 0.5}));
  // auto on a loss is min.
  auto loss = tell(json{{"type", "plateau"}, {"monitor", "loss_x"}, {"factor", 0.5},
                        {"patience", 1}},
                   {1.0, 2.0}, 1.0, "loss_x");
  EXPECT_EQ(loss.messages.size(), 1u);
}

TEST(Plateau, MissingMonitorWarnsThroughTheSinkAndChangesNothing) {
  auto s = make_scheduler(json{{"type", "plateau"}, {"patience", 0}});
  std::vector<std::string> msgs;
  s->set_log([&](const std::string& m) { msgs.push_back(m); });
  auto opt = begin_at(*s, 0.1, 1, 3);
  s->end_epoch(0, Logs{{"accuracy", 0.9}, {"loss", 0.3}});
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0],
            "WARNING: Learning rate reduction is conditioned on metric `val_loss` which is not "
            "available. Available metrics are: accuracy,loss");
  EXPECT_EQ(s->lr_at_step(1, 1), 0.1);
  // Without a sink it is silent, and still no crash.
  s->set_log(nullptr);
  EXPECT_NO_THROW(s->end_epoch(1, Logs{}));
}

TEST(Plateau, NaNIsNeverAnImprovement) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto st = tell(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 2}},
                 {1.0, nan, nan, 0.5});
  // e1, e2: NaN < best is false → wait 1, 2 → reduce at e2.
  EXPECT_EQ(st.lr, (std::vector<double>{1, 1, 1, 0.5}));
}

TEST(Plateau, VerboseOffStillReducesQuietly) {
  for (json verbose : {json(false), json(0)}) {
    auto st = tell(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 1},
                        {"verbose", verbose}},
                   {1.0, 1.0, 1.0});
    EXPECT_EQ(st.lr, (std::vector<double>{1, 1, 0.5}));
    EXPECT_TRUE(st.messages.empty());
  }
}

TEST(Plateau, BeginResetsTheState) {
  auto s = make_scheduler(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 1}});
  auto opt3 = begin_at(*s, 1.0, 1, 3);
  s->end_epoch(0, Logs{{"val_loss", 0.1}});
  s->end_epoch(1, Logs{{"val_loss", 0.2}});
  EXPECT_EQ(s->lr_at_step(2, 2), 0.5);
  auto opt4 = begin_at(*s, 1.0, 1, 3);  // a new run: lr, best and wait start over
  EXPECT_EQ(s->lr_at_step(0, 0), 1.0);
  s->end_epoch(0, Logs{{"val_loss", 0.3}});  // 0.3 is an improvement over +inf, not over 0.1
  EXPECT_EQ(s->lr_at_step(1, 1), 1.0);
}

TEST(Plateau, BehindAWarmupItStartsWhenTheWarmupEnds) {
  // 2 steps per epoch, warmup_epochs 2: epochs 0–1 warm up; the plateau sees epochs 2.. only,
  // and its messages carry the real epoch number.
  auto s = make_scheduler(json{{"type", "plateau"}, {"factor", 0.5}, {"patience", 1},
                               {"warmup_epochs", 2}, {"warmup_start_factor", 0.5}});
  EXPECT_EQ(s->type(), "plateau");
  std::vector<std::string> msgs;
  s->set_log([&](const std::string& m) { msgs.push_back(m); });
  auto opt = begin_at(*s, 1.0, 2, 6);
  // warmup: 1·(0.5 + 0.5·step/4) for steps 0..3
  EXPECT_DOUBLE_EQ(s->lr_at_step(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(s->lr_at_step(3, 1), 0.875);
  s->end_epoch(0, Logs{{"val_loss", 1.0}});  // ignored (warmup)
  s->end_epoch(1, Logs{{"val_loss", 2.0}});  // ignored (warmup)
  EXPECT_DOUBLE_EQ(s->lr_at_step(4, 2), 1.0);
  s->end_epoch(2, Logs{{"val_loss", 3.0}});  // the plateau's first value: best 3.0
  EXPECT_DOUBLE_EQ(s->lr_at_step(6, 3), 1.0);
  s->end_epoch(3, Logs{{"val_loss", 3.0}});  // wait 1 → 0.5
  EXPECT_DOUBLE_EQ(s->lr_at_step(8, 4), 0.5);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0], "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.5.");
}

TEST(PythonFloatRepr, MatchesPythonsRepr) {
  // Expected strings are Python's repr() of the same doubles.
  using optim::python_float_repr;
  EXPECT_EQ(python_float_repr(0.5), "0.5");
  EXPECT_EQ(python_float_repr(2.0), "2.0");
  EXPECT_EQ(python_float_repr(100.0), "100.0");
  EXPECT_EQ(python_float_repr(1e-05), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1.5e-7), "1.5e-07");
  EXPECT_EQ(python_float_repr(0.1 * 0.1 * 0.1), "0.0010000000000000002");
  EXPECT_EQ(python_float_repr(9.999999747378752e-07), "9.999999747378752e-07");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(123456789012345.6), "123456789012345.6");
  EXPECT_EQ(python_float_repr(-0.5), "-0.5");
  EXPECT_EQ(python_float_repr(5e-324), "5e-324");
  EXPECT_EQ(python_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
}

}  // namespace
}  // namespace hone
