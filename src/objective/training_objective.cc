#include <algorithm>
#include <chrono>
#include <cmath>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/objective.h"
#include "hone/tune/search_space.h"

namespace hone {

namespace {

// Reports the monitored metric each epoch and stops training when the pruner says so.
class PruningCallback : public Callback {
 public:
  PruningCallback(Trial& t, std::string metric, int64_t step_offset)
      : trial_(t), metric_(std::move(metric)), offset_(step_offset) {}
  bool on_epoch_end(Trainer&, int epoch, Logs& logs) override {
    auto it = logs.find(metric_);
    if (it == logs.end()) {
      std::string known;
      for (auto& [k, v] : logs) known += (known.empty() ? "" : ", ") + k;
      throw_invalid("study.metric: \"" + metric_ + "\" is not among the epoch's metrics (" + known + ")");
    }
    trial_.report(it->second, offset_ + epoch);
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

void check_outcome(const RunResult& r) {
  if (r.interrupted) throw Error(ErrorKind::kInterrupted, "interrupted");
  if (r.diverged) throw_runtime("training diverged (the loss became NaN or infinite)");
}

}  // namespace

TrainingObjective::TrainingObjective(nlohmann::json config, const DataSplits& data, ObjectiveOptions options)
    : config_(std::move(config)), data_(data), opt_(std::move(options)) {
  if (opt_.cv_folds == 1 || opt_.cv_folds < 0) throw_invalid("study.cv.folds must be 0 (off) or >= 2");
  if (opt_.cv_folds > 0) {
    const Dataset& all = data_.train;
    try {
      if (all.is_classification() && opt_.stratified) stratified_kfold(all.y, opt_.cv_folds, opt_.shuffle, opt_.seed);
      else kfold(all.size(), opt_.cv_folds, opt_.shuffle, opt_.seed);
    } catch (const Error& e) {
      throw_invalid("study.cv.folds = " + std::to_string(opt_.cv_folds) + ": " + e.what());
    }
    const std::vector<std::string> known = metric_names();
    if (opt_.metric != "loss" && opt_.metric != "acc" && opt_.metric != "macro_f1" &&
        std::find(known.begin(), known.end(), opt_.metric) == known.end())
      throw_invalid("study.metric: \"" + opt_.metric + "\" cannot be scored on the held-out folds (known: loss, " +
                    join_names(known) + ")");
  }
  DataSplits fold;  // with CV the runs train on (folds of) the training data alone
  if (opt_.cv_folds > 0) {
    const int64_t first = 0;
    fold.train = data_.train.subset({first});
  }
  for (const auto& run : probe_configs(config_)) {
    const std::vector<std::string> keys = check_run_on_data(run, opt_.cv_folds > 0 ? fold : data_);
    if (opt_.cv_folds == 0 && std::find(keys.begin(), keys.end(), opt_.metric) == keys.end())
      throw_invalid("study.metric: \"" + opt_.metric + "\" is not among the metrics every epoch logs (" +
                    join_names(keys) + "; add it to train.metrics, or set data.validation_fraction for val_ ones)");
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

double TrainingObjective::operator()(Trial& trial) {
  nlohmann::json run = strip_study(instantiate(config_, trial));
  {
    std::lock_guard<std::mutex> lock(mu_);
    configs_[trial.number()] = run;
  }
  RunHooks hooks;
  hooks.stop = opt_.stop;
  hooks.log = opt_.log;

  if (opt_.cv_folds == 0) {
    auto prune = std::make_shared<PruningCallback>(trial, opt_.metric, 0);
    hooks.callbacks.push_back(prune);
    RunResult r = train_model(run, data_, hooks);
    record_run(trial, r);
    check_outcome(r);
    if (prune->pruned()) throw TrialPruned();
    if (r.history.rows.empty()) throw_runtime("no epoch completed");
    auto it = r.history.rows.back().find(opt_.metric);
    if (it == r.history.rows.back().end()) throw_invalid("study.metric: \"" + opt_.metric + "\" was not recorded");
    return it->second;
  }

  // Cross-validation: one model per fold on the training data; the score is the metric on the
  // held-out fold, as GridSearchCV's split<i>_test_score.
  const Dataset& all = data_.train;
  if (opt_.metric != "loss") {  // make sure the held-out fold is scored with the study's metric
    nlohmann::json& m = run["train"]["metrics"];
    if (!m.is_array()) m = nlohmann::json::array();
    if (std::find(m.begin(), m.end(), opt_.metric) == m.end()) m.push_back(opt_.metric);
  }
  std::vector<Fold> folds = all.is_classification() && opt_.stratified
                                ? stratified_kfold(all.y, opt_.cv_folds, opt_.shuffle, opt_.seed)
                                : kfold(all.size(), opt_.cv_folds, opt_.shuffle, opt_.seed);
  std::vector<double> scores, fit_times;
  for (size_t f = 0; f < folds.size(); ++f) {
    DataSplits split;
    split.train = all.subset(folds[f].first);
    split.test = all.subset(folds[f].second);
    split.meta = data_.meta;
    RunResult r = train_model(run, split, hooks);
    check_outcome(r);
    auto it = r.test.find(opt_.metric);
    if (it == r.test.end())
      throw_invalid("study.metric: \"" + opt_.metric + "\" was not computed on the held-out fold (add it to train.metrics)");
    scores.push_back(it->second);
    fit_times.push_back(r.train_seconds);
    trial.set_user_attr("split" + std::to_string(f) + "_test_score", it->second);
    double mean = 0;
    for (double s : scores) mean += s;
    mean /= static_cast<double>(scores.size());
    trial.report(mean, static_cast<int64_t>(f));
    if (f + 1 < folds.size() && trial.should_prune()) throw TrialPruned();
  }
  double mean = 0, var = 0, ft = 0;
  for (double s : scores) mean += s;
  mean /= static_cast<double>(scores.size());
  for (double s : scores) var += (s - mean) * (s - mean);
  for (double t : fit_times) ft += t;
  trial.set_user_attr("mean_test_score", mean);
  trial.set_user_attr("std_test_score", std::sqrt(var / static_cast<double>(scores.size())));  // numpy std, ddof=0
  trial.set_user_attr("mean_fit_time", ft / static_cast<double>(fit_times.size()));
  return mean;
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
