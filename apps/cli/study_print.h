// What `hone tune` and `hone worker` print about a study: the live progress line and the results
// table. Printing only: the study itself is run by the library (hone/study_runner.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hone/study_runner.h"

namespace hone::cli {

// Live progress: one line per finished trial (a redrawn status line on a terminal). Counts are
// the whole study's; `total` (0 = none) is the study's n_trials; the rate is this run's.
class TuneProgress {
 public:
  TuneProgress(int64_t total, double timeout, std::FILE* out, int64_t finished_before);
  // The study's counts, from trials already read (a coordinator polling the storage).
  void on_trial(const std::vector<FrozenTrial>& all, const Study& study, const FrozenTrial& t);
  // The study's counts, asked of its storage (a few indexed queries, not a read of every trial:
  // a study with thousands of trials pays nothing per trial for its progress line).
  void on_trial(const Study& study, const FrozenTrial& t);
  void finish();

 private:
  struct Counts {
    int64_t done = 0, pruned = 0, failed = 0, running = 0;
    std::optional<std::pair<double, int64_t>> best;  // value, number
    std::string best_text;  // several objectives or constraints: what "best" shows instead
  };
  std::string best_text(const Study& study, const FrozenTrial& t);
  bool constrained_ = false;
  void print(const Counts& c, const FrozenTrial& t);
  int64_t n_;
  double timeout_;
  std::FILE* out_;
  bool tty_;
  int64_t before_;
  std::chrono::steady_clock::time_point t0_;
};

// The results of a finished run, on stdout: counts, the top trials, the refit, the best trial,
// the baseline against the best, and the files written into `out`.
void print_study_result(const StudyResult& r, const std::string& out);

}  // namespace hone::cli
