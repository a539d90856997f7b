// `hone doctor --fix`: a small study over exactly the knobs the findings name (hone's own Study,
// TPE), the run before and after, and what the fix cost.
#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "diagnose/knobs.h"
#include "hone/diagnose.h"
#include "hone/error.h"
#include "hone/threads.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"

namespace hone {

namespace {

// One searched knob: a float (log or not), an int, or a choice.
struct Knob {
  std::string name;
  enum { kFloat, kInt, kChoice } type = kFloat;
  double low = 0, high = 0;
  bool log = false;
  std::vector<std::string> choices;
};

double metric_of(const std::vector<Logs>& h, bool classification) {
  for (auto it = h.rbegin(); it != h.rend(); ++it) {
    const char* key = classification ? "val_accuracy" : "val_loss";
    auto v = it->find(key);
    if (v == it->end()) v = it->find(classification ? "accuracy" : "loss");
    if (v == it->end() || !std::isfinite(v->second)) continue;
    return classification ? v->second : -v->second;
  }
  return std::nan("");
}

void add(std::vector<Knob>& ks, Knob k) {
  if (k.type != Knob::kChoice && !(k.high > k.low)) return;  // nothing to search
  for (auto& o : ks)
    if (o.name == k.name) return;  // the first finding (diverging before the others) sets the range
  ks.push_back(std::move(k));
}

// Data augmentation against overfitting (hone/augment.h), each from its current value (0: off)
// up: on images (N, C, H, W) shift, flip and cutout (the geometric ones that keep the label; rotate
// is left out: its bilinear warp costs a trial several times shift's, for the same kind of
// variation) and mixup; on any other data Gaussian noise (the features are scaled) and mixup.
void augment_knobs(const nlohmann::json& cfg, bool images, std::vector<Knob>& ks) {
  auto cur = [&](const char* k) {
    const nlohmann::json v = get_knob(cfg, std::string("train.augment.") + k);
    return v.is_number() ? v.get<double>() : 0.0;
  };
  if (images) {
    add(ks, {"train.augment.shift", Knob::kInt, cur("shift"), std::max(3.0, cur("shift")), false, {}});
    if (!get_knob(cfg, "train.augment.flip").is_boolean() || !get_knob(cfg, "train.augment.flip").get<bool>())
      add(ks, {"train.augment.flip", Knob::kChoice, 0, 0, false, {"false", "true"}});
    add(ks, {"train.augment.cutout", Knob::kInt, cur("cutout"), std::max(12.0, cur("cutout")), false, {}});
  } else {
    add(ks, {"train.augment.noise", Knob::kFloat, cur("noise"), std::max(0.3, cur("noise")), false, {}});
  }
  add(ks, {"train.augment.mixup", Knob::kFloat, cur("mixup"), std::max(0.4, cur("mixup")), false, {}});
}

// The knobs of `findings` with ranges in their remedies' directions (directed) or two-sided.
std::vector<Knob> search_knobs(const nlohmann::json& cfg, const std::vector<Finding>& findings, bool directed, int cores,
                               bool images) {
  std::vector<Knob> ks;
  const nlohmann::json train = cfg.value("train", nlohmann::json::object());
  double lr = learning_rate(cfg);
  if (!(lr > 0)) lr = 1e-3;
  const double l2 = train.value("l2", 0.0);
  const int64_t batch = train.value("batch_size", int64_t{32});
  const int threads = train.value("threads", 1);
  const int64_t epochs = train.value("epochs", int64_t{10});
  const int64_t eval_batch = train.value("eval_batch_size", int64_t{1024});
  auto widths = [&](double down, double up) {
    for (auto& k : width_knobs(cfg)) {
      const nlohmann::json v = get_knob(cfg, k);
      if (!v.is_number_integer()) continue;  // list shorthands are not searched
      const double w = v.get<double>();
      add(ks, {k, Knob::kInt, std::max(1.0, std::floor(w * down)), std::ceil(w * up), true, {}});
    }
  };
  auto dropouts = [&](char dir) {  // '+': [rate, 0.7], '-': [0, rate]; undirected: [0, 0.7]
    for (auto& k : dropout_knobs(cfg)) {
      const nlohmann::json v = get_knob(cfg, k);
      const double r = v.is_number() ? v.get<double>() : 0.0;
      add(ks, {k, Knob::kFloat, directed && dir == '+' ? r : 0.0, directed && dir == '-' ? r : 0.7, false, {}});
    }
  };
  for (auto& f : findings) {
    switch (f.kind) {
      case FindingKind::kDiverging:
        add(ks, {"train.lr", Knob::kFloat, lr * 1e-3, directed ? lr * 0.3 : std::min(1.0, lr * 1e3), true, {}});
        break;
      case FindingKind::kUnderfitting:
        add(ks, {"train.lr", Knob::kFloat, directed ? lr * 2 : lr * 1e-3, directed ? std::min(0.3, lr * 300) : std::min(1.0, lr * 1e3), true, {}});
        widths(directed ? 1.0 : 1.0 / 16, 4.0);
        if (l2 > 0) add(ks, {"train.l2", Knob::kFloat, l2 * 1e-3, directed ? l2 : 0.1, true, {}});
        dropouts('-');
        break;
      case FindingKind::kOverfitting:
        add(ks, {"train.l2", Knob::kFloat, directed ? std::max(l2, 1e-5) : 1e-6, 0.1, true, {}});
        dropouts('+');
        widths(1.0 / 16, directed ? 1.0 : 4.0);
        add(ks, {"train.epochs", Knob::kInt, 2.0, static_cast<double>(directed ? epochs : epochs * 2), false, {}});
        if (!get_knob(cfg, "train.early_stopping").is_object())
          add(ks, {"train.early_stopping", Knob::kChoice, 0, 0, false, {"off", "on"}});
        augment_knobs(cfg, images, ks);
        break;
      case FindingKind::kSlow:
        add(ks, {"train.batch_size", Knob::kInt, directed ? std::max<double>(16, batch) : 1.0, 256, true, {}});
        // a larger batch takes fewer steps: the rate goes up with it (Goyal et al., 2017)
        add(ks, {"train.lr", Knob::kFloat, directed ? lr : lr * 1e-3, directed ? std::min(0.3, lr * 64) : std::min(1.0, lr * 1e3), true, {}});
        if (threads > cores)
          add(ks, {"train.threads", Knob::kInt, 1, static_cast<double>(directed ? cores : threads), false, {}});
        break;
      case FindingKind::kMemory:
        add(ks, {"train.batch_size", Knob::kInt, directed ? std::max<double>(1, batch / 16) : 1.0,
                 directed ? static_cast<double>(batch) : 256, true, {}});
        add(ks, {"train.eval_batch_size", Knob::kInt, 16, directed ? static_cast<double>(eval_batch) : 4096, true, {}});
        widths(1.0 / 16, directed ? 1.0 : 4.0);
        add(ks, {"train.optimizer.type", Knob::kChoice, 0, 0, false, {"sgd", optimizer_type(cfg)}});
        break;
    }
  }
  return ks;
}

}  // namespace

nlohmann::json RunSummary::to_json() const {
  return {{"metric", std::isfinite(metric) ? nlohmann::json(metric) : nlohmann::json()},
          {"findings", findings_json(findings)["findings"]},
          {"train_seconds", train_seconds},
          {"peak_bytes", peak_bytes}};
}

nlohmann::json FixResult::to_json() const {
  nlohmann::json t = nlohmann::json::array();
  for (auto k : targeted) t.push_back(finding_name(k));
  return {{"metric", metric_name}, {"before", before.to_json()}, {"after", after.to_json()},
          {"changes", changes},    {"knobs", knobs},               {"targeted", t},
          {"tradeoffs", tradeoffs}, {"repaired", repaired},        {"trials", trials},
          {"fixed_config", fixed_config}};
}

FixResult fix_run(const nlohmann::json& config, const DataSplits& data, const RunRecord& before,
                  const std::vector<Finding>& findings, const FixOptions& options) {
  if (options.trials < 1) throw_invalid("fix: the trial budget must be at least 1");
  const int cores = available_cores();
  DiagnoseOptions dopt;
  dopt.memory_budget = options.memory_budget;
  dopt.cores = cores;
  const bool images = data.train.x.ndim() == 4;  // (N, C, H, W)
  std::vector<Knob> knobs = search_knobs(config, findings, options.directed, cores, images);
  if (knobs.empty()) throw_invalid("fix: no finding names a knob the study can move (see the remedies to change by hand)");

  const bool classification = data.train.is_classification();
  FixResult res;
  res.metric_name = classification ? "val_accuracy" : "-val_loss";
  for (auto& k : knobs) res.knobs.push_back(k.name);
  for (auto& f : findings) res.targeted.push_back(f.kind);
  res.before = {metric_of(effective_history(config, before.history, before.stop_reason), classification), findings, before.train_seconds, before.peak_bytes};

  std::mutex mu;
  std::map<int64_t, std::pair<nlohmann::json, RunSummary>> runs;  // trial number -> config, outcome
  auto objective = [&](Trial& t) {
    nlohmann::json cfg = config;
    for (auto& k : knobs) {
      if (k.name.rfind("train.augment.", 0) == 0 && !get_knob(cfg, "train.augment").is_object())
        cfg["train"]["augment"] = nlohmann::json::object();  // `augment = false` or unset: all off
      if (k.name == "train.augment.flip") {
        set_knob(cfg, k.name, t.suggest_categorical(k.name, k.choices) == "true");
        continue;
      }
      if (k.type == Knob::kFloat) set_knob(cfg, k.name, t.suggest_float(k.name, k.low, k.high, {.log = k.log}));
      else if (k.type == Knob::kInt)
        set_knob(cfg, k.name, t.suggest_int(k.name, static_cast<int64_t>(k.low), static_cast<int64_t>(k.high), {.log = k.log}));
      else if (k.name == "train.early_stopping") {  // on: the remedy's setting; off: as the run had it
        if (t.suggest_categorical(k.name, k.choices) == "on")
          set_knob(cfg, k.name, {{"monitor", "val_loss"}, {"patience", 3}, {"restore_best_weights", true}});
      } else {
        set_knob(cfg, k.name, t.suggest_categorical(k.name, k.choices));
      }
    }
    RunResult r = train_model(cfg, data, RunHooks{});
    RunRecord rec = record_run(cfg, data, r);
    RunSummary s{metric_of(effective_history(cfg, rec.history, rec.stop_reason), classification), diagnose(rec, dopt), rec.train_seconds, rec.peak_bytes};
    double score = std::isfinite(s.metric) ? s.metric : -1e3;
    if (options.directed)
      for (auto& f : s.findings) score -= has_finding(findings, f.kind) ? 10.0 : 1.0;
    if (options.log)
      options.log(fmt::format("trial {}: {} {:.4f}, {} finding(s)", t.number(), res.metric_name, s.metric, s.findings.size()));
    std::lock_guard<std::mutex> lock(mu);
    runs[t.number()] = {cfg, s};
    return score;
  };
  StudyOptions so;
  so.direction = Direction::kMaximize;
  so.seed = options.seed;
  so.sampler = make_sampler(options.directed ? nlohmann::json{{"type", "tpe"}, {"n_startup_trials", std::min(options.trials / 2, 8)}}
                                             : nlohmann::json{{"type", "random"}},
                            options.seed);
  so.pruner = make_pruner({{"type", "nop"}});
  auto study = create_study(so);
  OptimizeOptions oo;
  oo.n_trials = options.trials;
  study->optimize(objective, oo);
  res.trials = static_cast<int>(runs.size());
  if (runs.empty()) throw_runtime("fix: every trial of the study failed");
  const FrozenTrial best = study->best_trial();
  auto it = runs.find(best.number);
  if (it == runs.end()) throw_runtime("fix: the best trial has no recorded run");
  res.fixed_config = it->second.first;
  res.after = it->second.second;
  for (auto& k : knobs) res.changes[k.name] = get_knob(res.fixed_config, k.name);

  bool gone = true;
  for (auto& f : findings)
    if (has_finding(res.after.findings, f.kind)) gone = false;
  const bool before_ok = std::isfinite(res.before.metric);
  const bool not_worse = !before_ok || (std::isfinite(res.after.metric) && res.after.metric >= res.before.metric - 0.01);
  res.repaired = gone && not_worse;
  if (gone && !not_worse)
    res.tradeoffs.push_back(fmt::format("the findings are gone but {} fell: {:.4f} -> {:.4f}", res.metric_name,
                                        res.before.metric, res.after.metric));
  for (auto& f : res.after.findings)
    if (!has_finding(findings, f.kind))
      res.tradeoffs.push_back(fmt::format("a new finding: {} ({})", finding_name(f.kind), f.summary));
  if (res.after.train_seconds > 2 * res.before.train_seconds + 0.5)
    res.tradeoffs.push_back(fmt::format("training time {:.2f}s -> {:.2f}s", res.before.train_seconds, res.after.train_seconds));
  if (res.after.peak_bytes > res.before.peak_bytes * 3 / 2 + (1 << 20))
    res.tradeoffs.push_back(fmt::format("peak memory {:.1f} MiB -> {:.1f} MiB", res.before.peak_bytes / 1048576.0,
                                        res.after.peak_bytes / 1048576.0));
  return res;
}

std::string format_fix(const FixResult& fix) {
  std::string s = fmt::format("fix: {} trials over {}\n", fix.trials, fmt::join(fix.knobs, ", "));
  s += fmt::format("  {:<16} {:>14} {:>14}\n", "", "original", "fixed");
  s += fmt::format("  {:<16} {:>14.4f} {:>14.4f}\n", fix.metric_name, fix.before.metric, fix.after.metric);
  for (auto k : fix.targeted)
    s += fmt::format("  {:<16} {:>14} {:>14}\n", finding_name(k), "present",
                     has_finding(fix.after.findings, k) ? "still there" : "gone");
  s += fmt::format("  {:<16} {:>13.2f}s {:>13.2f}s\n", "training time", fix.before.train_seconds, fix.after.train_seconds);
  s += fmt::format("  {:<16} {:>10.2f} MiB {:>10.2f} MiB\n", "peak memory", fix.before.peak_bytes / 1048576.0,
                   fix.after.peak_bytes / 1048576.0);
  for (auto& [k, v] : fix.changes.items()) s += fmt::format("  set {} = {}\n", k, v.dump());
  for (auto& t : fix.tradeoffs) s += "  trade-off: " + t + "\n";
  s += fix.repaired ? "repaired: every finding gone, the metric not worse\n" : "not repaired\n";
  return s;
}

}  // namespace hone
