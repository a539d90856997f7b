#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <thread>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/objective.h"
#include "hone/threads.h"
#include "hone/tune/search_space.h"

namespace hone {

namespace {

// Reports a step: the monitored metric (one objective), or every objective's value at that step
// (several: NaN for those known only at the end, e.g. latency), for the pruner.
void report_step(Trial& trial, const std::vector<std::string>& objectives, const Logs& logs, int64_t step) {
  if (objectives.size() == 1) {
    trial.report(logs.at(objectives[0]), step);
    return;
  }
  std::vector<double> v;
  for (const auto& o : objectives) {
    auto it = logs.find(o);
    v.push_back(it == logs.end() ? NAN : it->second);
  }
  trial.report(v, step);
}

// Reports the monitored metric each epoch and stops training when the pruner says so.
class PruningCallback : public Callback {
 public:
  PruningCallback(Trial& t, std::string metric, const std::vector<std::string>& objectives, int64_t step_offset)
      : trial_(t), metric_(std::move(metric)), objectives_(objectives), offset_(step_offset) {}
  bool on_epoch_end(Trainer&, int epoch, Logs& logs) override {
    auto it = logs.find(metric_);
    if (it == logs.end()) {
      std::string known;
      for (auto& [k, v] : logs) known += (known.empty() ? "" : ", ") + k;
      throw_invalid("study.metric: \"" + metric_ + "\" is not among the epoch's metrics (" + known + ")");
    }
    report_step(trial_, objectives_, logs, offset_ + epoch);
    const auto asked = std::chrono::steady_clock::now();
    // The training loss per epoch, for the diagnosis pruner (written before it is asked; other
    // pruners do not read it, so their studies do not pay the write).
    if (auto loss = logs.find("loss"); loss != logs.end() && trial_.study().pruner().name().rfind("diagnosis", 0) == 0) {
      train_loss_.push_back(loss->second);
      trial_.set_system_attr("hone:train_loss", train_loss_);
    }
    const bool prune = trial_.should_prune();
    prune_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
    if (prune) {
      pruned_ = true;
      return true;
    }
    return false;
  }
  bool pruned() const { return pruned_; }
  // Time spent asking the pruner, for measuring its overhead (bench/diagnosis_pruner.sh).
  void on_train_end(Trainer&) override { trial_.set_system_attr("hone:prune_seconds", prune_seconds_); }

 private:
  Trial& trial_;
  std::string metric_;
  const std::vector<std::string>& objectives_;
  int64_t offset_;
  bool pruned_ = false;
  std::vector<double> train_loss_;
  double prune_seconds_ = 0;
};

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

nlohmann::json strip_study(nlohmann::json c) {
  c.erase("study");
  return c;
}

void record_run(Trial& t, const RunResult& r) {
  t.set_user_attr("train_seconds", r.train_seconds);
  t.set_user_attr("peak_tensor_bytes", r.peak_tensor_bytes);
  t.set_user_attr("epochs", static_cast<int64_t>(r.history.rows.size()));
  t.set_user_attr("num_params", r.num_params);
  if (!r.test.empty()) t.set_user_attr("test", nlohmann::json(r.test));
  if (!r.stop_reason.empty()) t.set_user_attr("stop_reason", r.stop_reason);
}

// A baseline trial (enqueued with user attr "baseline") also keeps its per-epoch history, the
// class count and the training-set size: what the doctor's rules read (hone/diagnose.h), so that
// `hone plan` diagnoses its baseline without training it again. Other trials do not pay for it.
void record_history_of_baseline(Trial& t, const RunResult& r, const DataSplits& data) {
  if (!t.frozen().user_attrs.count("baseline")) return;
  t.set_user_attr("history", nlohmann::json{{"rows", r.history.to_json()},
                                            {"num_classes", data.train.num_classes},
                                            {"train_samples", data.train.size()}});
}

// The median wall time of one inference forward pass of `batch` samples (rows of `d`, repeated
// when it has fewer), in milliseconds: one warm-up pass, then at least 5 passes and 10 ms, at
// most 200 passes or 0.5 s.
double latency_ms(Model& model, const Dataset& d, int64_t batch) {
  if (d.size() == 0) return NAN;
  std::vector<int64_t> rows(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) rows[static_cast<size_t>(i)] = i % d.size();
  Tensor x;
  x.copy_rows_from(d.x, rows.data(), batch);
  using Clock = std::chrono::steady_clock;
  model.forward(x, false);
  std::vector<double> ms;
  const auto start = Clock::now();
  for (;;) {
    const auto t0 = Clock::now();
    model.forward(x, false);
    const auto t1 = Clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    const double total = std::chrono::duration<double>(t1 - start).count();
    if ((ms.size() >= 5 && total >= 0.01) || ms.size() >= 200 || total >= 0.5) break;
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
}

// The size of the model file `hone train` writes for this run (weights, config, data metadata).
int64_t model_file_bytes(const RunResult& r, const nlohmann::json& run, const DataSplits& data, int64_t trial) {
  namespace fs = std::filesystem;
  const fs::path path = fs::temp_directory_path() /
                        ("hone-size-" + std::to_string(::getpid()) + "-" + std::to_string(trial) + "-" +
                         std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())) + ".hone");
  nlohmann::json meta = data.meta;
  meta["config"] = run;
  meta["test"] = r.test;
  meta["seed"] = run.value("seed", 0);
  r.model.save(path.string(), meta);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  fs::remove(path, ec);
  return static_cast<int64_t>(size);
}

// The efficiency metrics of one trained run (hone/objective.h), measured on `latency_data`.
Logs efficiency(RunResult& r, const nlohmann::json& run, const DataSplits& data, const Dataset& latency_data,
                int64_t trial) {
  Logs m;
  m["train_seconds"] = r.train_seconds;
  const double samples = static_cast<double>(r.history.rows.size()) * static_cast<double>(data.train.size());
  m["seconds_per_sample"] = samples > 0 ? r.train_seconds / samples : NAN;
  m["peak_memory_mb"] = static_cast<double>(r.peak_tensor_bytes) / (1024.0 * 1024.0);
  m["n_params"] = static_cast<double>(r.num_params);
  {
    const nlohmann::json train = run.value("train", nlohmann::json::object());
    const nlohmann::json th = train.is_object() ? train.value("threads", nlohmann::json(1)) : nlohmann::json(1);
    ThreadScope threads(clamp_threads(th.is_number_integer() ? th.get<int64_t>() : 1));
    m["latency_ms_b1"] = latency_ms(r.model, latency_data, 1);
    m["latency_ms_b64"] = latency_ms(r.model, latency_data, 64);
  }
  m["model_size_bytes"] = static_cast<double>(model_file_bytes(r, run, data, trial));
  return m;
}

void record_metrics(Trial& t, const Logs& m) {
  for (auto& [k, v] : m)
    if (is_efficiency_metric(k) && k != "train_seconds") t.set_user_attr(k, v);
}

// Early stopping put back the weights of an epoch that the history holds.
bool restored_an_epoch(const RunResult& r) {
  return r.restored_best && r.best_epoch >= 0 && r.best_epoch < static_cast<int>(r.history.rows.size());
}

// A run that diverged fails the trial, unless early stopping put the best epoch's weights back:
// the model the run returns is then the finite one of that epoch, as a Keras user's
// model.evaluate() after fit(callbacks=[EarlyStopping(restore_best_weights=True), TerminateOnNaN()])
// sees it, and Optuna completes a trial whose objective returns a finite value. The trial then
// completes with that epoch's metrics and carries user attrs "diverged_at_epoch" (1-based: the
// epoch whose loss was not finite) and "restored_epoch" (1-based).
void check_outcome(Trial& t, const RunResult& r) {
  if (r.interrupted) throw Error(ErrorKind::kInterrupted, "interrupted");
  if (!r.diverged) {
    if (restored_an_epoch(r)) t.set_user_attr("restored_epoch", static_cast<int64_t>(r.best_epoch) + 1);
    return;
  }
  if (!restored_an_epoch(r)) throw_runtime("training diverged (the loss became NaN or infinite)");
  t.set_user_attr("diverged_at_epoch", static_cast<int64_t>(r.history.rows.size()) + 1);
  t.set_user_attr("restored_epoch", static_cast<int64_t>(r.best_epoch) + 1);
}

// The epoch whose metrics describe the run's final model: the restored one whenever early stopping put
// the best epoch's weights back (after a divergence, an early stop, a time limit or the last epoch: the
// model, its test metrics and its file are that epoch's, as Keras's model.evaluate() after fit sees
// them), else the last.
const Logs& final_logs(const RunResult& r) {
  return restored_an_epoch(r) ? r.history.rows[static_cast<size_t>(r.best_epoch)] : r.history.rows.back();
}

}  // namespace

TrainingObjective::TrainingObjective(nlohmann::json config, const DataSplits& data, ObjectiveOptions options)
    : config_(std::move(config)), data_(data), opt_(std::move(options)) {
  objectives_ = opt_.objectives.empty() ? std::vector<std::string>{opt_.metric} : opt_.objectives;
  for (auto& o : objectives_) o = canonical_metric_name(o);
  // The config key naming objective i, for error messages.
  auto key = [&](size_t i) {
    return opt_.objectives.empty() ? std::string("study.metric") : "study.objectives[" + std::to_string(i) + "].metric";
  };
  if (opt_.cv_folds == 1 || opt_.cv_folds < 0) throw_invalid("study.cv.folds must be 0 (off) or >= 2");
  // Every metric an objective or a constraint names, with its config key: checked below.
  std::vector<std::pair<std::string, std::string>> wanted;
  for (size_t i = 0; i < objectives_.size(); ++i) wanted.emplace_back(objectives_[i], key(i));
  for (size_t i = 0; i < opt_.constraints.size(); ++i)
    wanted.emplace_back(opt_.constraints[i].metric,
                        "study.constraints[" + std::to_string(i) + "] (\"" + opt_.constraints[i].text + "\")");
  // The per-epoch (pruning) metric: the first objective, when every epoch logs it.
  report_metric_ = is_efficiency_metric(objectives_[0]) ? "" : objectives_[0];
  if (opt_.cv_folds > 0) {
    const Dataset& all = data_.train;
    try {
      if (all.is_classification() && opt_.stratified) stratified_kfold(all.y, opt_.cv_folds, opt_.shuffle, opt_.seed);
      else kfold(all.size(), opt_.cv_folds, opt_.shuffle, opt_.seed);
    } catch (const Error& e) {
      throw_invalid("study.cv.folds = " + std::to_string(opt_.cv_folds) + ": " + e.what());
    }
    const std::vector<std::string> known = metric_names();
    for (const auto& [m, where] : wanted)
      if (!is_efficiency_metric(m) && m != "loss" && m != "acc" && m != "macro_f1" &&
          std::find(known.begin(), known.end(), m) == known.end())
        throw_invalid(where + ": \"" + m + "\" cannot be scored on the held-out folds (known: loss, " +
                      join_names(known) + ", " + join_names(efficiency_metric_names()) + ")");
  }
  DataSplits fold;  // with CV the runs train on (folds of) the training data alone
  if (opt_.cv_folds > 0) {
    const int64_t first = 0;
    fold.train = data_.train.subset({first});
  }
  for (const auto& run : probe_configs(config_)) {
    const std::vector<std::string> keys = check_run_on_data(run, opt_.cv_folds > 0 ? fold : data_);
    if (opt_.cv_folds > 0) continue;
    for (const auto& [m, where] : wanted) {
      if (is_efficiency_metric(m) || std::find(keys.begin(), keys.end(), m) != keys.end()) continue;
      const bool test = m.rfind("test_", 0) == 0 &&
                        std::find(keys.begin(), keys.end(), m.substr(5)) != keys.end();
      if (test && data_.test.size()) continue;
      if (test)
        throw_invalid(where + ": \"" + m + "\" needs a test set (data.test or data.test_fraction)");
      throw_invalid(where + ": \"" + m + "\" is not among the metrics every epoch logs (" + join_names(keys) +
                    "), test_<metric>, or the measured ones (" + join_names(efficiency_metric_names()) +
                    "; add it to train.metrics, or set data.validation_fraction for val_ ones)");
    }
  }
}

std::vector<nlohmann::json> probe_configs(const nlohmann::json& config, const nlohmann::json& baseline) {
  const std::vector<FoundDistribution> dists = find_distributions(config);
  size_t points = 1;
  for (const auto& d : dists)
    if (d.distribution.is_categorical()) points = std::max(points, d.distribution.n_choices());
  points = std::min<size_t>(points, 32);
  std::vector<nlohmann::json> out;
  auto at = [&](const nlohmann::json& params) {
    auto study = create_study({.sampler = make_sampler({{"type", "random"}})});
    study->enqueue_trial(params);
    Trial t = study->ask();
    return strip_study(instantiate(config, t));
  };
  if (baseline.is_object()) {
    try {
      out.push_back(at(baseline));
    } catch (const Error& e) {
      throw_invalid(std::string("study.baseline: ") + e.what());
    }
  }
  for (size_t i = 0; i < points; ++i) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& d : dists) {
      const Distribution& dist = d.distribution;
      if (params.contains(d.name)) continue;  // the same name in two branches: the first one's
      params[d.name] = dist.is_categorical() ? dist.choices()[std::min(i, dist.n_choices() - 1)]
                                             : dist.to_external(dist.low());
    }
    out.push_back(at(params));
  }
  return out;
}

std::vector<double> TrainingObjective::values(Trial& trial) {
  return objective_values(trial, measure(trial), objectives_, opt_.constraints);
}

double TrainingObjective::operator()(Trial& trial) {
  if (objectives_.size() != 1)
    throw_invalid("the study has " + std::to_string(objectives_.size()) + " objectives: use values()");
  return values(trial)[0];
}

std::map<std::string, double> TrainingObjective::measure(Trial& trial) {
  nlohmann::json run = strip_study(instantiate(config_, trial));
  {
    std::lock_guard<std::mutex> lock(mu_);
    configs_[trial.number()] = run;
  }
  RunHooks hooks;
  hooks.stop = opt_.stop;
  hooks.log = opt_.log;

  if (opt_.cv_folds == 0) {
    std::shared_ptr<PruningCallback> prune;
    if (!report_metric_.empty()) {
      prune = std::make_shared<PruningCallback>(trial, report_metric_, objectives_, 0);
      hooks.callbacks.push_back(prune);
    }
    RunResult r = train_model(run, data_, hooks);
    record_run(trial, r);
    record_history_of_baseline(trial, r, data_);
    check_outcome(trial, r);
    if (prune && prune->pruned()) throw TrialPruned();
    if (r.history.rows.empty()) throw_runtime("no epoch completed");
    Logs m = final_logs(r);
    for (auto& [k, v] : r.test) m["test_" + k] = v;
    Logs eff = efficiency(r, run, data_, data_.val.size() ? data_.val : data_.train, trial.number());
    record_metrics(trial, eff);
    m.insert(eff.begin(), eff.end());
    if (opt_.objectives.empty() && !m.count(opt_.metric))
      throw_invalid("study.metric: \"" + opt_.metric + "\" was not recorded");
    return m;
  }

  // Cross-validation: one model per fold on the training data; the score is the metric on the
  // held-out fold, as GridSearchCV's split<i>_test_score. Several objectives: each scored metric is
  // the mean over the folds; times the mean fit, memory the largest fold's, the model's size,
  // parameters and latency those of the last fold's model.
  const Dataset& all = data_.train;
  nlohmann::json& tm = run["train"]["metrics"];
  if (!tm.is_array()) tm = nlohmann::json::array();
  std::vector<std::string> scored;  // the objectives scored on the held-out folds
  for (const auto& o : objectives_) {
    if (is_efficiency_metric(o)) continue;
    scored.push_back(o);
    // make sure the held-out fold is scored with the study's metric
    if (o != "loss" && std::find(tm.begin(), tm.end(), o) == tm.end()) tm.push_back(o);
  }
  for (const auto& c : opt_.constraints)
    if (!is_efficiency_metric(c.metric) && c.metric != "loss" && std::find(tm.begin(), tm.end(), c.metric) == tm.end())
      tm.push_back(c.metric);
  std::vector<Fold> folds = all.is_classification() && opt_.stratified
                                ? stratified_kfold(all.y, opt_.cv_folds, opt_.shuffle, opt_.seed)
                                : kfold(all.size(), opt_.cv_folds, opt_.shuffle, opt_.seed);
  std::vector<double> scores, fit_times, per_sample;
  Logs sums, eff;
  double peak_mb = 0;
  for (size_t f = 0; f < folds.size(); ++f) {
    DataSplits split;
    split.train = all.subset(folds[f].first);
    split.test = all.subset(folds[f].second);
    split.meta = data_.meta;
    RunResult r = train_model(run, split, hooks);
    check_outcome(trial, r);
    for (auto& [k, v] : r.test) sums[k] += v;
    const std::string& primary = scored.empty() ? opt_.metric : scored[0];
    auto it = r.test.find(primary);
    if (!scored.empty() && it == r.test.end())
      throw_invalid("study.metric: \"" + primary + "\" was not computed on the held-out fold (add it to train.metrics)");
    if (it != r.test.end()) {
      scores.push_back(it->second);
      trial.set_user_attr("split" + std::to_string(f) + "_test_score", it->second);
    }
    fit_times.push_back(r.train_seconds);
    const double samples = static_cast<double>(r.history.rows.size()) * static_cast<double>(split.train.size());
    per_sample.push_back(samples > 0 ? r.train_seconds / samples : NAN);
    peak_mb = std::max(peak_mb, static_cast<double>(r.peak_tensor_bytes) / (1024.0 * 1024.0));
    if (f + 1 == folds.size()) eff = efficiency(r, run, split, split.train, trial.number());
    if (!report_metric_.empty()) {
      Logs running;
      for (auto& [k, v] : sums) running[k] = v / static_cast<double>(f + 1);
      report_step(trial, objectives_, running, static_cast<int64_t>(f));
      if (f + 1 < folds.size() && trial.should_prune()) throw TrialPruned();
    }
  }
  auto mean_of = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / static_cast<double>(v.size());
  };
  const double mean_fit = mean_of(fit_times);
  Logs m = eff;
  for (auto& [k, v] : sums) m[k] = v / static_cast<double>(folds.size());
  m["peak_memory_mb"] = peak_mb;
  m["train_seconds"] = mean_fit;
  m["seconds_per_sample"] = mean_of(per_sample);
  record_metrics(trial, m);
  trial.set_user_attr("train_seconds", mean_fit);
  if (!scores.empty()) {
    double mean = 0, var = 0;
    for (double s : scores) mean += s;
    mean /= static_cast<double>(scores.size());
    for (double s : scores) var += (s - mean) * (s - mean);
    trial.set_user_attr("mean_test_score", mean);
    trial.set_user_attr("std_test_score", std::sqrt(var / static_cast<double>(scores.size())));  // numpy std, ddof=0
    m[scored[0]] = mean;
  }
  trial.set_user_attr("mean_fit_time", mean_fit);
  return m;
}

nlohmann::json TrainingObjective::config_of(int64_t number) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = configs_.find(number);
  if (it == configs_.end()) throw_runtime("no config recorded for trial " + std::to_string(number));
  return it->second;
}

nlohmann::json TrainingObjective::config_for(const nlohmann::json& params) const {
  // Replay the values through a throwaway in-memory study: the enqueued values are exactly what
  // suggest_* returns, so instantiate() rebuilds the trial's config, branches included.
  auto study = create_study({.sampler = make_sampler({{"type", "random"}})});
  study->enqueue_trial(params);
  Trial t = study->ask();
  return strip_study(instantiate(config_, t));
}

nlohmann::json cv_results(const Study& study) {
  std::vector<FrozenTrial> done = study.trials(TrialStates{TrialState::kComplete});
  nlohmann::json rows = nlohmann::json::array();
  std::vector<double> means;
  for (const auto& t : done) {
    nlohmann::json r;
    r["number"] = t.number;
    r["params"] = t.params_json();
    for (auto& [k, v] : t.user_attrs)
      if (k.rfind("split", 0) == 0 || k == "mean_test_score" || k == "std_test_score" || k == "mean_fit_time")
        r[k] = v;
    r["mean_test_score"] = t.value.value_or(NAN);
    means.push_back(t.value.value_or(NAN));
    rows.push_back(r);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    int rank = 1;
    for (size_t j = 0; j < rows.size(); ++j)
      if (study.better(means[j], means[i])) ++rank;
    rows[i]["rank_test_score"] = rank;
  }
  return rows;
}

}  // namespace hone
