// The objective of a study config, run in this process: hone/study_runner.h.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/files.h"
#include "hone/study_runner.h"

namespace hone {

StudyRunner::StudyRunner(StudyConfig sc, Options options) : sc_(std::move(sc)), opt_(std::move(options)) {
  json& st = sc_.study();
  const int cores = std::max(1, opt_.cores);
  int n_jobs = opt_.jobs > 0 ? opt_.jobs : get_int_in(st, "n_jobs", 1, -1, INT32_MAX, "study");
  if (n_jobs == -1) n_jobs = cores;  // Optuna's n_jobs=-1: one trial per core this process may use
  if (n_jobs < 1) throw_invalid("study.n_jobs must be >= 1 or -1, got " + std::to_string(n_jobs));
  if (n_jobs > cores) {  // cores are a budget: at most one trial per core at once
    if (opt_.log)
      opt_.log(fmt::format("note: {} trials at once asked, but this process has {} cores; running {} at once", n_jobs,
                           cores, cores));
    n_jobs = cores;
  }
  n_jobs_ = n_jobs;
  st["n_jobs"] = n_jobs;
  if (sc_.command) build_command_objective(cores);
  else build_training_objective(cores);
}

void StudyRunner::build_command_objective(int cores) {
  CommandOptions co = command_options_from_json(sc_.cfg["objective"], sc_.base_dir, "objective");
  if (!sc_.cfg["objective"].contains("threads")) co.threads = std::max(1, cores / n_jobs_);
  if (co.threads > cores) {
    if (opt_.log) opt_.log(fmt::format("note: objective.threads = {} but this process has {} cores; using {}", co.threads,
                                       cores, cores));
    co.threads = cores;
  }
  threads_ = co.threads;
  co.run_dir = opt_.out;
  co.stop = opt_.stop;
  command_ = std::make_unique<CommandObjective>(sc_.space, co);
}

void StudyRunner::build_training_objective(int cores) {
  // Trials at once x threads per trial <= cores.
  const json train = sc_.cfg.value("train", json::object());
  if (train.contains("threads") && train["threads"].is_number_integer()) {
    const int64_t asked = get_int_at_least(train, "threads", 1, 1, "train");
    threads_ = static_cast<int>(std::min<int64_t>(asked, cores));
    if (asked * n_jobs_ > cores) {
      const int t = std::max(1, cores / n_jobs_);
      if (opt_.log)
        opt_.log(fmt::format("note: {} trials x {} threads > {} cores; each trial gets {} thread(s)", n_jobs_,
                             asked, cores, t));
      sc_.cfg["train"]["threads"] = threads_ = t;
    }
  } else if (!train.contains("threads")) {
    sc_.cfg["train"]["threads"] = threads_ = std::max(1, cores / n_jobs_);
  }
  const json& st = sc_.study();
  const uint64_t seed = static_cast<uint64_t>(get_int(sc_.cfg, "seed", 0, "config"));
  json data_cfg = sc_.cfg.value("data", json::object());
  if (sc_.folds && !data_cfg.contains("validation_fraction")) data_cfg["validation_fraction"] = 0.0;
  data_ = load_data(data_cfg, seed);
  sc_.cfg["data"] = data_cfg;
  const json cv = st.value("cv", json::object());
  ObjectiveOptions oopt;
  oopt.metric = sc_.metric;
  if (sc_.study().contains("objectives")) oopt.objectives = sc_.objectives;
  oopt.constraints = sc_.constraints;
  oopt.cv_folds = sc_.folds;
  oopt.stratified = get_bool(cv, "stratified", true, "study.cv");
  oopt.shuffle = get_bool(cv, "shuffle", true, "study.cv");
  oopt.seed = seed;
  oopt.stop = opt_.stop;
  training_ = std::make_unique<TrainingObjective>(sc_.cfg, data_, oopt);
}

std::string StudyRunner::describe(const Study& study) const {
  std::string goal;
  for (size_t i = 0; i < sc_.objectives.size(); ++i)
    goal += (i ? ", " : "") + std::string(to_string(sc_.directions[i])) + " " + sc_.objectives[i];
  for (const auto& c : sc_.constraints) goal += ", subject to " + c.text;
  // With nothing reported per epoch the pruner never acts: say so.
  std::string pruner = study.pruner().name();
  if (training_ && pruner != "nop" && !sc_.objectives.empty() && training_->per_epoch_metric().empty())
    pruner += fmt::format(" (off: objective 0, {}, is known only when a trial ends; put a per-epoch metric first to prune)",
                          sc_.objectives[0]);
  std::string s = fmt::format("study \"{}\": {} parameters, {}, sampler {}, pruner {}, {} trial(s) at once x {} thread(s)\n",
                              study.name(), sc_.dists.size(), goal, study.sampler().name(), pruner, n_jobs_, threads_);
  if (command_) {
    std::string shown;
    for (auto& a : command_->options().command) shown += (shown.empty() ? "" : " ") + a;
    s += fmt::format("command: {} (in {}; logs in {}/trials/<n>/)\n", shown, command_->options().cwd, opt_.out);
  } else {
    s += fmt::format("data: {} train, {} validation, {} test samples{}\n", data_.train.size(), data_.val.size(),
                     data_.test.size(), sc_.folds ? fmt::format(", {}-fold cross-validation", sc_.folds) : "");
  }
  return s;
}

double StudyRunner::run(Study& study, const RunOptions& options) {
  OptimizeOptions oo = optimize_options_from_json(sc_.study_json(), "study");
  oo.queued_only = options.queued;
  oo.n_trials = options.queued ? 0 : sc_.n_trials();  // a queue is its own limit
  if (options.timeout_s >= 0) oo.timeout_s = options.timeout_s;
  oo.n_jobs = n_jobs_;
  oo.stop = const_cast<std::atomic<bool>*>(opt_.stop);
  oo.callbacks = options.callbacks;
  const std::string tag = process_tag(), identity = process_identity();
  fail_trials_of_dead_processes(study);  // trials of a killed earlier run on this machine: FAIL + re-queued
  const auto t0 = std::chrono::steady_clock::now();
  auto values = [&](Trial& t) {
    if (!identity.empty()) t.set_system_attr(kProcessAttr, identity);
    t.set_system_attr(kWorkerAttr, tag);
    return training_ ? training_->values(t) : command_values(t);
  };
  if (sc_.multi_objective()) study.optimize(MultiObjective(values), oo);
  else study.optimize(Objective([&](Trial& t) { return values(t)[0]; }), oo);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<double> StudyRunner::command_values(Trial& t) {
  CommandResult r = command_->run(t);
  const size_t n = sc_.objectives.size();
  if (r.values.size() != n) {
    std::string names;
    for (auto& o : sc_.objectives) names += (names.empty() ? "" : ", ") + o;
    throw_runtime(fmt::format("the program reported {} value(s), the study has {} objective(s) ({}): print \"hone: "
                              "result v1 v2 ...\" with one value per objective",
                              r.values.size(), n, names));
  }
  std::map<std::string, double> metrics = r.metrics;
  for (size_t i = 0; i < n; ++i) metrics[sc_.objectives[i]] = r.values[i];
  return objective_values(t, metrics, sc_.objectives, sc_.constraints, r.constraints);
}

std::string default_out_dir(const std::string& study_name) {
  std::string safe;
  for (char c : study_name)
    safe += c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '_' : c;
  if (safe.empty() || safe == "." || safe == "..") safe = "_" + safe;
  return "runs/" + safe;
}

void check_output_dir(const std::string& dir, const std::string& what) {
  try {
    make_dirs(dir);
  } catch (const Error& e) {
    throw_io(what + " " + dir + ": cannot create it (" + e.what() + ")");
  }
  const std::string probe = dir + "/.hone-write-test-" + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw_io(what + " " + dir + ": cannot write there (" + std::strerror(errno) + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

int64_t fail_trials_of_worker(Study& study, const std::string& tag, const std::string& reason) {
  int64_t failed = 0;
  for (auto& t : study.trials(TrialStates{TrialState::kRunning})) {
    auto w = t.system_attrs.find(kWorkerAttr);
    if (w == t.system_attrs.end() || w->second != tag) continue;
    try {  // the trial may have finished in between: then it is left as it is
      study.storage().set_trial_system_attr(t.trial_id, "fail_reason", reason);
      study.storage().set_trial_state_values(t.trial_id, TrialState::kFail);
      ++failed;
    } catch (const Error&) {
    }
  }
  return failed;
}

}  // namespace hone
