// The WAITING-trial queue (hone/tune/queue.h): fill_queue tops a study's budget up to a target,
// the baseline first and once, a grid one trial per point; Study::optimize with queued_only runs
// exactly the queue; and study_options_from_json, the one parser of direction, sampler, pruner.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/tune/queue.h"
#include "hone/tune/tune.h"

using namespace hone;

namespace {

namespace fs = std::filesystem;

std::shared_ptr<Study> memory_study(std::shared_ptr<Sampler> sampler = nullptr) {
  return create_study({.sampler = sampler ? sampler : make_random_sampler(1), .pruner = make_nop_pruner()});
}

// A fresh SQLite URL in the test temp dir.
std::string sqlite_url(const std::string& tag) {
  static int n = 0;
  const fs::path p = fs::path(::testing::TempDir()) /
                     ("hone_queue_" + tag + "_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ".db");
  for (const char* s : {"", "-wal", "-shm", "-journal"}) fs::remove(p.string() + s);
  return "sqlite:///" + p.string();
}

size_t count(const Study& study, TrialState state) { return study.trials({state}).size(); }

size_t count_baselines(const Study& study) {
  size_t n = 0;
  for (const auto& t : study.trials()) n += t.user_attrs.count("baseline");
  return n;
}

// The grid of the brief: 2 x 3 points, names sorted a, b.
json grid_plan(std::optional<int64_t> seed = std::nullopt) {
  json g = {{"type", "grid"}, {"search_space", {{"a", {1, 2}}, {"b", {"x", "y", "z"}}}}};
  if (seed) g["seed"] = *seed;
  return g;
}

// Grid ids of the study's trials, in trial-number order (-1 for a trial that has none).
std::vector<int64_t> grid_ids(const Study& study) {
  std::vector<int64_t> ids;
  for (const auto& t : study.trials()) {
    auto g = t.system_attrs.find("grid_id");
    ids.push_back(g == t.system_attrs.end() ? -1 : g->second.get<int64_t>());
  }
  return ids;
}

// The fixed values of each queued trial, as "a=1,b=x" (grid trials only: both parameters).
std::set<std::string> queued_points(const Study& study) {
  std::set<std::string> points;
  for (const auto& t : study.trials()) {
    const json& f = t.system_attrs.at("fixed_params");
    points.insert("a=" + f.at("a").dump() + ",b=" + f.at("b").get<std::string>());
  }
  return points;
}

const std::set<std::string> kAllPoints = {"a=1,b=x", "a=1,b=y", "a=1,b=z", "a=2,b=x", "a=2,b=y", "a=2,b=z"};

// An objective over the grid's parameters (or a float x for blank trials) that counts its calls.
struct CountingObjective {
  std::atomic<int> calls{0};
  bool grid = false;
  double operator()(Trial& t) {
    ++calls;
    if (!grid) return t.suggest_float("x", 0, 1);
    const json a = t.suggest_categorical("a", std::vector<json>{1, 2, 3});  // 3: off the grid
    t.suggest_categorical("b", std::vector<std::string>{"x", "y", "z"});
    return a.get<double>();
  }
  Objective fn() {
    return [this](Trial& t) { return (*this)(t); };
  }
};

// Finishes one claimed trial (the oldest WAITING one, or a new one) with `state`.
void run_one(Study& study, TrialState state) {
  Trial t = study.ask();
  t.suggest_float("x", 0, 1);
  study.tell(t, state, state == TrialState::kFail ? std::nullopt : std::optional<double>(0.5));
}

size_t occurrences(const std::string& s, const std::string& part) {
  size_t n = 0;
  for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

// The message of the one Error study_options_from_json throws for this direction.
std::string direction_error(const json& direction) {
  try {
    study_options_from_json({{"direction", direction}});
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no error for direction " << direction;
  return "";
}

}  // namespace

// ------------------------------------------------------------------------------ blank plans

TEST(Queue, BlankPlanTopsUpToTheTargetCountingEveryState) {
  auto study = memory_study();
  run_one(*study, TrialState::kComplete);  // a trial made before any queue
  QueueState q = fill_queue(*study, {}, 5);
  // The finished trial counts against the target: 4 new WAITING ones, not 5.
  EXPECT_EQ(q.finished, 1);
  EXPECT_EQ(q.waiting, 4);
  EXPECT_EQ(q.total(), 5);
  EXPECT_EQ(count(*study, TrialState::kWaiting), 4u);

  run_one(*study, TrialState::kPruned);
  Trial running = study->ask();  // claims a WAITING trial and keeps it RUNNING
  q = fill_queue(*study, {}, 5);
  // 2 finished + 1 running + 2 waiting = 5: nothing to add.
  EXPECT_EQ(q.finished, 2);
  EXPECT_EQ(q.running, 1);
  EXPECT_EQ(q.waiting, 2);
  EXPECT_EQ(study->trials().size(), 5u);

  q = fill_queue(*study, {}, 8);  // a larger target adds the difference
  EXPECT_EQ(q.waiting, 5);
  EXPECT_EQ(q.total(), 8);
  EXPECT_EQ(study->trials().size(), 8u);
  EXPECT_EQ(count(*study, TrialState::kWaiting), 5u);
}

TEST(Queue, BaselineIsQueuedFirstAndOncePerStudy) {
  auto study = memory_study();
  const QueuePlan plan{.baseline = {{"x", 0.25}, {"n", 3}}};
  fill_queue(*study, plan, 3);
  auto ts = study->trials();
  ASSERT_EQ(ts.size(), 3u);
  EXPECT_EQ(ts[0].user_attrs.at("baseline"), true);
  EXPECT_EQ(count_baselines(*study), 1u);

  // The first claimed trial is the baseline, and suggest_* return its values.
  Trial t = study->ask();
  EXPECT_EQ(t.number(), 0);
  EXPECT_EQ(t.suggest_float("x", 0, 1), 0.25);
  EXPECT_EQ(t.suggest_int("n", 1, 5), 3);
  study->tell(t, 1.0);

  // A second fill after the baseline ran tops up with blank trials only.
  fill_queue(*study, plan, 6);
  EXPECT_EQ(study->trials().size(), 6u);
  EXPECT_EQ(count_baselines(*study), 1u);
  study->optimize([](Trial& tr) { return tr.suggest_float("x", 0, 1); }, {.queued_only = true});
  fill_queue(*study, plan, 8);  // and so does a fill after the whole queue ran
  EXPECT_EQ(count_baselines(*study), 1u);
  EXPECT_EQ(study->trials().size(), 8u);
}

TEST(Queue, EnqueueBaselineOnlyIntoAnEmptyStudy) {
  const json baseline = {{"x", 0.75}};
  auto study = memory_study();
  enqueue_baseline(*study, json());  // null: no baseline
  EXPECT_EQ(study->trials().size(), 0u);
  enqueue_baseline(*study, baseline);
  ASSERT_EQ(study->trials().size(), 1u);
  EXPECT_EQ(study->trials()[0].state, TrialState::kWaiting);
  EXPECT_EQ(study->trials()[0].user_attrs.at("baseline"), true);
  enqueue_baseline(*study, baseline);  // the study is no longer empty
  EXPECT_EQ(study->trials().size(), 1u);

  auto ran = memory_study();
  run_one(*ran, TrialState::kComplete);
  enqueue_baseline(*ran, baseline);  // a study that ran a trial gets no baseline
  EXPECT_EQ(ran->trials().size(), 1u);
  EXPECT_EQ(count_baselines(*ran), 0u);
}

// ------------------------------------------------------------------------------ grids

TEST(Queue, GridPlanQueuesEveryPointOnceWithGridTags) {
  auto study = memory_study();
  const QueuePlan plan{.grid = grid_plan()};
  QueueState q = fill_queue(*study, plan, 0);  // 0: the whole grid
  EXPECT_EQ(q.waiting, 6);
  auto ts = study->trials();
  ASSERT_EQ(ts.size(), 6u);
  for (const auto& t : ts) {
    EXPECT_TRUE(t.system_attrs.count("grid_id")) << t.number;
    EXPECT_EQ(t.system_attrs.at("search_space"), plan.grid["search_space"]) << t.number;
  }
  EXPECT_EQ(queued_points(*study), kAllPoints);
  // Unseeded: GridSampler's order, mixed radix with the first (sorted) name slowest.
  EXPECT_EQ(grid_ids(*study), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(ts[1].system_attrs.at("fixed_params"), (json{{"a", 1}, {"b", "y"}}));

  // Filling again, even to a target beyond the grid, adds no point twice.
  fill_queue(*study, plan, 0);
  fill_queue(*study, plan, 10);
  EXPECT_EQ(study->trials().size(), 6u);
}

TEST(Queue, SeededGridIsAnotherOrderOfTheSamePoints) {
  auto plain = memory_study(), seeded = memory_study();
  fill_queue(*plain, {.grid = grid_plan()}, 0);
  fill_queue(*seeded, {.grid = grid_plan(3)}, 0);
  std::vector<int64_t> ids = grid_ids(*seeded);
  EXPECT_NE(ids, grid_ids(*plain));  // shuffled
  EXPECT_EQ(queued_points(*seeded), kAllPoints);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, grid_ids(*plain));  // a permutation: every point once
}

TEST(Queue, SeededGridQueueFollowsGridSamplersOrder) {
  // The same grid run by GridSampler itself, without a queue.
  auto sampled = memory_study(make_sampler(grid_plan(3)));
  CountingObjective obj{.grid = true};
  sampled->optimize(obj.fn());  // the grid ends the study
  ASSERT_EQ(sampled->trials().size(), 6u);

  auto queued = memory_study();
  fill_queue(*queued, {.grid = grid_plan(3)}, 0);
  EXPECT_EQ(grid_ids(*queued), grid_ids(*sampled));
}

TEST(Queue, GridTargetBelowTheGridSizeQueuesAPrefix) {
  auto whole = memory_study(), part = memory_study();
  fill_queue(*whole, {.grid = grid_plan(3)}, 0);
  const std::vector<int64_t> order = grid_ids(*whole);

  QueueState q = fill_queue(*part, {.grid = grid_plan(3)}, 4);
  EXPECT_EQ(q.total(), 4);
  EXPECT_EQ(grid_ids(*part), std::vector<int64_t>(order.begin(), order.begin() + 4));
  // Growing the target continues the same order, with no point twice.
  fill_queue(*part, {.grid = grid_plan(3)}, 0);
  EXPECT_EQ(grid_ids(*part), order);
}

TEST(Queue, BaselineOnAGridPointTakesThatPointsPlace) {
  auto study = memory_study();
  fill_queue(*study, {.baseline = {{"a", 2}, {"b", "y"}}, .grid = grid_plan()}, 0);
  auto ts = study->trials();
  ASSERT_EQ(ts.size(), 6u);  // not 7: the baseline is grid point 4
  EXPECT_EQ(ts[0].user_attrs.at("baseline"), true);
  EXPECT_EQ(ts[0].system_attrs.at("grid_id"), 4);
  EXPECT_EQ(queued_points(*study), kAllPoints);
  EXPECT_EQ(count_baselines(*study), 1u);
}

TEST(Queue, BaselineOutsideTheGridIsAnExtraTrial) {
  auto study = memory_study();
  fill_queue(*study, {.baseline = {{"a", 3}, {"b", "x"}}, .grid = grid_plan()}, 0);
  auto ts = study->trials();
  ASSERT_EQ(ts.size(), 7u);
  EXPECT_EQ(ts[0].user_attrs.at("baseline"), true);
  EXPECT_FALSE(ts[0].system_attrs.count("grid_id"));  // not a grid point
  ts.erase(ts.begin());
  std::set<int64_t> ids;
  for (const auto& t : ts) ids.insert(t.system_attrs.at("grid_id").get<int64_t>());
  EXPECT_EQ(ids.size(), 6u);
}

// ------------------------------------------------------------------------------ queued_only

TEST(Queue, QueuedOnlyRunsExactlyTheQueueAndCreatesNone) {
  auto study = memory_study();
  fill_queue(*study, {.baseline = {{"x", 0.5}}}, 5);
  CountingObjective obj;
  study->optimize(obj.fn(), {.n_jobs = 2, .queued_only = true});
  EXPECT_EQ(obj.calls.load(), 5);
  EXPECT_EQ(study->trials().size(), 5u);
  EXPECT_EQ(count(*study, TrialState::kComplete), 5u);

  // An empty queue: nothing runs.
  study->optimize(obj.fn(), {.n_jobs = 2, .queued_only = true});
  EXPECT_EQ(obj.calls.load(), 5);
  EXPECT_EQ(study->trials().size(), 5u);

  // Without queued_only, optimize creates trials as before.
  study->optimize(obj.fn(), {.n_trials = 3});
  EXPECT_EQ(obj.calls.load(), 8);
  EXPECT_EQ(count(*study, TrialState::kComplete), 8u);
}

TEST(Queue, QueuedOnlyRunsEachGridPointOnce) {
  auto study = memory_study(make_sampler(grid_plan()));
  fill_queue(*study, {.baseline = {{"a", 3}, {"b", "z"}}, .grid = grid_plan()}, 0);
  CountingObjective obj{.grid = true};
  study->optimize(obj.fn(), {.n_jobs = 2, .queued_only = true});
  EXPECT_EQ(obj.calls.load(), 7);  // six points and the baseline
  EXPECT_EQ(count(*study, TrialState::kComplete), 7u);
  std::set<std::string> seen;
  for (const auto& t : study->trials()) seen.insert(t.params_json().dump());
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_TRUE(seen.count(json({{"a", 3}, {"b", "z"}}).dump()));
}

TEST(Queue, TwoHandlesOnOneSqliteFileShareTheQueue) {
  register_sql_storages();
  const std::string url = sqlite_url("shared");
  auto filler = create_study({.name = "q", .storage = url, .sampler = make_random_sampler(1)});
  fill_queue(*filler, {.baseline = {{"x", 0.5}}}, 6);

  // A second handle, as another process would open it: same counts, and refilling adds nothing.
  auto other = load_study("q", url, make_random_sampler(2), make_nop_pruner());
  QueueState q = queue_state(*other);
  EXPECT_EQ(q.waiting, 6);
  EXPECT_EQ(fill_queue(*other, {.baseline = {{"x", 0.5}}}, 6).total(), 6);

  CountingObjective a, b;
  std::thread ta([&] { filler->optimize(a.fn(), {.n_jobs = 2, .queued_only = true}); });
  std::thread tb([&] { other->optimize(b.fn(), {.queued_only = true}); });
  ta.join();
  tb.join();
  // The two handles together ran the queue exactly: 6 trials, numbers 0..5, the baseline once.
  EXPECT_EQ(a.calls.load() + b.calls.load(), 6);
  auto ts = other->trials();
  ASSERT_EQ(ts.size(), 6u);
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(ts[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(ts[i].state, TrialState::kComplete);
  }
  EXPECT_EQ(ts[0].param("x"), 0.5);
  EXPECT_EQ(count_baselines(*other), 1u);
}

TEST(Queue, AGridStoredInSqliteKnowsItsPointsAfterReopening) {
  register_sql_storages();
  const std::string url = sqlite_url("grid");
  // Floats that only read back equal if the stored search space keeps every digit.
  const json plan = {{"type", "grid"}, {"search_space", {{"lr", {0.1, 1e-3, 0.1 + 0.2}}, {"b", {"x"}}}}};
  fill_queue(*create_study({.name = "g", .storage = url}), {.grid = plan}, 2);
  auto reopened = load_study("g", url);
  const QueueState q = fill_queue(*reopened, {.grid = plan}, 0);
  EXPECT_EQ(q.total(), 3);  // the 2 stored points are recognised, 1 added
  std::set<int64_t> ids;
  for (const auto& t : reopened->trials()) ids.insert(t.system_attrs.at("grid_id").get<int64_t>());
  EXPECT_EQ(ids, (std::set<int64_t>{0, 1, 2}));
}

// ------------------------------------------------------------------------------ counts

TEST(Queue, StateCountsMatchTheTrialsByState) {
  register_sql_storages();
  for (const std::string& url : {std::string(), sqlite_url("counts")}) {
    auto study = create_study({.storage = url, .sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
    fill_queue(*study, {}, 7);
    run_one(*study, TrialState::kComplete);
    run_one(*study, TrialState::kPruned);
    run_one(*study, TrialState::kFail);
    Trial running = study->ask();
    const QueueState q = queue_state(*study);
    EXPECT_EQ(q.finished, 3) << url;
    EXPECT_EQ(q.running, static_cast<int64_t>(count(*study, TrialState::kRunning))) << url;
    EXPECT_EQ(q.waiting, static_cast<int64_t>(count(*study, TrialState::kWaiting))) << url;
    EXPECT_EQ(q.running, 1) << url;
    EXPECT_EQ(q.waiting, 3) << url;
    EXPECT_EQ(q.total(), static_cast<int64_t>(study->trials().size())) << url;

    // The started trials are everything but the WAITING rest.
    const TrialStates started = started_states();
    EXPECT_FALSE(started.has(TrialState::kWaiting));
    for (auto s : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFail})
      EXPECT_TRUE(started.has(s));
    EXPECT_EQ(study->trials(started).size(), 4u) << url;
  }
}

// ------------------------------------------------------------------------------ study options

TEST(StudyOptionsFromJson, DirectionIsParsedInAnyCase) {
  EXPECT_EQ(study_options_from_json(json::object()).direction, Direction::kMinimize);  // the default
  EXPECT_EQ(study_options_from_json({{"direction", "maximize"}}).direction, Direction::kMaximize);
  EXPECT_EQ(study_options_from_json({{"direction", "MAXIMIZE"}}).direction, Direction::kMaximize);
  EXPECT_EQ(study_options_from_json({{"direction", "Minimize"}}).direction, Direction::kMinimize);
}

TEST(StudyOptionsFromJson, BadDirectionIsOneErrorNamingTheKey) {
  const std::string m = direction_error("upward");
  EXPECT_EQ(m.rfind("study.direction: ", 0), 0u) << m;  // the key first
  EXPECT_EQ(occurrences(m, "direction"), 1u) << m;       // once, not "study.direction: direction: ..."
  EXPECT_NE(m.find("upward"), std::string::npos) << m;
}

TEST(StudyOptionsFromJson, NonStringDirectionNamesTheKeyOnce) {
  const std::string m = direction_error(1);
  EXPECT_EQ(m.rfind("study.direction: ", 0), 0u) << m;
  EXPECT_EQ(occurrences(m, "study."), 1u) << m;
}

TEST(StudyOptionsFromJson, BuildsSamplerAndPrunerAndRejectsUnknownOnes) {
  StudyOptions o = study_options_from_json(
      {{"name", "s"}, {"seed", 4}, {"sampler", {{"type", "random"}}}, {"pruner", {{"type", "nop"}}}});
  EXPECT_EQ(o.name, "s");
  EXPECT_EQ(o.seed, 4u);
  ASSERT_TRUE(o.sampler && o.pruner);
  EXPECT_EQ(o.sampler->name(), "random");
  EXPECT_EQ(o.pruner->name(), "nop");
  // Absent ones are left to create_study's defaults (TPE, median).
  StudyOptions d = study_options_from_json(json::object());
  EXPECT_FALSE(d.sampler);
  EXPECT_FALSE(d.pruner);

  try {
    study_options_from_json({{"sampler", {{"type", "tpz"}}}});
    FAIL() << "no error for sampler type \"tpz\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tpz"), std::string::npos) << e.what();
  }
  EXPECT_THROW(study_options_from_json({{"pruner", {{"type", "nope"}}}}), Error);
}

namespace {

// An in-memory storage that counts the reads of whole trial lists (what a fill must not do).
class CountingStorage : public Storage {
 public:
  std::shared_ptr<Storage> s = make_in_memory_storage();
  int full_reads = 0;
  int64_t create_new_study(const std::vector<Direction>& d, const std::string& n) override {
    return s->create_new_study(d, n);
  }
  void delete_study(int64_t id) override { s->delete_study(id); }
  int64_t get_study_id_from_name(const std::string& n) override { return s->get_study_id_from_name(n); }
  std::string get_study_name(int64_t id) override { return s->get_study_name(id); }
  Direction get_study_direction(int64_t id) override { return s->get_study_direction(id); }
  std::vector<Direction> get_study_directions(int64_t id) override { return s->get_study_directions(id); }
  std::vector<std::string> get_all_study_names() override { return s->get_all_study_names(); }
  void set_study_user_attr(int64_t id, const std::string& k, const json& v) override { s->set_study_user_attr(id, k, v); }
  void set_study_system_attr(int64_t id, const std::string& k, const json& v) override {
    s->set_study_system_attr(id, k, v);
  }
  std::map<std::string, json> get_study_user_attrs(int64_t id) override { return s->get_study_user_attrs(id); }
  std::map<std::string, json> get_study_system_attrs(int64_t id) override { return s->get_study_system_attrs(id); }
  int64_t create_new_trial(int64_t id, const FrozenTrial* t) override { return s->create_new_trial(id, t); }
  int64_t get_trial_id_from_study_id_trial_number(int64_t id, int64_t n) override {
    return s->get_trial_id_from_study_id_trial_number(id, n);
  }
  int64_t get_trial_number_from_id(int64_t id) override { return s->get_trial_number_from_id(id); }
  int64_t get_study_id_from_trial_id(int64_t id) override { return s->get_study_id_from_trial_id(id); }
  void set_trial_param(int64_t id, const std::string& n, double v, const Distribution& d) override {
    s->set_trial_param(id, n, v, d);
  }
  bool set_trial_state_values(int64_t id, TrialState st, const std::vector<double>& v) override {
    return s->set_trial_state_values(id, st, v);
  }
  std::optional<int64_t> claim_waiting_trial(int64_t id) override { return s->claim_waiting_trial(id); }
  void set_trial_intermediate_value(int64_t id, int64_t step, double v) override {
    s->set_trial_intermediate_value(id, step, v);
  }
  void set_trial_user_attr(int64_t id, const std::string& k, const json& v) override { s->set_trial_user_attr(id, k, v); }
  void set_trial_system_attr(int64_t id, const std::string& k, const json& v) override {
    s->set_trial_system_attr(id, k, v);
  }
  FrozenTrial get_trial(int64_t id) override { return s->get_trial(id); }
  std::vector<FrozenTrial> get_all_trials(int64_t id, TrialStates st, int64_t min_number) override {
    ++full_reads;
    return s->get_all_trials(id, st, min_number);
  }
  int64_t get_n_trials(int64_t id, TrialStates st) override { return s->get_n_trials(id, st); }
};

}  // namespace

TEST(Queue, AbsurdTargetIsRefusedInOneLineBeforeAnyRowIsWritten) {
  auto study = memory_study();
  try {
    fill_queue(*study, QueuePlan{}, 1'000'000'000'000);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    const std::string m = e.what();
    EXPECT_NE(m.find("n_trials = 1000000000000"), std::string::npos) << m;
    EXPECT_NE(m.find("timeout"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_EQ(study->trials().size(), 0u);
  EXPECT_NO_THROW(fill_queue(*study, QueuePlan{}, 10));  // an ordinary one still fills
  EXPECT_EQ(study->trials().size(), 10u);
}

TEST(Queue, AFillStopsWhenTheStopFlagIsSetAndTheNextOneTopsUp) {
  auto study = memory_study();
  std::atomic<bool> stop{false};
  std::thread stopper([&] {  // a SIGTERM arriving while a long queue is written
    while (study->storage().get_n_trials(study->study_id()) < 50) std::this_thread::yield();
    stop.store(true);
  });
  try {
    fill_queue(*study, QueuePlan{}, 900'000, &stop);
    ADD_FAILURE() << "the fill did not stop";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInterrupted) << e.what();
  }
  stopper.join();
  const int64_t queued = study->storage().get_n_trials(study->study_id());
  EXPECT_GE(queued, 50);
  EXPECT_LT(queued, 900'000);
  const QueueState q = fill_queue(*study, QueuePlan{}, queued + 5);
  EXPECT_EQ(q.total(), queued + 5);
}

TEST(Queue, RefillingAStoredQueueReadsCountsNotEveryTrial) {
  auto counting = std::make_shared<CountingStorage>();
  auto study = create_study({.storage = StorageSpec(std::static_pointer_cast<Storage>(counting)), .sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  const QueuePlan plan{.baseline = {{"x", 0.5}}};
  fill_queue(*study, plan, 200);
  counting->full_reads = 0;
  fill_queue(*study, plan, 300);  // a rerun, --more: counts and one study attr, no trial list
  EXPECT_EQ(counting->full_reads, 0);
  EXPECT_EQ(study->trials().size(), 300u);
  EXPECT_EQ(count_baselines(*study), 1u);
  // A study queued before the attr existed: its baseline is found by one scan, and not queued twice.
  auto old = create_study({.sampler = make_random_sampler(1), .pruner = make_nop_pruner()});
  old->enqueue_trial({{"x", 0.5}}, {{"baseline", true}});
  fill_queue(*old, plan, 4);
  EXPECT_EQ(count_baselines(*old), 1u);
  EXPECT_EQ(old->trials().size(), 4u);
}
