// study_data / run_data: everything the report's views need, read once through the storage.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>

#include "hone/error.h"
#include "hone/study_runner.h"  // kWorkerAttr
#include "report/data.h"
#include "report/importance.h"
#include "report/pareto.h"

namespace hone::report {

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double seconds(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }
double since(SteadyClock::time_point t0) { return std::chrono::duration<double>(SteadyClock::now() - t0).count(); }

const char* kind_name(const Distribution& d) {
  switch (d.kind()) {
    case Distribution::Kind::kReal: return "float";
    case Distribution::Kind::kInteger: return "int";
    default: return "categorical";
  }
}

// A parameter's internal value scaled to [0, 1] (log domains on a log scale).
double scaled(const Distribution& d, double v) {
  if (d.is_categorical()) return d.n_choices() > 1 ? v / static_cast<double>(d.n_choices() - 1) : 0.0;
  if (d.high() <= d.low()) return 0;
  if (d.log()) return std::clamp((std::log(v) - std::log(d.low())) / (std::log(d.high()) - std::log(d.low())), 0.0, 1.0);
  return std::clamp((v - d.low()) / (d.high() - d.low()), 0.0, 1.0);
}
double unscaled(const Distribution& d, double x) {
  if (d.is_categorical()) return std::round(x * static_cast<double>(d.n_choices() - 1));
  double v = d.log() ? std::exp(std::log(d.low()) + x * (std::log(d.high()) - std::log(d.low())))
                     : d.low() + x * (d.high() - d.low());
  if (d.kind() == Distribution::Kind::kInteger) v = std::round(v);
  return v;
}

struct Fit {
  std::vector<std::string> names;  // the parameters every complete trial has (not single-valued)
  std::vector<Distribution> dists;
  std::vector<const FrozenTrial*> rows;
  std::vector<double> y;  // smaller is better
  Forest forest;
  std::vector<double> scaled_row(const FrozenTrial& t) const {
    std::vector<double> x;
    for (size_t f = 0; f < names.size(); ++f) x.push_back(scaled(dists[f], t.params.at(names[f])));
    return x;
  }
};

void add_importance(json& data, Fit& fit, const std::vector<const FrozenTrial*>& complete, bool minimize,
                    const DataOptions& opts) {
  // The intersection search space, as Optuna's evaluators use.
  std::map<std::string, Distribution> common = complete.front()->distributions;
  std::vector<std::string> conditional;
  for (auto* t : complete)
    for (auto it = common.begin(); it != common.end();)
      if (!t->distributions.count(it->first)) {
        conditional.push_back(it->first);
        it = common.erase(it);
      } else {
        ++it;
      }
  for (auto& [name, d] : common)
    if (!d.single()) fit.names.push_back(name), fit.dists.push_back(d);
  std::sort(conditional.begin(), conditional.end());
  conditional.erase(std::unique(conditional.begin(), conditional.end()), conditional.end());
  json imp = {{"params", fit.names}, {"conditional", conditional}, {"n_trials", complete.size()}};
  if (fit.names.empty()) {
    data["importance"] = imp;
    return;
  }
  for (auto* t : complete) fit.rows.push_back(t), fit.y.push_back(minimize ? *t->value : -*t->value);
  std::vector<Column> cols(fit.names.size());
  for (size_t f = 0; f < fit.names.size(); ++f) {
    cols[f].levels = fit.dists[f].is_categorical() ? static_cast<int>(fit.dists[f].n_choices()) : 0;
    for (auto* t : fit.rows) cols[f].x.push_back(scaled(fit.dists[f], t->params.at(fit.names[f])));
  }
  auto as_map = [&](const std::vector<double>& v) {
    json o = json::object();
    for (size_t f = 0; f < v.size(); ++f) o[fit.names[f]] = finite_or_null(v[f]);
    return o;
  };
  auto t0 = SteadyClock::now();
  imp["ped_anova"] = as_map(normalized(ped_anova(cols, fit.y)));
  const double ped_s = since(t0);
  std::vector<double> raw;  // the objective as the user sees it (the sign of the correlation)
  for (auto* t : fit.rows) raw.push_back(*t->value);
  imp["correlation"] = as_map(spearman(cols, raw));
  // The forest sees at most fanova_max_trials rows (a random subset): fANOVA's cost grows as
  // n log n per tree, and a few thousand rows already pin the variance shares down.
  std::vector<Column> fcols = cols;
  std::vector<double> fy = fit.y;
  const size_t cap = static_cast<size_t>(std::max(2, opts.fanova_max_trials));
  if (fy.size() > cap) {
    std::vector<size_t> idx(fy.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::mt19937_64 rng(opts.seed + 17);
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(cap);
    fy.clear();
    for (auto& c : fcols) c.x.clear();
    for (size_t i : idx) {
      fy.push_back(fit.y[i]);
      for (size_t f = 0; f < cols.size(); ++f) fcols[f].x.push_back(cols[f].x[i]);
    }
    imp["fanova_rows"] = cap;
  }
  t0 = SteadyClock::now();
  fit.forest.fit(fcols, fy, opts.fanova_trees, opts.fanova_max_depth, opts.seed);
  imp["fanova"] = as_map(normalized(fit.forest.fanova()));
  imp["seconds"] = {{"fanova", since(t0)}, {"ped_anova", ped_s}};
  data["importance"] = imp;
}

// The surrogate's landscape over the two most important parameters, the others at the best trial.
void add_contour(json& data, const Fit& fit, const FrozenTrial& best) {
  if (fit.names.size() < 2 || fit.forest.empty()) return;
  std::vector<size_t> order(fit.names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const json& fa = data["importance"]["fanova"];
  auto share = [&](size_t i) { return fa[fit.names[i]].is_number() ? fa[fit.names[i]].get<double>() : 0.0; };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return share(a) > share(b); });
  const size_t a = order[0], b = order[1];
  const int G = 40;
  auto axis = [&](size_t f) {
    const auto& d = fit.dists[f];
    const int n = d.is_categorical() ? static_cast<int>(d.n_choices()) : G;
    std::vector<double> xs;
    for (int i = 0; i < n; ++i) xs.push_back(n == 1 ? 0.0 : static_cast<double>(i) / (n - 1));
    return xs;
  };
  const auto xa = axis(a), xb = axis(b);
  auto x = fit.scaled_row(best);
  const bool minimize = data["directions"][0] == "MINIMIZE";
  json z = json::array(), gx = json::array(), gy = json::array();
  for (double u : xa) gx.push_back(unscaled(fit.dists[a], u));
  for (double v : xb) gy.push_back(unscaled(fit.dists[b], v));
  for (double v : xb) {
    json row = json::array();
    x[b] = v;
    for (double u : xa) {
      x[a] = u;
      const double p = fit.forest.predict(x);
      row.push_back(finite_or_null(minimize ? p : -p));
    }
    z.push_back(row);
  }
  data["contour"] = {{"x", fit.names[a]}, {"y", fit.names[b]}, {"xs", gx}, {"ys", gy}, {"z", z}};
}

// Greedy path from the baseline to the best trial: at each step the one parameter change (towards
// the best trial's value) that the forest predicts helps most; the last value is the best trial's own.
void add_ablation(json& data, const Fit& fit, const FrozenTrial& base, const FrozenTrial& best, bool minimize) {
  if (fit.forest.empty() || base.number == best.number) return;
  for (auto& n : fit.names)
    if (!base.params.count(n) || !best.params.count(n)) return;
  auto x = fit.scaled_row(base);
  const auto target = fit.scaled_row(best);
  auto pred = [&](const std::vector<double>& v) {
    const double p = fit.forest.predict(v);
    return minimize ? p : -p;
  };
  // Configurations some complete trial had exactly (a grid, an enqueued path): their actual value.
  std::map<std::vector<double>, double> tried;
  for (auto* t : fit.rows) tried.emplace(fit.scaled_row(*t), *t->value);
  json steps = json::array();
  std::vector<bool> done(x.size(), false);
  for (size_t f = 0; f < x.size(); ++f) done[f] = x[f] == target[f];
  double current = pred(x);
  while (true) {
    int pick = -1;
    double pick_v = 0;
    for (size_t f = 0; f < x.size(); ++f) {
      if (done[f]) continue;
      auto y = x;
      y[f] = target[f];
      const double v = pred(y);
      if (pick < 0 || (minimize ? v < pick_v : v > pick_v)) pick = static_cast<int>(f), pick_v = v;
    }
    if (pick < 0) break;
    const auto& d = fit.dists[static_cast<size_t>(pick)];
    const auto& name = fit.names[static_cast<size_t>(pick)];
    steps.push_back({{"param", name},
                     {"from", d.to_external(base.params.at(name))},
                     {"to", d.to_external(best.params.at(name))},
                     {"value", finite_or_null(pick_v)},
                     {"gain", finite_or_null(minimize ? current - pick_v : pick_v - current)}});
    x[static_cast<size_t>(pick)] = target[static_cast<size_t>(pick)];
    done[static_cast<size_t>(pick)] = true;
    const auto real = tried.find(x);
    steps.back()["actual"] = real != tried.end() ? finite_or_null(real->second) : json(nullptr);
    current = pick_v;
  }
  json table = json::array();
  std::set<std::string> names;
  for (auto& [k, _] : base.params) names.insert(k);
  for (auto& [k, _] : best.params) names.insert(k);
  for (auto& n : names)
    table.push_back({{"param", n},
                     {"before", base.params.count(n) ? base.param(n) : json(nullptr)},
                     {"after", best.params.count(n) ? best.param(n) : json(nullptr)}});
  data["ablation"] = {{"baseline", base.number},
                      {"baseline_marked", base.user_attrs.count("baseline") > 0},
                      {"best", best.number},
                      {"baseline_value", finite_or_null(*base.value)},
                      {"baseline_predicted", finite_or_null(pred(fit.scaled_row(base)))},
                      {"best_value", finite_or_null(*best.value)},
                      {"predicted", true},
                      {"steps", steps},
                      {"table", table}};
}

json read_json_file(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw_io("cannot read " + p.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw_data(p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

}  // namespace

json study_data(Storage& storage, int64_t study_id, const DataOptions& opts) {
  const auto t_all = SteadyClock::now();
  json data;
  data["kind"] = "study";
  data["study_name"] = storage.get_study_name(study_id);
  // Several directions: a study Optuna made with several objectives (the Pareto views); the
  // single-objective views use the first.
  const std::vector<Direction> dirs = storage.get_study_directions(study_id);
  const bool minimize = dirs.at(0) == Direction::kMinimize;
  data["directions"] = json::array();
  for (Direction d : dirs) data["directions"].push_back(to_string(d));
  data["generated_at"] = format_datetime(Clock::now());
  const auto trials = storage.get_all_trials(study_id);
  data["n_trials"] = trials.size();

  std::map<std::string, Distribution> dists;
  for (auto& t : trials)
    for (auto& [k, d] : t.distributions) dists.emplace(k, d);
  json params = json::array();
  for (auto& [k, d] : dists) {
    json p = {{"name", k}, {"kind", kind_name(d)}, {"log", d.log()}};
    if (d.is_categorical()) {
      json ch = json::array();
      for (auto& c : d.choices()) ch.push_back(c.is_string() ? c : json(c.dump()));
      p["choices"] = ch;
      p["low"] = 0;
      p["high"] = static_cast<double>(d.n_choices() - 1);
    } else {
      p["low"] = d.low();
      p["high"] = d.high();
    }
    params.push_back(p);
  }
  data["params"] = params;

  json jt = json::array();
  std::vector<const FrozenTrial*> complete;
  const FrozenTrial *best = nullptr, *baseline = nullptr;
  std::map<std::string, int> state_counts;
  for (auto& t : trials)
    if (t.state == TrialState::kComplete && t.value && std::isfinite(*t.value) &&
        (!best || (minimize ? *t.value < *best->value : *t.value > *best->value)))
      best = &t;
  // The page draws at most max_curves learning curves: only those trials (every k-th of the ones
  // that reported, and the best) carry theirs, each at most max_curve_points long (every k-th
  // point and the last, where a pruned trial stopped). Keeps a long study's data small.
  size_t with_curves = 0;
  for (auto& t : trials) with_curves += !t.intermediate_values.empty();
  data["intermediate_total"] = with_curves;
  const double curve_stride = opts.max_curves > 0 && with_curves > static_cast<size_t>(opts.max_curves)
                                  ? static_cast<double>(with_curves) / opts.max_curves
                                  : 1.0;
  double next_curve = 0;
  size_t curve_index = 0;
  for (auto& t : trials) {
    ++state_counts[to_string(t.state)];
    json o;
    o["number"] = t.number;
    o["state"] = to_string(t.state);
    o["value"] = t.value ? finite_or_null(*t.value) : json(nullptr);
    if (t.values.size() > 1) {
      o["values"] = json::array();
      for (double v : t.values) o["values"].push_back(finite_or_null(v));
    } else {
      o["values"] = t.value ? json::array({o["value"]}) : json(nullptr);
    }
    json p = json::object();
    for (auto& [k, v] : t.params) p[k] = v;
    o["params"] = p;
    json iv = json::array();
    if (!t.intermediate_values.empty()) {
      bool keep = &t == best;
      if (static_cast<double>(curve_index++) >= next_curve) {
        keep = true;
        next_curve += curve_stride;
      }
      if (keep) {
        const size_t n = t.intermediate_values.size(), cap = static_cast<size_t>(std::max(2, opts.max_curve_points));
        const double stride = n > cap ? static_cast<double>(n) / cap : 1.0;
        double next = 0;
        size_t i = 0;
        for (auto& [s, v] : t.intermediate_values) {
          if (static_cast<double>(i) >= next || i + 1 == n) {
            iv.push_back({s, finite_or_null(v)});
            if (static_cast<double>(i) >= next) next += stride;
          }
          ++i;
        }
      }
    }
    o["intermediate"] = iv;
    o["start"] = t.datetime_start ? json(seconds(*t.datetime_start)) : json(nullptr);
    o["complete"] = t.datetime_complete ? json(seconds(*t.datetime_complete)) : json(nullptr);
    auto w = t.system_attrs.find(kWorkerAttr);
    o["worker"] = w != t.system_attrs.end() && w->second.is_string() ? w->second : json(nullptr);
    o["baseline"] = t.user_attrs.count("baseline") > 0;
    jt.push_back(std::move(o));
    if (t.state == TrialState::kComplete && t.value && std::isfinite(*t.value)) {
      complete.push_back(&t);
      if (!baseline && t.user_attrs.count("baseline")) baseline = &t;
    }
  }
  data["trials"] = std::move(jt);
  data["states"] = state_counts;
  data["best"] = best ? json{{"number", best->number}, {"value", *best->value}, {"params", best->params_json()}}
                      : json(nullptr);
  if (!baseline && !complete.empty()) baseline = complete.front();  // no marked baseline: the first trial
  Fit fit;
  if (opts.importance && complete.size() >= 2) {
    add_importance(data, fit, complete, minimize, opts);
    add_contour(data, fit, *best);
    if (opts.ablation) add_ablation(data, fit, *baseline, *best, minimize);
  }
  add_pareto(data);
  data["views"] = compute_views(data);
  data["data_seconds"] = since(t_all);
  return data;
}

void add_pareto(json& data) {
  if (!data.contains("directions") || !data.contains("trials")) return;
  const auto& dirs = data["directions"];
  const size_t m = dirs.size();
  if (m < 2 || m > 3) return;
  std::vector<Point> pts;
  std::vector<int64_t> numbers;
  for (auto& t : data["trials"]) {
    if (t["state"] != "COMPLETE" || !t["values"].is_array() || t["values"].size() != m) continue;
    Point p;
    for (size_t k = 0; k < m; ++k) {
      if (!t["values"][k].is_number()) break;
      const double v = t["values"][k].get<double>();
      p.push_back(dirs[k] == "MAXIMIZE" ? -v : v);
    }
    if (p.size() != m) continue;
    pts.push_back(p);
    numbers.push_back(t["number"].get<int64_t>());
  }
  if (pts.empty()) return;
  // Reference point: the worst value seen in each objective, pushed out by 10% of the range.
  Point ref(m);
  for (size_t k = 0; k < m; ++k) {
    double lo = pts[0][k], hi = pts[0][k];
    for (auto& p : pts) lo = std::min(lo, p[k]), hi = std::max(hi, p[k]);
    ref[k] = hi + 0.1 * std::max(hi - lo, 1e-12 + 1e-9 * std::abs(hi));
  }
  json front = json::array();
  for (size_t i : pareto_front(pts)) front.push_back(numbers[i]);
  json hv = json::array();
  const auto h = hypervolume_history(pts, ref);
  for (size_t i = 0; i < h.size(); ++i) hv.push_back({numbers[i], h[i]});
  json jref = json::array();
  for (size_t k = 0; k < m; ++k) jref.push_back(dirs[k] == "MAXIMIZE" ? -ref[k] : ref[k]);
  data["pareto"] = {{"front", front}, {"hypervolume", hv}, {"reference", jref}};
}

std::vector<std::string> compute_views(const json& data) {
  // Data may come from elsewhere (a dashboard, a test) with keys missing: read it defensively.
  static const json kNone;
  auto at = [&](const json& j, const char* key) -> const json& {
    return j.is_object() && j.contains(key) ? j[key] : kNone;
  };
  std::vector<std::string> v;
  if (!data.is_object()) return v;
  if (data.value("kind", "") == "run") {
    v = {"curves"};
    const auto& run = at(data, "run");
    if (run.contains("history") && !run["history"].empty() && run["history"][0].contains("lr")) v.push_back("lr");
    if (run.contains("metrics")) v.push_back("metrics");
    if (run.contains("profile")) v.push_back("profile");
    if (run.contains("doctor")) v.push_back("doctor");
    return v;
  }
  v = {"history"};
  bool curves = data.value("intermediate_total", 0) > 0;
  if (!data.contains("intermediate_total"))  // data made elsewhere (tests, a dashboard)
    for (auto& t : at(data, "trials")) curves = curves || (t.is_object() && !at(t, "intermediate").empty());
  if (curves) v.push_back("intermediate");
  v.push_back("timeline");
  v.push_back("edf");
  if (!at(data, "params").empty()) {
    v.push_back("slice");
    v.push_back("parallel");
    v.push_back("rank");
  }
  if (at(at(data, "importance"), "fanova").is_object()) v.push_back("importance");
  if (data.contains("contour")) v.push_back("contour");
  if (data.contains("ablation")) v.push_back("ablation");
  if (data.contains("pareto")) {
    v.push_back("pareto");
    v.push_back("hypervolume");
  }
  return v;
}

json run_data(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw_invalid("report: " + dir + " is not a directory");
  if (!fs::exists(d / "history.json"))
    throw_invalid("report: " + dir + " holds no training run (no history.json; `hone train -o DIR` writes one)");
  json data;
  data["kind"] = "run";
  data["study_name"] = d.filename().empty() ? d.parent_path().filename().string() : d.filename().string();
  data["generated_at"] = format_datetime(Clock::now());
  json run;
  run["dir"] = dir;
  run["history"] = read_json_file(d / "history.json");
  if (!run["history"].is_array()) throw_data((d / "history.json").string() + ": expected a list of epochs");
  for (const char* name : {"metrics", "profile", "doctor"}) {
    const auto p = d / (std::string(name) + ".json");
    if (fs::exists(p)) run[name] = read_json_file(p);
  }
  data["run"] = run;
  data["views"] = compute_views(data);
  return data;
}

std::vector<std::string> view_ids(const json& data) {
  if (data.contains("views") && data["views"].is_array()) return data["views"].get<std::vector<std::string>>();
  return compute_views(data);
}

}  // namespace hone::report
