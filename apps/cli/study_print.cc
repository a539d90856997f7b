#include "cli/study_print.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/progress.h"
#include "cli/util.h"
#include "hone/error.h"

namespace hone::cli {

// ------------------------------------------------------------------------------ progress

TuneProgress::TuneProgress(int64_t total, double timeout, std::FILE* out, int64_t finished_before)
    : n_(total), timeout_(timeout), out_(out), tty_(isatty(fileno(out)) != 0), before_(finished_before),
      t0_(std::chrono::steady_clock::now()) {}

// Several objectives: the front's size; constraints: the feasibility-first best. Both read the
// study's trials (as Optuna does for every best_trials call). Empty for a plain study.
std::string TuneProgress::best_text(const Study& study, const FrozenTrial& t) {
  if (study.is_multi_objective()) {
    constrained_ = constrained_ || t.system_attrs.count("constraints");
    const auto front = study.best_trials();
    const bool feasible = !front.empty() && is_feasible(front[0]);
    return fmt::format("front {}{}", front.size(), front.empty() || feasible || !constrained_ ? "" : " (infeasible)");
  }
  if (!constrained_ && !t.system_attrs.count("constraints")) return "";
  constrained_ = true;
  try {
    const FrozenTrial b = study.best_trial();
    return fmt::format("{:.4f} (#{}){}", b.value.value_or(NAN), b.number, is_feasible(b) ? "" : " infeasible");
  } catch (const Error&) {
    return "-";
  }
}

void TuneProgress::on_trial(const std::vector<FrozenTrial>& all, const Study& study, const FrozenTrial& t) {
  const Direction direction = study.directions()[0];
  Counts c;
  c.best_text = best_text(study, t);
  const FrozenTrial* best = nullptr;
  for (const auto& x : all) {
    if (x.state == TrialState::kComplete) {
      ++c.done;
      if (x.value && (!best || (direction == Direction::kMinimize ? *x.value < *best->value : *x.value > *best->value)))
        best = &x;
    } else if (x.state == TrialState::kPruned) {
      ++c.pruned, ++c.done;
    } else if (x.state == TrialState::kFail) {
      ++c.failed, ++c.done;
    } else if (x.state == TrialState::kRunning) {
      ++c.running;
    }
  }
  if (best) c.best = std::pair(*best->value, best->number);
  print(c, t);
}

void TuneProgress::on_trial(const Study& study, const FrozenTrial& t) {
  Storage& s = study.storage();
  const int64_t id = study.study_id();
  Counts c;
  c.pruned = s.get_n_trials(id, {TrialState::kPruned});
  c.failed = s.get_n_trials(id, {TrialState::kFail});
  c.done = s.get_n_trials(id, {TrialState::kComplete}) + c.pruned + c.failed;
  c.running = s.get_n_trials(id, {TrialState::kRunning});
  c.best_text = best_text(study, t);
  if (c.best_text.empty())
    if (auto b = s.get_best_trial(id); b && b->value) c.best = std::pair(*b->value, b->number);
  print(c, t);
}

void TuneProgress::print(const Counts& c, const FrozenTrial& t) {
  const int64_t done = c.done, pruned = c.pruned, failed = c.failed, running = c.running;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  double eta = NAN;
  if (n_ > 0 && done > before_) eta = el / static_cast<double>(done - before_) * static_cast<double>(std::max<int64_t>(0, n_ - done));
  if (timeout_ > 0) eta = std::isnan(eta) ? timeout_ - el : std::min(eta, timeout_ - el);
  const std::string best_s = !c.best_text.empty() ? c.best_text
                             : c.best           ? fmt::format("{:.4f} (#{})", c.best->first, c.best->second)
                                                : "-";
  std::string value = t.state == TrialState::kFail ? t.fail_reason()
                      : t.value                   ? fmt::format("{:.4f}", *t.value)
                                                  : "-";
  if (t.state == TrialState::kComplete && t.values.size() > 1) {
    value.clear();
    for (double v : t.values) value += (value.empty() ? "" : " ") + fmt::format("{:.4g}", v);
  }
  if (t.state == TrialState::kComplete && constraint_violation(t) > 0)
    value += fmt::format(" (infeasible, violation {:.3g})", constraint_violation(t));
  std::string what = fmt::format("trial {:>3} {:<8} {}", t.number, to_string(t.state), value);
  std::string status = fmt::format("done {}{} | running {} | pruned {} | failed {} | best {} | {} elapsed, ETA {}", done,
                                   n_ > 0 ? fmt::format("/{}", n_) : "", running, pruned, failed, best_s,
                                   format_duration(el), std::isnan(eta) ? "?" : format_duration(std::max(0.0, eta)));
  if (tty_) std::fprintf(out_, "\r\033[K%s\n%s", what.c_str(), status.c_str());
  else std::fprintf(out_, "%s | %s\n", what.c_str(), status.c_str());
  std::fflush(out_);
}

void TuneProgress::finish() {
  if (tty_) std::fputs("\n", out_);
}

// ------------------------------------------------------------------------------ results

namespace {

std::string fmt_params(const json& p) {
  std::string s;
  for (auto& [k, v] : p.items())
    s += (s.empty() ? "" : " ") + k + "=" +
         (v.is_string() ? v.get<std::string>() : v.is_number_float() ? fmt::format("{:.4g}", v.get<double>()) : v.dump());
  return s;
}

std::string num(double v, const char* f) { return std::isnan(v) ? std::string("-") : fmt::format(fmt::runtime(f), v); }
std::string bytes(double v) { return std::isnan(v) ? std::string("-") : human_bytes(v); }

// A study's value as its table shows it: 4 decimals for the training metrics, 6 significant
// digits for an external program's (whose scale hone does not know).
std::string value_text(const StudyResult& r, const std::optional<double>& v) {
  return v ? (r.command ? fmt::format("{:.6g}", *v) : fmt::format("{:.4f}", *v)) : std::string("-");
}

// A trial's feasibility as the tables show it: "ok", or its total violation of the constraints.
std::string feasibility(const FrozenTrial& t) {
  const double v = constraint_violation(t);
  return v > 0 ? fmt::format("viol {:.3g}", v) : std::string("ok");
}

void print_top(const StudyResult& r) {
  const bool c = !r.constraints.empty();
  if (r.command) {
    std::printf("\n%-6s %-12s %-8s %s%s\n", "trial", r.metric.c_str(), "time", c ? "feasible    " : "", "parameters");
    for (const auto& t : r.top)
      std::printf("%-6lld %-12.6g %-8s %s%s\n", static_cast<long long>(t.number), *t.value,
                  format_duration(t.duration_s().value_or(NAN)).c_str(),
                  c ? fmt::format("{:<12}", feasibility(t)).c_str() : "", fmt_params(t.params_json()).c_str());
    return;
  }
  std::printf("\n%-6s %-10s %-10s %-8s %s%s\n", "trial", r.metric.c_str(), r.folds ? "std" : "test acc", "time",
              c ? "feasible    " : "", "parameters");
  for (const auto& t : r.top)
    std::printf("%-6lld %-10.4f %-10s %-8s %s%s\n", static_cast<long long>(t.number), *t.value,
                num(r.folds ? trial_number(t, "std_test_score") : trial_number(t, "test.accuracy"), "{:.4f}").c_str(),
                format_duration(t.duration_s().value_or(NAN)).c_str(),
                c ? fmt::format("{:<12}", feasibility(t)).c_str() : "", fmt_params(t.params_json()).c_str());
}

// Several objectives: the Pareto front (feasible trials; the least-violating one when none is).
void print_front(const StudyResult& r) {
  std::string head = fmt::format("{:<6}", "trial");
  std::vector<size_t> widths;
  for (size_t i = 0; i < r.objectives.size(); ++i) {
    const std::string h = r.objectives[i] + (r.directions[i] == Direction::kMaximize ? " (max)" : " (min)");
    widths.push_back(std::max<size_t>(12, h.size()));
    head += fmt::format(" {:<{}}", h, widths.back());
  }
  const bool c = !r.constraints.empty();
  head += fmt::format(" {:<8} {}{}", "time", c ? "feasible     " : "", "parameters");
  std::printf("\nPareto front: %zu trial(s)%s\n%s\n", r.front.size(),
              r.best_feasible ? "" : " (no trial satisfies the constraints: the least-violating one, infeasible)",
              head.c_str());
  for (const auto& t : r.front) {
    std::string row = fmt::format("{:<6}", t.number);
    for (size_t i = 0; i < widths.size(); ++i)
      row += fmt::format(" {:<{}}", i < t.values.size() ? fmt::format("{:.6g}", t.values[i]) : std::string("-"), widths[i]);
    row += fmt::format(" {:<8} {}{}", format_duration(t.duration_s().value_or(NAN)),
                       c ? fmt::format("{:<12} ", feasibility(t)) : std::string(), fmt_params(t.params_json()));
    std::printf("%s\n", row.c_str());
  }
}

void print_refit(const StudyResult& r) {
  if (!r.refit_test) return;
  std::printf("\nbest (trial %lld): mean CV %s %.4f; refit on all %lld training samples: test",
              static_cast<long long>(r.best->number), r.metric.c_str(), *r.best->value,
              static_cast<long long>(r.refit_train_samples));
  for (auto& [k, v] : *r.refit_test) std::printf(" %s %.4f", k.c_str(), v);
  std::printf(" (%.1fs)\n", r.refit_seconds);
}

// When the baseline's value was first matched (summary.json "baseline_reached"): the line under
// the before / after table.
void print_baseline_reached(const StudyResult& r) {
  const json& at = r.summary.contains("baseline_reached") ? r.summary["baseline_reached"] : json();
  if (!at.is_object()) {
    std::printf("\nno other trial reached the baseline's %s\n", r.metric.c_str());
    return;
  }
  auto span = [](double s) { return s < 60 ? fmt::format("{:.1f} s", s) : format_duration(s); };
  std::printf("\nthe baseline's %s was first reached by trial %lld, %s into the study (%s of trial time)\n",
              r.metric.c_str(), at["trial"].get<long long>(), span(at["after_s"].get<double>()).c_str(),
              span(at["trial_seconds"].get<double>()).c_str());
}

// Before / after: the baseline (enqueued first) against the best.
void print_before_after(const StudyResult& r) {
  if (!r.baseline) return;
  const FrozenTrial &base = *r.baseline, &best = *r.best;
  auto row = [](const std::string& name, const std::string& a, const std::string& b) {
    std::printf("%-22s %-16s %-16s\n", name.c_str(), a.c_str(), b.c_str());
  };
  std::printf("\n");
  row("", fmt::format("baseline (#{})", base.number), fmt::format("best (#{})", best.number));
  row(r.metric, value_text(r, base.value), value_text(r, best.value));
  if (r.command) {
    row("time", format_duration(base.duration_s().value_or(NAN)), format_duration(best.duration_s().value_or(NAN)));
    print_baseline_reached(r);
    return;
  }
  if (!r.folds) row("test accuracy", num(trial_number(base, "test.accuracy"), "{:.4f}"), num(trial_number(best, "test.accuracy"), "{:.4f}"));
  const char* time_key = r.folds ? "mean_fit_time" : "train_seconds";
  row(r.folds ? "mean fit time" : "training time", num(trial_number(base, time_key), "{:.1f} s"),
      num(trial_number(best, time_key), "{:.1f} s"));
  row("peak tensor memory", bytes(trial_number(base, "peak_tensor_bytes")), bytes(trial_number(best, "peak_tensor_bytes")));
  print_baseline_reached(r);
}

// Several objectives: the chosen trial (best.toml / best.json), and before / after with every
// objective's baseline and chosen value.
void print_chosen(const StudyResult& r) {
  if (!r.chosen) return;
  const FrozenTrial& c = *r.chosen;
  std::printf("\nchosen trial %lld (the %sPareto trial best on %s; best.%s): %s\n",
              static_cast<long long>(c.number), r.best_feasible ? "feasible " : "least-violating ",
              r.objectives[0].c_str(), r.command ? "json" : "toml", fmt_params(c.params_json()).c_str());
  if (!r.baseline) return;
  const FrozenTrial& base = *r.baseline;
  size_t w = 22;
  for (const auto& o : r.objectives) w = std::max(w, o.size() + 6);
  auto row = [&](const std::string& name, const std::string& a, const std::string& b) {
    std::printf("%-*s %-16s %-16s\n", static_cast<int>(w), name.c_str(), a.c_str(), b.c_str());
  };
  auto value = [](const FrozenTrial& t, size_t k) {
    return k < t.values.size() ? fmt::format("{:.6g}", t.values[k]) : std::string("-");
  };
  std::printf("\n");
  row("", fmt::format("baseline (#{})", base.number), fmt::format("chosen (#{})", c.number));
  for (size_t k = 0; k < r.objectives.size(); ++k)
    row(r.objectives[k] + (r.directions[k] == Direction::kMaximize ? " (max)" : " (min)"), value(base, k), value(c, k));
  if (!r.constraints.empty()) row("feasible", feasibility(base), feasibility(c));
  row("time", format_duration(base.duration_s().value_or(NAN)), format_duration(c.duration_s().value_or(NAN)));
}

}  // namespace

void print_study_result(const StudyResult& r, const std::string& out) {
  std::printf("\n%s: %lld trials in %s (%lld complete, %lld pruned, %lld failed)\n",
              r.interrupted ? "interrupted" : "done", static_cast<long long>(r.n_trials),
              format_duration(r.elapsed_s).c_str(), static_cast<long long>(r.complete),
              static_cast<long long>(r.pruned), static_cast<long long>(r.failed));
  if (!r.best && r.front.empty()) {
    std::printf("no trial completed; trials are in %s/trials.json%s\n", out.c_str(),
                r.command ? fmt::format(", logs in {}/trials/<n>/", out).c_str() : "");
    return;
  }
  if (!r.constraints.empty()) {
    std::string cs;
    for (const auto& c : r.constraints) cs += (cs.empty() ? "" : ", ") + c;
    std::printf("constraints: %s; %lld of %lld complete trial(s) feasible\n", cs.c_str(),
                static_cast<long long>(r.feasible), static_cast<long long>(r.complete));
  }
  if (r.best) {
    print_top(r);
    print_refit(r);
    std::printf("\nbest trial %lld: %s %s%s\n  %s\n", static_cast<long long>(r.best->number), r.metric.c_str(),
                value_text(r, r.best->value).c_str(),
                r.best_feasible ? ""
                                : fmt::format(" (INFEASIBLE: no trial satisfies the constraints; this one violates "
                                              "them least, by {:.4g})", constraint_violation(*r.best)).c_str(),
                fmt_params(r.best->params_json()).c_str());
    print_before_after(r);
  } else {
    print_front(r);
    print_chosen(r);
  }
  std::string files;
  for (const auto& f : r.files) files += (files.empty() ? "" : ", ") + f;
  std::printf("\noutputs: %s/ (%s%s)\n", out.c_str(), files.c_str(), r.command ? ", trials/<n>/ logs" : "");
}

}  // namespace hone::cli
