// hone/report.h — a study (or a training run) drawn as one self-contained HTML page.
//
// study_data() gathers everything the views need from any storage (also Optuna-made SQLite
// studies) into one JSON object; study_html() turns such an object into a page that embeds its
// charting library (plotly.js, MIT, compressed) and the data, so it opens with no network.
// The same page serves `hone dashboard`: with PageOptions::live it fetches the data from a URL
// every refresh_s seconds and redraws in place.
//
// The data object (keys; every view reads only these):
//   kind "study"|"run", study_name, directions ["MINIMIZE"|"MAXIMIZE", ...], n_trials,
//   intermediate_total (trials that reported values; at most max_curves of them carry theirs),
//   generated_at, states {STATE: count}, views [ids the page draws, in order],
//   params [{name, kind "float"|"int"|"categorical", log, low, high, choices?}],
//   trials [{number, state, value|null, values [..]|null, params {name: internal double},
//            intermediate [[step, value|null], ...], start, complete (seconds since epoch|null),
//            worker (string|null), baseline (bool)}],
//   best {number, value, params}|null,
//   importance {params, conditional, n_trials, fanova {name: share}, ped_anova {name: share},
//               correlation {name: spearman|null}, seconds {fanova, ped_anova}, fanova_rows?}
//               (absent when < 2 complete trials),
//   contour {x, y, xs, ys, z} (the forest's prediction over the two most important parameters),
//   ablation {baseline, baseline_marked, best, baseline_value, baseline_predicted, best_value,
//             predicted, steps [{param, from, to, value, gain, actual|null}], table [{param, before, after}]},
//   pareto {front [numbers], hypervolume [[number, hv], ...], reference} (2 or 3 directions),
//   run {dir, history [...], metrics?, profile?, doctor?} (run_data() only).
// Non-finite numbers are null (JSON has no NaN).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hone/tune/storage.h"

namespace hone::report {

struct DataOptions {
  bool importance = true;  // fANOVA, PED-ANOVA and correlation (skip for a cheap live refresh)
  bool ablation = true;    // the path from the baseline trial to the best
  int fanova_trees = 64;   // the random forest of the fANOVA evaluator (Optuna's default: 64)
  int fanova_max_depth = 64;
  int fanova_max_trials = 2000;  // the forest is fit on a random subset of at most this many trials
  int max_curves = 300;          // learning curves carried (the page draws no more); 0 = all
  int max_curve_points = 500;    // points per carried curve (every k-th and the last)
  uint64_t seed = 0;
};

struct PageOptions {
  std::string title;         // "" = "hone report: <study name>"
  bool live = false;         // fetch data_url every refresh_s seconds instead of embedded data
  std::string data_url;      // returns study_data() JSON (live only)
  double refresh_s = 5;
};

// Everything the views need about one study, as JSON (see the list above). Reads through the
// storage only; throws Error(kInvalidArgument) for an unknown study id.
json study_data(Storage& storage, int64_t study_id, const DataOptions& opts = {});

// The data of a training run directory (`hone train` output): learning curves, learning rate,
// and profile.json / doctor.json when present. Throws Error(kInvalidArgument) when `dir` holds
// no run.
json run_data(const std::string& dir);

// A self-contained HTML page that draws every view from such data (study_data or run_data).
// With opts.live the embedded data is only the first frame: the page's script then fetches
// opts.data_url every opts.refresh_s seconds and redraws in place.
std::string study_html(const json& data, const PageOptions& opts = {});

// The ids of the page's plots (one <div id=...> each), for tests and the dashboard.
std::vector<std::string> view_ids(const json& data);

}  // namespace hone::report
