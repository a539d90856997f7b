// The study runner (hone/study_runner.h) driven as a library, the way `hone tune` and
// examples/cpp/study_from_config.cc drive it: a config file resolved, the stored study prepared
// (queue, baseline, stored config), joined by name, run by StudyRunner and finished into files.
// Training studies train a tiny MLP on examples/data/iris.csv for a few epochs; command studies
// run /bin/sh one-liners that speak the protocol of docs/EXTERNAL.md.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/study_runner.h"
#include "hone/tune/tune.h"

namespace hone {
namespace {

namespace fs = std::filesystem;

// A small training study: 2 x continuous search space, a baseline, 4 trials, 2 at once.
// @IRIS@ becomes the data file's absolute path.
const char* kIrisStudy = R"(
seed = 5
[study]
n_trials = 4
n_jobs = 2
metric = "val_accuracy"
sampler = { type = "random" }
pruner = { type = "nop" }
baseline = { "train.lr" = 0.01, "model.hidden_layers" = [8] }
[data]
source = "csv"
train = "@IRIS@"
target = "species"
scale = "standard"
test_fraction = 0.2
validation_fraction = 0.2
[model]
type = "mlp"
hidden_layers = { choice = [[8], [16]] }
[train]
epochs = 3
batch_size = 16
lr = { float = [1e-3, 1e-1], log = true }
)";

// A command study: the trial's value is its x, echoed back on stdout.
const char* kEchoStudy = R"(
[objective]
command = ["/bin/sh", "-c", "echo 'hone: result {x}'"]
[params]
x = { float = [0.0, 1.0] }
[study]
n_trials = 3
direction = "minimize"
sampler = { type = "random" }
)";

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The message of the Error that `f` throws ("" and a failure when it throws none).
std::string error_of(const std::function<void()>& f, ErrorKind kind = ErrorKind::kInvalidArgument) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no hone::Error thrown";
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

json stored_config(const Study& study) {
  auto attrs = study.storage().get_study_system_attrs(study.study_id());
  auto it = attrs.find(kConfigAttr);
  return it == attrs.end() ? json() : it->second;
}

size_t count_baselines(const Study& study) {
  size_t n = 0;
  for (const auto& t : study.trials()) n += t.user_attrs.count("baseline");
  return n;
}

// A temp folder per test, and the configs written into it.
class StudyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("hone_study_runner_" + std::to_string(getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Writes `toml` as <dir>/<stem>.toml and returns its path.
  std::string write_config(const std::string& stem, std::string toml) {
    const std::string iris = std::string(HONE_SOURCE_DIR) + "/examples/data/iris.csv";
    if (auto at = toml.find("@IRIS@"); at != std::string::npos) toml.replace(at, 6, iris);
    const std::string path = dir_ + "/" + stem + ".toml";
    std::ofstream(path) << toml;
    return path;
  }
  // The config `toml` written as <dir>/<stem>.toml, loaded, edited by `edit`, resolved.
  StudyConfig config(const std::string& stem, const std::string& toml = kIrisStudy,
                     const std::function<void(json&)>& edit = {}) {
    const std::string path = write_config(stem, toml);
    json cfg = load_toml_file(path);
    if (edit) edit(cfg);
    return resolve_study_config(std::move(cfg), path);
  }
  std::string db_url(const std::string& name = "hone.db") const { return "sqlite:///" + dir_ + "/" + name; }
  std::string out(const std::string& name = "out") const { return dir_ + "/" + name; }

  // Runs the prepared study in this process and finishes it into out().
  StudyResult run_and_finish(StudyConfig sc, PreparedStudy& p, StudyRunner::Options o = {.cores = 2}) {
    o.out = out();
    StudyRunner runner(std::move(sc), o);
    const double seconds = runner.run(*p.study, {.queued = p.queued});
    return finish_study(*p.study, runner, out(), seconds);
  }

  std::string dir_;
};
using ResolveStudyConfig = StudyFiles;
using PrepareStudy = StudyFiles;
using JoinStudy = StudyFiles;
using RunStudy = StudyFiles;

// ------------------------------------------------------------------------------ configs

// A trial finished at `end` s with `value`, having started at `start` s (end < 0: still running).
FrozenTrial timed(int64_t number, double start, double end, TrialState state, double value) {
  const Clock::time_point t0{};
  auto at = [&](double s) { return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  FrozenTrial t;
  t.number = number;
  t.state = state;
  t.datetime_start = at(start);
  if (end >= 0) t.datetime_complete = at(end);
  if (state == TrialState::kComplete) t.value = value;
  return t;
}

TEST(BaselineReached, TheFirstTrialToFinishAtOrPastTheBaselineAndTheTimeSpentUntilThen) {
  // Two at a time: the baseline (0.80) beside trial 1 (pruned at 3 s), then trial 2 (0.78), trial 3
  // (0.85, done at 16 s), trial 4 (0.90, done at 14 s: first, though numbered later), trial 5
  // still running, trial 6 starting after it.
  const std::vector<FrozenTrial> ts = {
      timed(0, 1, 10, TrialState::kComplete, 0.80), timed(1, 1, 3, TrialState::kPruned, 0),
      timed(2, 3, 9, TrialState::kComplete, 0.78),  timed(3, 9, 16, TrialState::kComplete, 0.85),
      timed(4, 10, 14, TrialState::kComplete, 0.90), timed(5, 14, -1, TrialState::kRunning, 0),
      timed(6, 15, 18, TrialState::kComplete, 0.95)};
  const json at = baseline_reached(ts, ts[0], Direction::kMaximize);
  ASSERT_TRUE(at.is_object()) << at;
  EXPECT_EQ(at["trial"], 4);
  EXPECT_NEAR(at["after_s"].get<double>(), 13, 1e-6);  // from the first start (1 s) to 14 s
  // Until 14 s: 9 + 2 + 6 + 5 (trial 3, still running) + 4 = 26; trial 5 started at 14 s, trial 6 later.
  EXPECT_NEAR(at["trial_seconds"].get<double>(), 26, 1e-6);
  // Matching the baseline counts (>=); minimizing turns the comparison round.
  const std::vector<FrozenTrial> tie = {timed(0, 0, 5, TrialState::kComplete, 0.5), timed(1, 5, 9, TrialState::kComplete, 0.5)};
  EXPECT_EQ(baseline_reached(tie, tie[0], Direction::kMinimize)["trial"], 1);
  const json lower = baseline_reached(ts, ts[0], Direction::kMinimize);
  EXPECT_EQ(lower["trial"], 2);
  EXPECT_NEAR(lower["after_s"].get<double>(), 8, 1e-6);
  // None at or past it: null.
  EXPECT_TRUE(baseline_reached({ts[0], ts[1], ts[2]}, ts[0], Direction::kMaximize).is_null());
}

TEST_F(ResolveStudyConfig, NamesTheStudyAndDerivesSeedAndDirection) {
  StudyConfig sc = config("iris_small");
  EXPECT_EQ(sc.name(), "iris_small");  // the file's stem
  EXPECT_EQ(sc.study()["seed"], 5);    // the config's seed
  EXPECT_EQ(sc.study()["direction"], "maximize");  // from val_accuracy
  EXPECT_EQ(sc.metric, "val_accuracy");
  EXPECT_FALSE(sc.command);
  EXPECT_EQ(sc.dists.size(), 2u);
  EXPECT_EQ(sc.base_dir, dir_);

  StudyConfig loss = config("loss", kIrisStudy, [](json& c) { c["study"]["metric"] = "val_loss"; });
  EXPECT_EQ(loss.study()["direction"], "minimize");
  StudyConfig kept = config("kept", kIrisStudy, [](json& c) {
    c["study"]["direction"] = "minimize";  // an explicit direction wins over the metric's
    c["study"]["name"] = "given";
  });
  EXPECT_EQ(kept.study()["direction"], "minimize");
  EXPECT_EQ(kept.name(), "given");

  // The storage URL may hold a password: never in the resolved or the stored form.
  StudyConfig with_url = config("url", kIrisStudy, [](json& c) {
    c["study"]["storage"] = "sqlite:///x.db";
    c["data"]["train"] = "data/../data/iris.csv";
  });
  // Data paths become absolute (workers start anywhere), from the working directory.
  EXPECT_EQ(with_url.cfg["data"]["train"], (fs::current_path() / "data/iris.csv").string());
  EXPECT_FALSE(with_url.study().contains("storage"));
  EXPECT_FALSE(with_url.to_stored()["config"]["study"].contains("storage"));
  EXPECT_EQ(study_config_from_stored(with_url.to_stored(), "here").cfg, with_url.cfg);
}

TEST_F(ResolveStudyConfig, OverridesApplyBeforeTheDirectionIsDerived) {
  const std::string path = write_config("iris", kIrisStudy);
  StudyConfig sc = load_study_config(path, {"study.metric=val_loss", "study.n_trials=6"});
  EXPECT_EQ(sc.metric, "val_loss");
  EXPECT_EQ(sc.study()["direction"], "minimize");  // from the overridden metric, not val_accuracy
  EXPECT_EQ(sc.n_trials(), 6);
}

TEST_F(ResolveStudyConfig, BadStudyKeysAreOneErrorBeforeAnyDatabaseExists) {
  const std::string db = dir_ + "/hone.db";
  // What `hone tune` does: load, then prepare. Each error must come from the load.
  auto load_and_prepare = [&](const std::string& stem, const std::function<void(json&)>& edit) {
    return error_of([&] {
      StudyConfig sc = config(stem, kIrisStudy, edit);
      prepare_study(sc, {.storage_url = "sqlite:///" + db});
    });
  };
  std::string m = load_and_prepare("nostudy", [](json& c) { c.erase("study"); });
  EXPECT_TRUE(has(m, "[study]")) << m;
  EXPECT_TRUE(has(m, "nostudy.toml")) << m;  // which file
  m = load_and_prepare("badbase", [](json& c) { c["study"]["baseline"]["model.nope"] = 1; });
  EXPECT_TRUE(has(m, "study.baseline")) << m;
  EXPECT_TRUE(has(m, "model.nope")) << m;
  m = load_and_prepare("negative", [](json& c) { c["study"]["n_trials"] = -2; });
  EXPECT_TRUE(has(m, "n_trials")) << m;
  m = load_and_prepare("text", [](json& c) { c["study"]["n_trials"] = "many"; });
  EXPECT_TRUE(has(m, "study.n_trials")) << m;
  m = load_and_prepare("sampler", [](json& c) { c["study"]["sampler"]["type"] = "tpz"; });
  EXPECT_TRUE(has(m, "tpz")) << m;
  EXPECT_FALSE(fs::exists(db));  // nothing was created
}

// ------------------------------------------------------------------------------ prepare / join

TEST_F(PrepareStudy, ANewStoredStudyIsQueuedBaselineFirstWithItsConfig) {
  StudyConfig sc = config("iris");
  PreparedStudy p = prepare_study(sc, {.storage_url = db_url()});
  EXPECT_TRUE(p.shared);
  EXPECT_TRUE(p.queued);
  EXPECT_FALSE(p.existed);
  EXPECT_EQ(p.deleted_trials, -1);
  EXPECT_EQ(p.queue.waiting, 4);
  EXPECT_EQ(p.total, 4);
  auto ts = p.study->trials();
  ASSERT_EQ(ts.size(), 4u);
  EXPECT_EQ(ts[0].user_attrs.at("baseline"), true);
  EXPECT_EQ(ts[0].system_attrs.at("fixed_params"), sc.baseline());
  EXPECT_EQ(count_baselines(*p.study), 1u);
  // The config is stored, so a worker can join with the study's name alone.
  EXPECT_EQ(stored_config(*p.study), sc.to_stored());
  EXPECT_EQ(p.study->direction(), Direction::kMaximize);
}

TEST_F(PrepareStudy, AgainContinuesGrowsWithMoreOrStartsFresh) {
  {
    StudyConfig sc = config("iris");
    prepare_study(sc, {.storage_url = db_url()});
  }
  StudyConfig again = config("iris");
  PreparedStudy p = prepare_study(again, {.storage_url = db_url()});
  EXPECT_TRUE(p.existed);
  EXPECT_FALSE(p.config_changed);
  EXPECT_EQ(p.study->trials().size(), 4u);  // the queue was full already

  StudyConfig more = config("iris");
  p = prepare_study(more, {.storage_url = db_url(), .more = 3});
  EXPECT_EQ(more.n_trials(), 7);  // the budget: the 4 it had + 3
  EXPECT_EQ(p.total, 7);
  EXPECT_EQ(p.study->trials().size(), 7u);
  EXPECT_EQ(count_baselines(*p.study), 1u);

  StudyConfig fresh = config("iris");
  p = prepare_study(fresh, {.storage_url = db_url(), .fresh = true});
  EXPECT_EQ(p.deleted_trials, 7);
  EXPECT_FALSE(p.existed);
  EXPECT_EQ(p.study->trials().size(), 4u);  // a new study, baseline and all
  EXPECT_EQ(count_baselines(*p.study), 1u);
}

TEST_F(PrepareStudy, AChangedSearchSpaceUnderTheSameNameIsReported) {
  StudyConfig sc = config("iris");
  prepare_study(sc, {.storage_url = db_url()});
  StudyConfig changed = config("iris", kIrisStudy, [](json& c) {
    c["model"]["hidden_layers"]["choice"] = json::array({json::array({8}), json::array({32})});
  });
  PreparedStudy p = prepare_study(changed, {.storage_url = db_url()});
  EXPECT_TRUE(p.existed);
  EXPECT_TRUE(p.config_changed);
}

TEST_F(PrepareStudy, AMemoryStudyHasNoQueueAndRefusesMore) {
  StudyConfig sc = config("iris");
  PreparedStudy p = prepare_study(sc, {.storage_url = "memory"});
  EXPECT_EQ(p.storage_url, "");
  EXPECT_FALSE(p.shared);
  EXPECT_FALSE(p.queued);
  EXPECT_EQ(p.total, 4);  // progress still counts against n_trials
  auto ts = p.study->trials();
  ASSERT_EQ(ts.size(), 1u);  // the baseline alone: trials are created as they run
  EXPECT_EQ(ts[0].user_attrs.at("baseline"), true);
  EXPECT_TRUE(stored_config(*p.study).is_null());  // no other process could read it

  StudyConfig more = config("iris");
  std::string m = error_of([&] { prepare_study(more, {.storage_url = "memory", .more = 3}); });
  EXPECT_TRUE(has(m, "memory")) << m;
}

TEST_F(JoinStudy, NamesWhatIsMissing) {
  // No database file: an I/O error naming the file, and no file created by asking.
  const std::string missing = dir_ + "/missing.db";
  std::string m = error_of([&] { join_study("iris", "sqlite:///" + missing); }, ErrorKind::kIoError);
  EXPECT_TRUE(has(m, missing)) << m;
  EXPECT_FALSE(fs::exists(missing));

  StudyConfig sc = config("iris");
  prepare_study(sc, {.storage_url = db_url()});
  create_study({.name = "bare", .storage = db_url()});  // a study hone tune did not make
  m = error_of([&] { join_study("nope", db_url()); });
  EXPECT_TRUE(has(m, "\"nope\"")) << m;
  EXPECT_TRUE(has(m, "it has: ")) << m;  // the studies that are there
  EXPECT_TRUE(has(m, "iris")) << m;
  EXPECT_TRUE(has(m, "bare")) << m;
  m = error_of([&] { join_study("bare", db_url()); });
  EXPECT_TRUE(has(m, kConfigAttr)) << m;
  m = error_of([&] { join_study("iris", "memory"); });  // no other process can see it
  EXPECT_TRUE(has(m, "memory")) << m;
}

TEST_F(JoinStudy, GivesTheStoredConfigAndItsQueue) {
  StudyConfig sc = config("iris");
  prepare_study(sc, {.storage_url = db_url()});
  JoinedStudy j = join_study("iris", db_url());
  EXPECT_EQ(j.config.cfg, sc.cfg);
  EXPECT_EQ(j.config.base_dir, sc.base_dir);
  EXPECT_EQ(j.config.metric, "val_accuracy");
  EXPECT_TRUE(j.prepared.existed);
  EXPECT_TRUE(j.prepared.queued);
  EXPECT_EQ(j.prepared.queue.waiting, 4);
  EXPECT_EQ(j.prepared.total, 4);
  EXPECT_EQ(j.prepared.study->direction(), Direction::kMaximize);
}

// ------------------------------------------------------------------------------ running

TEST_F(RunStudy, RunsTheQueueOnceTagsEveryTrialAndWritesTheOutputs) {
  StudyConfig sc = config("iris", kIrisStudy, [](json& c) { c["study"]["top"] = 3; });
  PreparedStudy p = prepare_study(sc, {.storage_url = db_url()});
  StudyResult r = run_and_finish(sc, p);

  auto ts = p.study->trials();
  ASSERT_EQ(ts.size(), 4u);  // n_trials, with 2 at once, none extra
  for (const auto& t : ts) {
    EXPECT_EQ(t.state, TrialState::kComplete) << t.number << ": " << t.fail_reason();
    EXPECT_EQ(t.system_attrs.at(kWorkerAttr), process_tag()) << t.number;
  }
  // The baseline ran first, with its values.
  ASSERT_TRUE(r.baseline);
  EXPECT_EQ(r.baseline->number, 0);
  EXPECT_EQ(r.baseline->params_json(), sc.baseline());

  for (const char* f : {"trials.json", "trials.csv", "best.toml", "summary.json"}) {
    EXPECT_TRUE(fs::exists(out() + "/" + f)) << f;
    EXPECT_NE(std::find(r.files.begin(), r.files.end(), f), r.files.end()) << f;
  }
  EXPECT_EQ(json::parse(slurp(out() + "/summary.json")), r.summary);
  EXPECT_EQ(json::parse(slurp(out() + "/trials.json")).size(), 4u);

  // The best has the highest val_accuracy (maximize).
  ASSERT_TRUE(r.best);
  double highest = -1;
  for (const auto& t : ts) highest = std::max(highest, *t.value);
  EXPECT_EQ(*r.best->value, highest);
  EXPECT_EQ(r.summary["best_trial"], r.best->number);
  EXPECT_TRUE(r.summary.contains("before") && r.summary.contains("after"));
  EXPECT_EQ(r.summary["baseline_reached"], baseline_reached(ts, *r.baseline, Direction::kMaximize));
  EXPECT_EQ(r.n_trials, 4);
  EXPECT_EQ(r.complete, 4);
  EXPECT_FALSE(r.command);
  EXPECT_EQ(r.exit_code(), 0);

  // top: at most study.top, best first.
  ASSERT_EQ(r.top.size(), 3u);
  EXPECT_EQ(*r.top[0].value, *r.best->value);
  for (size_t i = 1; i < r.top.size(); ++i) EXPECT_GE(*r.top[i - 1].value, *r.top[i].value);
}

TEST_F(RunStudy, AStoppedRunLeavesItsQueueWaitingAndOutOfTheOutputs) {
  StudyConfig sc = config("iris");
  PreparedStudy p = prepare_study(sc, {.storage_url = db_url()});
  const std::atomic<bool> stop{true};  // Ctrl-C before the first trial
  StudyResult r = [&] {
    StudyRunner runner(sc, {.cores = 2, .out = out(), .stop = &stop});
    const double seconds = runner.run(*p.study, {.queued = p.queued});
    return finish_study(*p.study, runner, out(), seconds, /*interrupted=*/true);
  }();
  EXPECT_EQ(queue_state(*p.study).waiting, 4);  // nothing claimed
  EXPECT_EQ(r.n_trials, 0);                     // WAITING trials are not results
  EXPECT_EQ(json::parse(slurp(out() + "/trials.json")), json::array());
  EXPECT_EQ(r.exit_code(), 130);

  // Preparing again continues the same queue, baseline first.
  StudyConfig again = config("iris");
  PreparedStudy q = prepare_study(again, {.storage_url = db_url()});
  EXPECT_TRUE(q.existed);
  r = run_and_finish(again, q);
  EXPECT_EQ(r.n_trials, 4);
  EXPECT_EQ(r.complete, 4);
  ASSERT_TRUE(r.baseline);
  EXPECT_EQ(r.baseline->number, 0);
}

TEST_F(RunStudy, CrossValidatedGridWritesCvResultsAndRefitsTheBest) {
  StudyConfig sc = config("cv", kIrisStudy, [](json& c) {
    json& st = c["study"];
    st.erase("baseline");
    st.erase("n_trials");  // the grid is the budget
    st["sampler"] = {{"type", "grid"}};
    st["metric"] = "accuracy";
    st["cv"] = {{"folds", 3}};
    c["data"].erase("validation_fraction");
    c["model"]["hidden_layers"] = json::array({8});
    c["train"]["lr"] = {{"choice", {0.01, 0.1}}};
  });
  EXPECT_TRUE(sc.grid());
  PreparedStudy p = prepare_study(sc, {.storage_url = db_url()});
  EXPECT_EQ(p.total, 2);  // one trial per grid point
  StudyResult r = run_and_finish(sc, p);
  EXPECT_EQ(r.n_trials, 2);
  EXPECT_EQ(r.folds, 3);
  EXPECT_TRUE(fs::exists(out() + "/cv_results.json"));
  EXPECT_TRUE(fs::exists(out() + "/best.hone"));
  EXPECT_EQ(json::parse(slurp(out() + "/cv_results.json")).size(), 2u);
  ASSERT_TRUE(r.refit_test);
  EXPECT_TRUE(r.refit_test->count("accuracy"));
  EXPECT_GT(r.refit_train_samples, 0);
  EXPECT_EQ(r.exit_code(), 0);
}

TEST_F(RunStudy, ACommandStudyWritesBestJsonWithTheFilledCommand) {
  StudyConfig sc = config("echo", kEchoStudy);
  EXPECT_TRUE(sc.command);
  EXPECT_EQ(sc.metric, "value");
  PreparedStudy p = prepare_study(sc, {.storage_url = "memory"});
  // A PRUNED trial whose last report beats every x in [0, 1]: it must not be the best.
  Trial pruned = p.study->ask();
  pruned.report(-1.0, 0);
  p.study->tell(pruned, TrialState::kPruned);
  StudyResult r = run_and_finish(sc, p);
  EXPECT_TRUE(r.command);
  EXPECT_EQ(r.complete, 3) << r.summary;
  EXPECT_EQ(r.pruned, 1);
  ASSERT_TRUE(r.best);
  EXPECT_NE(r.best->number, pruned.number());
  for (const auto& t : r.top) EXPECT_EQ(t.state, TrialState::kComplete) << t.number;
  const double x = r.best->param("params.x").get<double>();
  EXPECT_EQ(*r.best->value, x);  // the program's result is the trial's value
  ASSERT_TRUE(fs::exists(out() + "/best.json"));
  EXPECT_FALSE(fs::exists(out() + "/best.toml"));
  const json best = json::parse(slurp(out() + "/best.json"));
  EXPECT_EQ(best["trial"], r.best->number);
  ASSERT_EQ(best["command"].size(), 3u);
  // {x} filled in: the script echoes the value it was given.
  EXPECT_EQ(best["command"][2].get<std::string>().find("{x}"), std::string::npos) << best;
  EXPECT_EQ(std::stod(best["command"][2].get<std::string>().substr(std::string("echo 'hone: result ").size())), x)
      << best;
  EXPECT_EQ(r.exit_code(), 0);
}

TEST_F(RunStudy, AStudyWhoseEveryTrialFailsExitsOneWithNoBest) {
  StudyConfig sc = config("fails", kEchoStudy, [](json& c) {
    c["objective"]["command"] = {"/bin/sh", "-c", "echo 'x was {x}' >&2; exit 3"};
  });
  PreparedStudy p = prepare_study(sc, {.storage_url = "memory"});
  StudyResult r = run_and_finish(sc, p);
  EXPECT_EQ(r.failed, 3);
  EXPECT_EQ(r.complete, 0);
  EXPECT_FALSE(r.best);
  EXPECT_TRUE(r.top.empty());
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_TRUE(fs::exists(out() + "/trials.json"));  // the failures are still on record
  EXPECT_FALSE(fs::exists(out() + "/best.json"));
  EXPECT_TRUE(has(p.study->trials()[0].fail_reason(), "exit code 3")) << p.study->trials()[0].fail_reason();
}

TEST_F(RunStudy, JobsAreCappedAtTheCoresAndThreadsShareThem) {
  std::vector<std::string> notes;
  auto options = [&](int cores, int jobs) {
    return StudyRunner::Options{.cores = cores, .jobs = jobs, .out = out(),
                                .log = [&](const std::string& m) { notes.push_back(m); }};
  };
  {
    StudyRunner runner(config("capped"), options(2, 4));
    EXPECT_EQ(runner.n_jobs(), 2);
    EXPECT_EQ(runner.config().study()["n_jobs"], 2);  // what optimize will run
    EXPECT_EQ(runner.threads(), 1);                   // 2 cores / 2 trials
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_TRUE(has(notes[0], "4 trials at once")) << notes[0];
    EXPECT_TRUE(has(notes[0], "2 cores")) << notes[0];
  }
  notes.clear();
  {
    StudyRunner runner(config("shared"), options(6, 0));  // jobs from study.n_jobs = 2
    EXPECT_EQ(runner.n_jobs(), 2);
    EXPECT_EQ(runner.threads(), 3);  // train.threads unset: cores / jobs
    EXPECT_EQ(runner.config().cfg["train"]["threads"], 3);
    EXPECT_TRUE(notes.empty());
  }
  {
    StudyRunner runner(config("given", kIrisStudy, [](json& c) { c["train"]["threads"] = 3; }), options(4, 2));
    EXPECT_EQ(runner.threads(), 2);  // 2 trials x 3 threads > 4 cores
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_TRUE(has(notes[0], "2 thread(s)")) << notes[0];
  }
  {
    StudyRunner runner(config("command", kEchoStudy), options(4, 2));
    EXPECT_EQ(runner.threads(), 2);  // a command's threads too: cores / jobs
    ASSERT_TRUE(runner.command_options());
    EXPECT_EQ(runner.command_options()->threads, 2);  // what OMP_NUM_THREADS will say
  }
}

TEST_F(RunStudy, NJobsMinusOneRunsOneTrialPerCore) {
  StudyConfig sc = config("every_core", kIrisStudy, [](json& c) { c["study"]["n_jobs"] = -1; });
  StudyRunner runner(std::move(sc), {.cores = 2, .out = out()});
  EXPECT_EQ(runner.n_jobs(), 2);  // every core this process has, one trial each
  EXPECT_EQ(runner.threads(), 1);
}

TEST(FailTrialsOfWorker, FailsOnlyThatWorkersRunningTrials) {
  auto study = create_study({.sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  auto started_by = [&](const std::string& tag) {
    Trial t = study->ask();
    t.set_system_attr(kWorkerAttr, tag);
    return t;
  };
  Trial a0 = started_by("host:1"), b = started_by("host:2"), a_done = started_by("host:1"), a1 = started_by("host:1");
  study->tell(a_done, 0.5);
  EXPECT_EQ(fail_trials_of_worker(*study, "host:1", "worker host:1 died"), 2);
  auto ts = study->trials();
  EXPECT_EQ(ts[0].state, TrialState::kFail);
  EXPECT_EQ(ts[0].fail_reason(), "worker host:1 died");
  EXPECT_EQ(ts[1].state, TrialState::kRunning);  // another worker's
  EXPECT_EQ(ts[2].state, TrialState::kComplete);  // finished before the worker died
  EXPECT_EQ(*ts[2].value, 0.5);
  EXPECT_EQ(ts[3].state, TrialState::kFail);
  EXPECT_EQ(fail_trials_of_worker(*study, "host:1", "again"), 0);  // nothing left of it
}

TEST(StudyResult, ExitCodeIsInterruptedThenNoCompleteTrialThenZero) {
  StudyResult r;
  EXPECT_EQ(r.exit_code(), 1);  // no COMPLETE trial
  r.complete = 1;
  EXPECT_EQ(r.exit_code(), 0);
  r.interrupted = true;
  EXPECT_EQ(r.exit_code(), 130);  // Ctrl-C wins
}

TEST(TrialNumber, ReadsPlainAndDottedUserAttrsNanWhenAbsent) {
  FrozenTrial t;
  t.user_attrs["train_seconds"] = 1.5;
  t.user_attrs["test"] = {{"accuracy", 0.875}};
  t.user_attrs["note"] = "fast";
  EXPECT_EQ(trial_number(t, "train_seconds"), 1.5);
  EXPECT_EQ(trial_number(t, "test.accuracy"), 0.875);
  EXPECT_TRUE(std::isnan(trial_number(t, "test.loss")));  // no such nested key
  EXPECT_TRUE(std::isnan(trial_number(t, "peak_tensor_bytes")));
  EXPECT_TRUE(std::isnan(trial_number(t, "note")));  // not a number
  EXPECT_TRUE(std::isnan(trial_number(t, "train_seconds.x")));  // not a table
}

}  // namespace
}  // namespace hone
