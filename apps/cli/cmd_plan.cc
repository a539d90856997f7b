// hone plan PLAN.toml [--storage URL] [--out DIR] [--set key=value ...] [--fresh]
// Argument parsing and printing; the plan is read, run and judged by the library (hone/plan.h).
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "hone/error.h"
#include "hone/plan.h"
#include "hone/threads.h"

namespace hone::cli {

namespace {

class PlanCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand(
        "plan",
        "Reach goals on quality AND efficiency: a study config plus [goals] (val_accuracy = \">= 0.89\", "
        "train_seconds = \"minimize\") and [methods] (search, hardware). Runs the baseline, its diagnosis, the "
        "methods as studies in one storage (running it again continues), and ends with the goal table, "
        "plan.json and chosen.toml (docs/PLAN.md)");
    sub_->add_option("plan", path_, "Plan file (TOML): a study config + [goals] + [methods]")->required();
    sub_->add_option("--set", sets_, "Override a value of the plan, e.g. --set methods.search.trials=10 (repeatable)");
    sub_->add_option("--out", out_, "Output directory (default: runs/<plan name>)");
    sub_->add_option("--storage", storage_,
                     "Where the plan's studies live: sqlite:///file.db (default sqlite:///hone.db), postgresql://..., "
                     "or memory (gone at exit: nothing to continue)")
        ->envname(kStorageEnv);
    sub_->add_flag("--fresh", fresh_,
                   "Start over: delete the plan's studies (<plan>-baseline, <plan>-search) from the storage and its "
                   "outputs (plan.json, chosen.toml, search/) first");
  }

  int run() override {
    const Plan plan = load_plan(path_, sets_);  // every key checked: nothing exists yet
    const std::atomic<bool>* stop = install_interrupt_handler();
    PlanOptions o;
    o.storage_url = storage_.empty() ? std::string(kDefaultStudyStorage) : storage_;
    o.out = out_;
    o.cores = available_cores();
    o.fresh = fresh_;
    o.stop = stop;
    o.log = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
    o.callbacks = {[](Study& s, const FrozenTrial& t) {
      std::string v;
      for (double x : t.values) v += (v.empty() ? "" : ", ") + fmt::format("{:.4g}", x);
      if (v.empty() && t.value) v = fmt::format("{:.4g}", *t.value);
      std::fprintf(stderr, "  %s trial %lld %s%s%s\n", s.name().c_str(), static_cast<long long>(t.number),
                   to_string(t.state), v.empty() ? "" : (" [" + v + "]").c_str(),
                   t.state == TrialState::kFail ? (" " + t.fail_reason()).c_str() : "");
    }};
    const PlanResult r = run_plan(plan, o);
    std::fputs(format_goal_table(r).c_str(), stdout);
    std::printf("wrote %s/plan.json%s\n", r.out.c_str(), r.chosen_config.is_null() ? "" : " and chosen.toml");
    if (r.exit_code() == 1) throw_runtime("plan \"" + plan.name + "\": no search trial completed (the trial lines above say why)");
    return r.exit_code();
  }

 private:
  bool fresh_ = false;
  std::string path_, out_, storage_;
  std::vector<std::string> sets_;
};

}  // namespace

std::unique_ptr<Command> make_plan_command() { return std::make_unique<PlanCommand>(); }

}  // namespace hone::cli
