// Pruners after optuna/pruners: nop, percentile (median), successive halving (ASHA),
// hyperband, threshold. Each is a pure function of the study's trials, apart from lazily
// resolved "auto" resources and the completed_rung_<k> trial system attrs SHA writes (as Optuna).
#include <algorithm>
#include <cmath>
#include <mutex>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/tune/pruner.h"
#include "hone/tune/study.h"

namespace hone {
namespace {

class NopPruner final : public Pruner {
 public:
  std::string name() const override { return "nop"; }
  bool prune(const Study&, const FrozenTrial&) override { return false; }
};

// numpy.nanpercentile with linear interpolation.
double nan_percentile(std::vector<double> v, double pct) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  double pos = pct / 100.0 * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

// True if `step` is the first report at or after the latest pruning check point.
bool first_in_interval(int64_t step, const std::map<int64_t, double>& steps, int warmup, int interval) {
  int64_t nearest = (step - warmup) / interval * interval + warmup;
  int64_t second_last = -1;
  for (auto& [s, v] : steps)
    if (s > second_last && s != step) second_last = s;
  return second_last < nearest;
}

class PercentilePruner final : public Pruner {
 public:
  explicit PercentilePruner(const PercentileOptions& o) : o_(o) {
    if (!(o.percentile >= 0 && o.percentile <= 100))
      throw_invalid("percentile pruner: percentile must be in [0, 100], got " + std::to_string(o.percentile));
    if (o.n_startup_trials < 0) throw_invalid("percentile pruner: n_startup_trials must be >= 0");
    if (o.n_warmup_steps < 0) throw_invalid("percentile pruner: n_warmup_steps must be >= 0");
    if (o.interval_steps < 1) throw_invalid("percentile pruner: interval_steps must be >= 1");
    if (o.n_min_trials < 1) throw_invalid("percentile pruner: n_min_trials must be >= 1");
  }
  std::string name() const override { return o_.percentile == 50.0 ? "median" : "percentile"; }
  bool prune(const Study& study, const FrozenTrial& trial) override {
    auto last = trial.last_intermediate();
    if (!last) return false;
    auto completed = study.trials({TrialState::kComplete});
    if (completed.empty() || static_cast<int>(completed.size()) < o_.n_startup_trials) return false;
    int64_t step = last->first;
    if (step < o_.n_warmup_steps) return false;
    if (!first_in_interval(step, trial.intermediate_values, o_.n_warmup_steps, o_.interval_steps))
      return false;
    bool maximize = study.direction() == Direction::kMaximize;
    double best = NAN;
    for (auto& [s, v] : trial.intermediate_values) {
      if (std::isnan(v)) continue;
      if (std::isnan(best) || (maximize ? v > best : v < best)) best = v;
    }
    if (std::isnan(best)) return true;
    std::vector<double> at_step;
    for (auto& t : completed) {
      auto it = t.intermediate_values.find(step);
      if (it != t.intermediate_values.end()) at_step.push_back(it->second);
    }
    if (static_cast<int>(at_step.size()) < o_.n_min_trials) return false;
    double p = nan_percentile(at_step, maximize ? 100.0 - o_.percentile : o_.percentile);
    if (std::isnan(p)) return false;
    return maximize ? best < p : best > p;
  }

 private:
  PercentileOptions o_;
};

std::string rung_key(int rung) { return "completed_rung_" + std::to_string(rung); }

std::optional<int64_t> estimate_min_resource(const std::vector<FrozenTrial>& trials) {
  std::optional<int64_t> mx;
  for (auto& t : trials)
    if (t.state == TrialState::kComplete)
      if (auto l = t.last_intermediate()) mx = std::max(mx.value_or(l->first), l->first);
  if (!mx) return std::nullopt;
  return std::max<int64_t>(*mx / 100, 1);
}

// Successive halving on a given set of competing trials (the whole study, or one Hyperband
// bracket). Writes completed_rung_<k> on the trial, as Optuna.
bool sha_prune(const Study& study, const FrozenTrial& trial, const std::vector<FrozenTrial>& trials,
               int64_t min_resource, int eta, int min_early_stopping_rate, int bootstrap_count) {
  auto last = trial.last_intermediate();
  if (!last) return false;
  int64_t step = last->first;
  double value = last->second;
  int rung = 0;
  while (trial.system_attrs.count(rung_key(rung))) ++rung;
  bool maximize = study.direction() == Direction::kMaximize;
  while (true) {
    double promotion = static_cast<double>(min_resource) * std::pow(eta, min_early_stopping_rate + rung);
    if (static_cast<double>(step) < promotion) return false;
    if (std::isnan(value)) return true;
    std::string key = rung_key(rung);
    study.storage().set_trial_system_attr(trial.trial_id, key, value);
    std::vector<double> competing;
    for (auto& t : trials) {
      if (t.trial_id == trial.trial_id) continue;  // its own value is appended below, once
      auto it = t.system_attrs.find(key);
      if (it != t.system_attrs.end() && it->second.is_number()) competing.push_back(it->second.get<double>());
    }
    competing.push_back(value);
    if (static_cast<int>(competing.size()) <= bootstrap_count) return true;
    long idx = static_cast<long>(competing.size()) / eta - 1;
    if (idx < 0) idx = 0;
    std::sort(competing.begin(), competing.end());
    bool promotable = maximize ? value >= competing[competing.size() - 1 - static_cast<size_t>(idx)]
                               : value <= competing[static_cast<size_t>(idx)];
    if (!promotable) return true;
    ++rung;
  }
}

class SuccessiveHalvingPruner final : public Pruner {
 public:
  explicit SuccessiveHalvingPruner(const SuccessiveHalvingOptions& o) : o_(o) {
    if (o.min_resource && *o.min_resource < 1) throw_invalid("asha pruner: min_resource must be >= 1 or \"auto\"");
    if (o.reduction_factor < 2) throw_invalid("asha pruner: reduction_factor must be >= 2");
    if (o.min_early_stopping_rate < 0) throw_invalid("asha pruner: min_early_stopping_rate must be >= 0");
    if (o.bootstrap_count < 0) throw_invalid("asha pruner: bootstrap_count must be >= 0");
  }
  std::string name() const override { return "asha"; }
  bool prune(const Study& study, const FrozenTrial& trial) override {
    if (!trial.last_intermediate()) return false;
    auto trials = study.trials();
    int64_t min_res;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!min_resource_) min_resource_ = o_.min_resource ? o_.min_resource : estimate_min_resource(trials);
      if (!min_resource_) return false;
      min_res = *min_resource_;
    }
    return sha_prune(study, trial, trials, min_res, o_.reduction_factor, o_.min_early_stopping_rate,
                     o_.bootstrap_count);
  }

 private:
  SuccessiveHalvingOptions o_;
  std::mutex mu_;
  std::optional<int64_t> min_resource_;
};

uint32_t crc32(const std::string& s) {
  static uint32_t table[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)init;
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::vector<int64_t> bracket_budgets(int n_brackets, int eta) {
  std::vector<int64_t> b;
  for (int id = 0; id < n_brackets; ++id) {
    int s = n_brackets - 1 - id;
    b.push_back(static_cast<int64_t>(std::ceil(n_brackets * std::pow(eta, s) / (s + 1))));
  }
  return b;
}

class HyperbandPruner final : public Pruner {
 public:
  explicit HyperbandPruner(const HyperbandOptions& o) : o_(o) {
    if (o.min_resource < 1) throw_invalid("hyperband pruner: min_resource must be >= 1");
    if (o.max_resource && *o.max_resource < o.min_resource)
      throw_invalid("hyperband pruner: max_resource must be >= min_resource");
    if (o.reduction_factor < 2) throw_invalid("hyperband pruner: reduction_factor must be >= 2");
    if (o.bootstrap_count < 0) throw_invalid("hyperband pruner: bootstrap_count must be >= 0");
    if (o.bootstrap_count > 0 && !o.max_resource)
      throw_invalid("hyperband pruner: bootstrap_count > 0 needs an explicit max_resource");
  }
  std::string name() const override { return "hyperband"; }
  bool prune(const Study& study, const FrozenTrial& trial) override {
    if (!trial.last_intermediate()) return false;
    int n_brackets;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!n_brackets_) {
        auto max_res = o_.max_resource;
        if (!max_res) {
          for (auto& t : study.trials({TrialState::kComplete}))
            if (auto l = t.last_intermediate()) max_res = std::max(max_res.value_or(0), l->first + 1);
          if (!max_res) return false;
        }
        n_brackets_ = static_cast<int>(std::floor(std::log(static_cast<double>(*max_res) / o_.min_resource) /
                                                  std::log(o_.reduction_factor))) + 1;
      }
      n_brackets = *n_brackets_;
    }
    int b = hyperband_bracket(study.name(), trial.number, n_brackets, o_.reduction_factor);
    std::vector<FrozenTrial> same;
    for (auto& t : study.trials())
      if (hyperband_bracket(study.name(), t.number, n_brackets, o_.reduction_factor) == b) same.push_back(t);
    return sha_prune(study, trial, same, o_.min_resource, o_.reduction_factor, b, o_.bootstrap_count);
  }

 private:
  HyperbandOptions o_;
  std::mutex mu_;
  std::optional<int> n_brackets_;
};

class ThresholdPruner final : public Pruner {
 public:
  explicit ThresholdPruner(const ThresholdOptions& o) : o_(o) {
    if (!o.lower && !o.upper) throw_invalid("threshold pruner: give lower and/or upper");
    if (o.lower && o.upper && *o.lower > *o.upper) throw_invalid("threshold pruner: lower must be <= upper");
    if (o.n_warmup_steps < 0) throw_invalid("threshold pruner: n_warmup_steps must be >= 0");
    if (o.interval_steps < 1) throw_invalid("threshold pruner: interval_steps must be >= 1");
  }
  std::string name() const override { return "threshold"; }
  bool prune(const Study&, const FrozenTrial& trial) override {
    auto last = trial.last_intermediate();
    if (!last) return false;
    if (last->first < o_.n_warmup_steps) return false;
    if (!first_in_interval(last->first, trial.intermediate_values, o_.n_warmup_steps, o_.interval_steps))
      return false;
    double v = last->second;
    if (std::isnan(v)) return true;
    if (o_.lower && v < *o_.lower) return true;
    if (o_.upper && v > *o_.upper) return true;
    return false;
  }

 private:
  ThresholdOptions o_;
};

std::optional<int64_t> resource(const json& c, const std::string& key, std::optional<int64_t> def,
                                const std::string& w) {
  if (!c.contains(key)) return def;
  const json& v = c.at(key);
  if (v.is_string() && v.get<std::string>() == "auto") return std::nullopt;
  if (v.is_number_integer()) return v.get<int64_t>();
  throw_invalid(w + "." + key + ": expected an integer or \"auto\", got " + v.dump());
}

}  // namespace

int hyperband_bracket(const std::string& study_name, int64_t number, int n_brackets, int eta) {
  auto budgets = bracket_budgets(n_brackets, eta);
  int64_t total = 0;
  for (auto b : budgets) total += b;
  int64_t n = static_cast<int64_t>(crc32(study_name + "_" + std::to_string(number)) % static_cast<uint64_t>(total));
  for (int id = 0; id < n_brackets; ++id) {
    n -= budgets[static_cast<size_t>(id)];
    if (n < 0) return id;
  }
  return n_brackets - 1;
}

std::shared_ptr<Pruner> make_nop_pruner() { return std::make_shared<NopPruner>(); }
std::shared_ptr<Pruner> make_percentile_pruner(const PercentileOptions& o) {
  return std::make_shared<PercentilePruner>(o);
}
std::shared_ptr<Pruner> make_median_pruner(PercentileOptions o) {
  o.percentile = 50.0;
  return std::make_shared<PercentilePruner>(o);
}
std::shared_ptr<Pruner> make_successive_halving_pruner(const SuccessiveHalvingOptions& o) {
  return std::make_shared<SuccessiveHalvingPruner>(o);
}
std::shared_ptr<Pruner> make_hyperband_pruner(const HyperbandOptions& o) {
  return std::make_shared<HyperbandPruner>(o);
}
std::shared_ptr<Pruner> make_threshold_pruner(const ThresholdOptions& o) {
  return std::make_shared<ThresholdPruner>(o);
}

std::vector<std::string> pruner_names() {
  return {"nop", "median", "percentile", "asha", "successive_halving", "hyperband", "threshold"};
}

std::shared_ptr<Pruner> make_pruner(const json& c0) {
  const std::string w = "pruner";
  json c = typed_table(c0);
  if (!c.is_object()) throw_invalid(w + ": expected a table such as {type = \"median\"}");
  std::string type = get_string(c, "type", "median", w);
  if (type == "nop" || type == "none") {
    check_keys(c, {"type"}, w);
    return make_nop_pruner();
  }
  if (type == "median" || type == "percentile") {
    std::vector<std::string> keys = {"type", "n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"};
    if (type == "percentile") keys.push_back("percentile");
    check_keys(c, keys, w);
    PercentileOptions o;
    if (type == "percentile") {
      if (!c.contains("percentile")) throw_invalid(w + ".percentile: required for the percentile pruner");
      o.percentile = get_double(c, "percentile", 50, w);
      require_in_range(o.percentile, 0, 100, "percentile", w);
    }
    o.n_startup_trials = static_cast<int>(get_int(c, "n_startup_trials", o.n_startup_trials, w));
    o.n_warmup_steps = static_cast<int>(get_int(c, "n_warmup_steps", o.n_warmup_steps, w));
    o.interval_steps = static_cast<int>(get_int(c, "interval_steps", o.interval_steps, w));
    o.n_min_trials = static_cast<int>(get_int(c, "n_min_trials", o.n_min_trials, w));
    return make_percentile_pruner(o);
  }
  if (type == "asha" || type == "successive_halving" || type == "sha") {
    check_keys(c, {"type", "min_resource", "reduction_factor", "min_early_stopping_rate", "bootstrap_count"}, w);
    SuccessiveHalvingOptions o;
    o.min_resource = resource(c, "min_resource", std::nullopt, w);
    o.reduction_factor = static_cast<int>(get_int(c, "reduction_factor", o.reduction_factor, w));
    o.min_early_stopping_rate = static_cast<int>(get_int(c, "min_early_stopping_rate", 0, w));
    o.bootstrap_count = static_cast<int>(get_int(c, "bootstrap_count", 0, w));
    return make_successive_halving_pruner(o);
  }
  if (type == "hyperband") {
    check_keys(c, {"type", "min_resource", "max_resource", "reduction_factor", "bootstrap_count"}, w);
    HyperbandOptions o;
    o.min_resource = get_int(c, "min_resource", 1, w);
    o.max_resource = resource(c, "max_resource", std::nullopt, w);
    o.reduction_factor = static_cast<int>(get_int(c, "reduction_factor", o.reduction_factor, w));
    o.bootstrap_count = static_cast<int>(get_int(c, "bootstrap_count", 0, w));
    return make_hyperband_pruner(o);
  }
  if (type == "threshold") {
    check_keys(c, {"type", "lower", "upper", "n_warmup_steps", "interval_steps"}, w);
    ThresholdOptions o;
    if (c.contains("lower")) o.lower = get_double(c, "lower", 0, w);
    if (c.contains("upper")) o.upper = get_double(c, "upper", 0, w);
    o.n_warmup_steps = static_cast<int>(get_int(c, "n_warmup_steps", 0, w));
    o.interval_steps = static_cast<int>(get_int(c, "interval_steps", 1, w));
    return make_threshold_pruner(o);
  }
  std::string known;
  for (auto& n : pruner_names()) known += (known.empty() ? "" : ", ") + n;
  throw_invalid(w + ".type: unknown pruner \"" + type + "\" (known: " + known + ")");
}

}  // namespace hone
