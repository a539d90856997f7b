// hone/diagnose.h — `hone doctor`: what is wrong with a training run, the evidence, and what to
// change (learning-curve analysis and remedies), and `--fix`: a small targeted study over exactly
// the knobs the findings name, with the run before and after.
//
//   hone::RunRecord run = hone::load_run_dir("runs/mlp");        // what `hone train` wrote
//   auto findings = hone::diagnose(run, {.memory_budget = 64 << 20});
//   std::printf("%s", hone::format_findings(findings).c_str());
//
// Every threshold is in DiagnoseThresholds, with its source; docs/DOCTOR.md explains each rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/log.h"
#include "hone/run.h"

namespace hone {

// The rules' numbers, in one place (docs/DOCTOR.md gives each one's source).
struct DiagnoseThresholds {
  // Overfitting. Validation loss "turns up": its last value is this fraction above its minimum,
  // the minimum is at least `overfit_min_epochs_after` epochs before the end, and the training
  // loss kept falling after it (Goodfellow et al., Deep Learning, 2016, §7.8: the U-shaped
  // validation curve; Keras EarlyStopping(monitor="val_loss") uses the same signal).
  double overfit_val_rise = 0.10;
  int overfit_min_epochs_after = 2;
  // ... and the rise is at least this many nats x ln K (classification) or this fraction of the
  // minimum (regression): a tiny validation loss going 0.02 -> 0.03 is noise, not overfitting.
  double overfit_min_abs_rise = 0.05;
  // Widening gap: (val_loss - loss) at the end is this multiple of the training loss, and grew
  // by at least `overfit_gap_growth` of the final validation loss since the first epoch.
  double overfit_gap_ratio = 1.0;
  double overfit_gap_growth = 0.25;
  // ... and the gap is at least this many nats x ln K (a gap of 0.05 nats on an easy data set is
  // not overfitting).
  double overfit_min_gap = 0.10;
  // Underfitting (classification): the final training cross-entropy is above this fraction of
  // chance level ln(K) (Deep Learning Tuning Playbook: "the training loss is not decreasing
  // enough"), the train–validation gap is below `underfit_close` of the training loss, and the
  // loss is flat: the last half of the epochs improved it by less than `underfit_flat`.
  double underfit_loss_of_chance = 0.40;
  double underfit_close = 0.25;
  double underfit_flat = 0.30;
  int underfit_min_epochs = 3;  // "flat" needs a curve
  // Diverging / not learning: NaN or Inf (Lightning's detect_anomaly / terminate_on_nan), the
  // training loss ends `diverge_rise` above its first epoch, or stays at chance level
  // (>= `stuck_of_chance` x ln K in every epoch: dead units, a rate far too high).
  double diverge_rise = 0.10;
  double stuck_of_chance = 0.90;
  // A learning rate "far off" (evidence beside a loss symptom): Adam-family above this, SGD above
  // `sgd_lr_high` (Kingma & Ba use 1e-3; the Playbook searches Adam's rate in [1e-5, 1e-1]).
  double adam_lr_high = 0.03;
  double sgd_lr_high = 1.0;
  // Slow training: batches this small (or smaller) on a training set of `slow_min_samples`
  // (per-sample GEMMs are matrix-vector products; the Playbook: the largest batch the hardware
  // supports), threads above the cores, the profile's data share above `slow_data_share`
  // (PyTorch profiler's "DataLoader bottleneck" heuristic), an epoch `slow_outlier` x the median.
  int64_t slow_batch = 4;
  int64_t slow_min_samples = 256;
  double slow_data_share = 0.30;
  double slow_outlier = 5.0;
  double slow_outlier_min_s = 1.0;
  // Memory: the peak against the budget (over when peak > budget).
};

enum class FindingKind { kOverfitting, kUnderfitting, kDiverging, kSlow, kMemory };
const char* finding_name(FindingKind kind);  // "overfitting", "underfitting", "diverging", "slow", "memory"
std::vector<FindingKind> all_finding_kinds();

// One change to make: a config knob ("train.lr", "model.layers[1].units", "train.augment.flip"),
// the direction ("down", "up", "on", "set 2", ...) and why.
struct Remedy {
  std::string knob, direction, why;
};

struct Finding {
  FindingKind kind = FindingKind::kOverfitting;
  std::string severity;                // "critical" (diverging, over budget) or "warning"
  std::string summary;                 // one line
  std::vector<std::string> evidence;   // the epochs and numbers that show it
  std::vector<Remedy> remedies;
  nlohmann::json to_json() const;
};

// What the doctor reads: a run's config, its per-epoch history and summary, and the profile when
// there is one.
struct RunRecord {
  nlohmann::json config;                // the run config (JSON of config.toml)
  std::vector<Logs> history;            // per epoch ("loss", "val_loss", "accuracy", "time_s", ...)
  std::string stop_reason;              // "", "early_stopping", "diverged", ...
  double train_seconds = 0;
  int64_t peak_bytes = 0;               // measured tensor high-water mark (metrics.json)
  int64_t num_params = 0;
  int num_classes = 0;                  // 0: regression or unknown
  int64_t train_samples = 0;            // 0: unknown
  nlohmann::json profile;               // profile.json (hone train --profile), or null
};

// Reads DIR/config.toml, history.json, metrics.json, profile.json (optional) and the class count
// from model.hone. Throws Error(kInvalidArgument or kIoError) naming the missing file.
RunRecord load_run_dir(const std::string& dir);
// The record of a run trained in this process.
RunRecord record_run(const nlohmann::json& config, const DataSplits& data, const RunResult& result);

struct DiagnoseOptions {
  int64_t memory_budget = 0;            // bytes; 0: no memory check against a budget
  int cores = 0;                        // 0: available_cores()
  DiagnoseThresholds thresholds{};
};

// The findings of a run; none for a healthy run. Diverging hides the curve findings it causes.
std::vector<Finding> diagnose(const RunRecord& run, const DiagnoseOptions& options = {});
bool has_finding(const std::vector<Finding>& findings, FindingKind kind);

// Text (one block per finding: summary, evidence, remedies) and JSON ({"findings": [...]}).
std::string format_findings(const std::vector<Finding>& findings);
nlohmann::json findings_json(const std::vector<Finding>& findings);

// "512MiB", "2G", "1.5GB", "1000000" -> bytes (K/M/G/T: powers of 1024; a trailing B or iB is
// optional). Throws Error(kInvalidArgument) naming `what`.
int64_t parse_size(const std::string& text, const std::string& what = "size");

// ------------------------------------------------------------------------------ --fix

struct FixOptions {
  int trials = 20;                      // the study's budget
  uint64_t seed = 0;
  int64_t memory_budget = 0;            // as DiagnoseOptions
  // true: the doctor's study (TPE over ranges that move each knob in its remedy's direction, the
  // objective ranks runs without the targeted findings first). false: the baseline of bench/ —
  // random search over the same knobs in two-sided ranges, ranked by the metric alone.
  bool directed = true;
  LogSink log{};                        // one line per trial; may be null
};

struct RunSummary {
  double metric = 0;                    // val_accuracy (classification) or -val_loss, last epoch
  std::vector<Finding> findings;
  double train_seconds = 0;
  int64_t peak_bytes = 0;
  nlohmann::json to_json() const;
};

struct FixResult {
  std::string metric_name;              // "val_accuracy" or "-val_loss"
  RunSummary before, after;
  nlohmann::json fixed_config;          // the original config with the best trial's knob values
  nlohmann::json changes;               // {knob: value} of the fixed config
  std::vector<std::string> knobs;       // searched
  std::vector<FindingKind> targeted;    // the findings the study fixes
  std::vector<std::string> tradeoffs;   // "memory fixed, val_accuracy 0.91 -> 0.85", ...
  bool repaired = false;                // every targeted finding gone and the metric not worse
  int trials = 0;
  nlohmann::json to_json() const;
};

// Runs the study over the knobs `findings` name on `config` and `data`. `before` is the original
// run (its record). Throws Error(kInvalidArgument) when no finding names a knob the study can move.
FixResult fix_run(const nlohmann::json& config, const DataSplits& data, const RunRecord& before,
                  const std::vector<Finding>& findings, const FixOptions& options = {});
std::string format_fix(const FixResult& fix);

}  // namespace hone
