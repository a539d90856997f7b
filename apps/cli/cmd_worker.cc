// hone worker --study NAME --storage URL [--out DIR] [--jobs N] [--timeout S] [--cores N] — run trials of a
// study that `hone tune` created in a shared storage, with nothing but its name and URL: the
// config (search space, data, objective, sampler, pruner) comes from the study itself (system
// attr "hone:config"). Runs until the study's queue is empty (n_trials in all, counted over every
// process) or, for a study without n_trials, until its timeout or Ctrl-C.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/study_print.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/store.h"
#include "hone/study_runner.h"
#include "hone/threads.h"

namespace hone::cli {

namespace {

namespace fs = std::filesystem;

class WorkerCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("worker", "Join a stored study and run its trials (many processes, many machines)");
    sub_->add_option("--study", study_, "Study name (as `hone tune` created it)")->required();
    sub_->add_option("--storage", storage_,
                     "Storage URL the study lives in: sqlite:///file.db or postgresql://... (default: the "
                     "HONE_STORAGE environment variable, which keeps a password off the process list)")
        ->envname(kStorageEnv)
        ->required();
    sub_->add_option("--out", out_, "Output directory for external trials' logs (default: runs/<study name>)");
    sub_->add_option("--jobs,-j", jobs_, "Trials at once in this process (default: study.n_jobs, at most the cores)")
        ->check(CLI::Range(1, 1024));
    sub_->add_option("--timeout", timeout_, "Start no trial after this many seconds (default: study.timeout)")
        ->check(finite_positive());
    sub_->add_option("--cores", cores_,
                     "Cores this worker may use (default: its CPU affinity; give the CPU limit under Kubernetes, "
                     "where the affinity is the whole node)")
        ->check(CLI::Range(1, 4096));
  }

  int run() override {
    ::unsetenv(kStorageEnv);  // read (CLI11 did); not passed on to the trials' programs
    JoinedStudy j = join_study(study_, storage_);
    StudyConfig& sc = j.config;
    PreparedStudy& p = j.prepared;
    if (timeout_ > 0) sc.study()["timeout"] = timeout_;
    const double timeout = get_double(sc.study(), "timeout", 0, "study");
    const std::string out = !out_.empty() ? out_ : default_out_dir(p.study->name());
    check_output_dir(out, out_.empty() ? "output folder" : "--out");
    const std::atomic<bool>* stop = install_interrupt_handler();
    const std::string tag = process_tag();
    const QueueState& q = p.queue;
    if (p.queued && q.waiting == 0) {
      std::printf("worker %s: study \"%s\" has no queued trial left (%lld finished, %lld running); nothing to do\n",
                  tag.c_str(), study_.c_str(), static_cast<long long>(q.finished), static_cast<long long>(q.running));
      return 0;
    }
    StudyRunner runner(sc, {.cores = cores_ > 0 ? cores_ : available_cores(),
                            .jobs = jobs_,
                            .out = out,
                            .stop = stop,
                            .log = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); }});
    std::fprintf(stderr, "worker %s joins study \"%s\" in %s: %s\n", tag.c_str(), study_.c_str(),
                 mask_storage_url(p.storage_url).c_str(),
                 p.queued ? fmt::format("{} of {} trials queued", q.waiting, q.total()).c_str()
                          : (timeout > 0 ? fmt::format("no n_trials; runs until {} s or Ctrl-C", timeout).c_str()
                                         : "no n_trials and no timeout; runs until Ctrl-C"));
    std::fputs(runner.describe(*p.study).c_str(), stderr);
    TuneProgress progress(p.total, timeout, stderr, q.finished);
    const double elapsed = runner.run(
        *p.study, {.queued = p.queued, .callbacks = {[&](Study& s, const FrozenTrial& t) { progress.on_trial(s, t); }}});
    progress.finish();
    int64_t mine = 0, complete = 0, pruned = 0, failed = 0;
    for (auto& t : p.study->trials(started_states())) {
      auto w = t.system_attrs.find(kWorkerAttr);
      if (w == t.system_attrs.end() || w->second != tag) continue;
      ++mine;
      complete += t.state == TrialState::kComplete;
      pruned += t.state == TrialState::kPruned;
      failed += t.state == TrialState::kFail;
    }
    const bool interrupted = stop->load();
    std::printf("worker %s %s: ran %lld trials in %s (%lld complete, %lld pruned, %lld failed)\n", tag.c_str(),
                interrupted ? "interrupted" : "done", static_cast<long long>(mine), format_duration(elapsed).c_str(),
                static_cast<long long>(complete), static_cast<long long>(pruned), static_cast<long long>(failed));
    return interrupted ? 130 : 0;
  }

 private:
  std::string study_, storage_, out_;
  int jobs_ = 0, cores_ = 0;
  double timeout_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_worker_command() { return std::make_unique<WorkerCommand>(); }

}  // namespace hone::cli
