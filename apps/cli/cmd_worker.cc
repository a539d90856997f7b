// hone worker --study NAME --storage URL [--out DIR] [--jobs N] [--timeout S] [--cores N] — run trials of a
// study that `hone tune` created in a shared storage, with nothing but its name and URL: the
// config (search space, data, objective, sampler, pruner) comes from the study itself (system
// attr "hone:config"). Runs until the study's queue is empty (n_trials in all, counted over every
// process) or, for a study without n_trials, until its timeout or Ctrl-C.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/tune_common.h"
#include "hone/random.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/store.h"
#include "hone/threads.h"

namespace hone::cli {

namespace {

namespace fs = std::filesystem;

class WorkerCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("worker", "Join a stored study and run its trials (many processes, many machines)");
    sub_->add_option("--study", study_, "Study name (as `hone tune` created it)")->required();
    sub_->add_option("--storage", storage_, "Storage URL the study lives in: sqlite:///file.db or postgresql://...")
        ->required();
    sub_->add_option("--out", out_, "Output directory for external trials' logs (default: runs/<study name>)");
    sub_->add_option("--jobs,-j", jobs_, "Trials at once in this process (default: study.n_jobs, at most the cores)")
        ->check(CLI::Range(1, 1024));
    sub_->add_option("--timeout", timeout_, "Start no trial after this many seconds (default: study.timeout)")
        ->check(CLI::PositiveNumber);
    sub_->add_option("--cores", cores_,
                     "Cores this worker may use (default: its CPU affinity; give the CPU limit under Kubernetes, "
                     "where the affinity is the whole node)")
        ->check(CLI::Range(1, 4096));
  }

  int run() override {
    register_sql_storages();
    const std::string url = normalize_storage_url(storage_);
    const std::string shown = mask_storage_url(url);
    if (is_private_storage(url))
      throw_invalid("hone worker: storage \"" + (url.empty() ? storage_ : shown) +
                    "\" lives in one process's memory; give the study's shared storage, sqlite:///file.db or "
                    "postgresql://...");
    const std::string file = sqlite_file_of(url);
    if (!file.empty() && !fs::exists(file))
      throw_io("hone worker: " + file + ": no such database file (create the study first: hone tune study.toml "
               "--storage " + shown + ")");
    std::shared_ptr<Storage> storage = open_storage(url);
    bool found = false;
    std::string known;
    for (auto& n : storage->get_all_study_names()) {
      found = found || n == study_;
      known += (known.empty() ? "" : ", ") + n;
    }
    if (!found)
      throw_invalid("hone worker: no study named \"" + study_ + "\" in " + shown +
                    (known.empty() ? std::string(" (it has no studies)") : " (it has: " + known + ")"));
    const int64_t id = storage->get_study_id_from_name(study_);
    auto attrs = storage->get_study_system_attrs(id);
    if (!attrs.count(kConfigAttr))
      throw_invalid("hone worker: study \"" + study_ + "\" in " + shown + " has no hone config (system attr " +
                    kConfigAttr + "); create it with `hone tune study.toml --storage " + shown + "`");
    StudyConfig sc = study_config_from_stored(attrs[kConfigAttr], "study \"" + study_ + "\"");
    if (timeout_ > 0) sc.study()["timeout"] = timeout_;
    const double timeout = get_double(sc.study(), "timeout", 0, "study");
    const bool queued = uses_queue(sc, url);

    auto study = open_configured_study(sc, storage);
    const std::string out = !out_.empty() ? out_ : (fs::path("runs") / study->name()).string();
    const std::atomic<bool>* stop = install_interrupt_handler();
    const std::string tag = process_tag();
    // TPE and random draw from one stream per process (numpy's, seeded like Optuna's): workers
    // sharing the config's seed would propose the same start-up trials, so each worker mixes its
    // host:pid into the seed. (QMC and grid stay shared: their points are indexed by trial.)
    if (const std::string sn = study->sampler().name(); sn == "tpe" || sn == "random")
      study->sampler().reseed(derive_seed(static_cast<uint64_t>(get_int(sc.study(), "seed", 0, "study")),
                                          std::hash<std::string>{}(tag)));
    QueueState q = queue_state(*study);
    if (queued && q.waiting == 0) {
      std::printf("worker %s: study \"%s\" has no queued trial left (%lld finished, %lld running); nothing to do\n",
                  tag.c_str(), study_.c_str(), static_cast<long long>(q.finished), static_cast<long long>(q.running));
      return 0;
    }
    StudyRunner runner(sc, cores_ > 0 ? cores_ : available_cores(), jobs_, out, stop);
    std::fprintf(stderr, "worker %s joins study \"%s\" in %s: %s\n", tag.c_str(), study_.c_str(), shown.c_str(),
                 queued ? fmt::format("{} of {} trials queued", q.waiting, q.total()).c_str()
                        : (timeout > 0 ? fmt::format("no n_trials; runs until {} s or Ctrl-C", timeout).c_str()
                                       : "no n_trials and no timeout; runs until Ctrl-C"));
    std::fputs(runner.describe(*study).c_str(), stderr);
    const double elapsed = runner.run(*study, queued, queued ? q.total() : 0, timeout, stderr);
    int64_t mine = 0, complete = 0, pruned = 0, failed = 0;
    for (auto& t : study->trials()) {
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
