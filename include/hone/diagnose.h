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
  // Memory growth across epochs (a leak: something keeps memory each epoch). The history's
  // per-epoch peaks ("mem_peak_bytes": the epoch's tensor high-water mark; "mem_rss_bytes": the
  // process's resident set at the epoch's end): the last epoch's is `mem_growth` above epoch 2's
  // (epoch 1 holds one-time allocations), by at least `mem_growth_min_bytes` (tensors) or
  // `mem_growth_min_rss_bytes` (RSS, which the allocator and other threads move), and the rise is
  // steady: at least `mem_growth_steady` of the epoch-to-epoch steps after epoch 2 go up, over at
  // least `mem_growth_min_epochs` epochs. A run whose memory is flat logs the same peak each epoch.
  double mem_growth = 0.20;
  int64_t mem_growth_min_bytes = 1 << 20;
  int64_t mem_growth_min_rss_bytes = 32 << 20;
  double mem_growth_steady = 0.75;
  int mem_growth_min_epochs = 4;
  // Dead ReLU units (not learning): a ReLU layer where more than `dead_share` of the units output
  // zero for every probe sample (CS231n, "Commonly used activation functions": with a rate set too
  // high "as much as 40% of your network can be dead"; Lu et al., 2019, "Dying ReLU and
  // Initialization"). Half is above what healthy runs show (docs/DOCTOR.md: the suite's healthy
  // runs have at most a few percent), and layers narrower than `dead_min_units` are not judged (2
  // of 3 units is a bottleneck, not a dying layer).
  double dead_share = 0.50;
  int64_t dead_min_units = 16;
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

// The ReLU units of one layer that output zero for every sample of a probe. A unit is an output
// feature, or a channel of an image-shaped output (C, H, W): dead when zero at every position.
struct DeadUnits {
  int layer = 0;                        // index in model.layers of the relu layer
  int64_t dead = 0, total = 0;
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
  // Per relu layer, measured on a probe of the run's data with the final model (record_run;
  // probe_run_dir for a run directory). Empty: not measured.
  std::vector<DeadUnits> dead_units;
  int64_t probe_samples = 0;
};

// Reads DIR/config.toml, history.json, metrics.json, profile.json (optional) and the class count
// from model.hone. Throws Error(kInvalidArgument or kIoError) naming the missing file.
RunRecord load_run_dir(const std::string& dir);
// The record of a run trained in this process.
RunRecord record_run(const nlohmann::json& config, const DataSplits& data, const RunResult& result);

// Runs `max_samples` rows of `probe` (its first ones) through `model` in inference mode and counts,
// per relu layer, the units that are zero for all of them. Empty for a model without relu layers
// or an empty probe.
std::vector<DeadUnits> count_dead_units(Model& model, const Dataset& probe, int64_t max_samples = 256);
// Loads DIR/model.hone and fills run.dead_units (and probe_samples) from a probe of `data`: its
// validation split, else its training split. Returns false (run unchanged) when DIR has no
// model.hone or the model does not take the data; throws Error for a corrupt model file.
bool probe_run_dir(RunRecord& run, const std::string& dir, const DataSplits& data);

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

// `hone doctor CONFIG` trains the config briefly before diagnosing it: `config` with train.epochs
// capped at `max_epochs` (kept when it is lower; train.epochs unset counts as 10). `full_epochs`,
// when not null, receives the config's own epoch count. REQUIRES: max_epochs >= 1.
nlohmann::json brief_config(const nlohmann::json& config, int64_t max_epochs, int64_t* full_epochs = nullptr);
// The default cap of `hone doctor CONFIG` (--epochs): enough epochs for a validation curve to turn
// up (overfitting needs its minimum >= 2 epochs before the end) at a few seconds on small data.
inline constexpr int64_t kDoctorBriefEpochs = 10;

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
