// The Storage contract (include/hone/tune/storage.h), run over every backend. A new backend
// (SQLite, PostgreSQL) joins by one line in INSTANTIATE_TEST_SUITE_P below.
#include <atomic>
#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <limits>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/tune/storage.h"
#include "../store/pg_test_util.h"

using namespace hone;

struct StorageCase {
  std::string name;
  std::function<std::shared_ptr<Storage>()> make;
};

class StorageContract : public ::testing::TestWithParam<StorageCase> {
 protected:
  void SetUp() override {
    s = GetParam().make();
    if (!s) GTEST_SKIP() << GetParam().name << ": backend not available (HONE_TEST_PG_URL unset?)";
  }
  std::shared_ptr<Storage> s;
};

TEST_P(StorageContract, StudiesByNameAndId) {
  int64_t a = s->create_new_study(Direction::kMinimize, "a");
  int64_t b = s->create_new_study(Direction::kMaximize, "b");
  EXPECT_NE(a, b);
  EXPECT_EQ(s->get_study_id_from_name("b"), b);
  EXPECT_EQ(s->get_study_name(a), "a");
  EXPECT_EQ(s->get_study_direction(b), Direction::kMaximize);
  EXPECT_THROW(s->create_new_study(Direction::kMinimize, "a"), Error);  // names are unique
  EXPECT_THROW(s->get_study_id_from_name("zzz"), Error);
  int64_t c = s->create_new_study(Direction::kMinimize, "");  // generated name
  EXPECT_FALSE(s->get_study_name(c).empty());
  s->set_study_user_attr(a, "k", json{{"x", 1}});
  EXPECT_EQ(s->get_study_user_attrs(a).at("k"), (json{{"x", 1}}));
  s->delete_study(a);
  EXPECT_THROW(s->get_study_id_from_name("a"), Error);
  EXPECT_EQ(s->get_all_study_names().size(), 2u);
}

TEST_P(StorageContract, TrialNumbersAreDensePerStudyIdsAreGlobal) {
  int64_t a = s->create_new_study(Direction::kMinimize, "a");
  int64_t b = s->create_new_study(Direction::kMinimize, "b");
  std::set<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    int64_t ta = s->create_new_trial(a), tb = s->create_new_trial(b);
    EXPECT_EQ(s->get_trial_number_from_id(ta), i);
    EXPECT_EQ(s->get_trial_number_from_id(tb), i);
    EXPECT_EQ(s->get_trial_id_from_study_id_trial_number(a, i), ta);
    EXPECT_EQ(s->get_study_id_from_trial_id(tb), b);
    ids.insert(ta);
    ids.insert(tb);
  }
  EXPECT_EQ(ids.size(), 6u);
  FrozenTrial t = s->get_trial(*ids.begin());
  EXPECT_EQ(t.state, TrialState::kRunning);
  EXPECT_TRUE(t.datetime_start.has_value());
}

TEST_P(StorageContract, ParamsValuesAndAttrs) {
  int64_t st = s->create_new_study(Direction::kMinimize, "p");
  int64_t id = s->create_new_trial(st);
  auto cat = Distribution::categorical({"adam", "sgd"});
  s->set_trial_param(id, "opt", 1.0, cat);
  s->set_trial_param(id, "lr", 0.01, Distribution::real(1e-4, 1, true));
  s->set_trial_intermediate_value(id, 0, 0.5);
  s->set_trial_intermediate_value(id, 1, NAN);
  s->set_trial_intermediate_value(id, 0, 0.4);  // upsert
  s->set_trial_user_attr(id, "note", "hi");
  s->set_trial_system_attr(id, "grid_id", 3);
  FrozenTrial t = s->get_trial(id);
  EXPECT_EQ(t.param("opt"), json("sgd"));
  EXPECT_EQ(t.params.at("lr"), 0.01);
  EXPECT_EQ(t.intermediate_values.at(0), 0.4);
  EXPECT_TRUE(std::isnan(t.intermediate_values.at(1)));
  EXPECT_EQ(t.user_attrs.at("note"), json("hi"));
  EXPECT_EQ(t.system_attrs.at("grid_id"), json(3));
  // a name keeps its kind/log/choices within a study
  int64_t id2 = s->create_new_trial(st);
  EXPECT_THROW(s->set_trial_param(id2, "opt", 0.0, Distribution::categorical({"sgd", "adam"})), Error);
  EXPECT_THROW(s->set_trial_param(id2, "lr", 0.5, Distribution::real(0, 1)), Error);
  EXPECT_NO_THROW(s->set_trial_param(id2, "lr", 0.5, Distribution::real(1e-3, 1, true)));
}

TEST_P(StorageContract, FinishedTrialsAreImmutableAndSnapshotsFrozen) {
  int64_t st = s->create_new_study(Direction::kMinimize, "f");
  int64_t id = s->create_new_trial(st);
  FrozenTrial before = s->get_trial(id);
  EXPECT_TRUE(s->set_trial_state_values(id, TrialState::kComplete, 1.5));
  EXPECT_EQ(before.state, TrialState::kRunning);  // the earlier snapshot did not change
  FrozenTrial t = s->get_trial(id);
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_EQ(*t.value, 1.5);
  EXPECT_TRUE(t.datetime_complete.has_value());
  EXPECT_THROW(s->set_trial_param(id, "x", 1, Distribution::real(0, 2)), Error);
  EXPECT_THROW(s->set_trial_intermediate_value(id, 3, 1), Error);
  EXPECT_THROW(s->set_trial_user_attr(id, "k", 1), Error);
  EXPECT_THROW(s->set_trial_state_values(id, TrialState::kFail), Error);
}

TEST_P(StorageContract, WaitingTrialsAreClaimedOnce) {
  int64_t st = s->create_new_study(Direction::kMinimize, "w");
  FrozenTrial templ;
  templ.state = TrialState::kWaiting;
  templ.system_attrs["fixed_params"] = json{{"x", 1}};
  int64_t id = s->create_new_trial(st, &templ);
  FrozenTrial w = s->get_trial(id);
  EXPECT_EQ(w.state, TrialState::kWaiting);
  EXPECT_FALSE(w.datetime_start.has_value());
  // many threads race for one waiting trial: exactly one wins
  std::atomic<int> wins{0};
  std::vector<std::thread> th;
  for (int i = 0; i < 8; ++i)
    th.emplace_back([&] { wins += s->set_trial_state_values(id, TrialState::kRunning) ? 1 : 0; });
  for (auto& t : th) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_TRUE(s->get_trial(id).datetime_start.has_value());
  // setting RUNNING on a trial that is not WAITING is refused
  EXPECT_FALSE(s->set_trial_state_values(s->create_new_trial(st), TrialState::kRunning));
}

TEST_P(StorageContract, ClaimWaitingTrialTakesTheOldestAndEachOnce) {
  int64_t st = s->create_new_study(Direction::kMinimize, "queue");
  EXPECT_FALSE(s->claim_waiting_trial(st).has_value());  // nothing queued
  FrozenTrial templ;
  templ.state = TrialState::kWaiting;
  std::vector<int64_t> queued;
  for (int i = 0; i < 24; ++i) {
    if (i % 5 == 0) s->create_new_trial(st);  // RUNNING trials in between are never claimed
    queued.push_back(s->create_new_trial(st, &templ));
  }
  auto first = s->claim_waiting_trial(st);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, queued[0]);  // the lowest number first
  FrozenTrial t = s->get_trial(*first);
  EXPECT_EQ(t.state, TrialState::kRunning);
  EXPECT_TRUE(t.datetime_start.has_value());
  // threads drain the rest: every queued trial is claimed by exactly one of them
  std::mutex mu;
  std::vector<int64_t> got{*first};
  std::vector<std::thread> th;
  for (int i = 0; i < 6; ++i)
    th.emplace_back([&] {
      while (auto id = s->claim_waiting_trial(st)) {
        std::lock_guard<std::mutex> lock(mu);
        got.push_back(*id);
      }
    });
  for (auto& x : th) x.join();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, queued);
  EXPECT_EQ(s->get_n_trials(st, {TrialState::kWaiting}), 0);
  EXPECT_THROW(s->claim_waiting_trial(st + 1000), Error);  // unknown study
}

TEST_P(StorageContract, ABatchOfTemplatesIsCreatedInOrderWithDenseNumbers) {
  int64_t st = s->create_new_study(Direction::kMinimize, "batch");
  s->create_new_trial(st);  // number 0, RUNNING
  std::vector<FrozenTrial> batch(3);
  for (int i = 0; i < 3; ++i) {
    batch[i].state = TrialState::kWaiting;
    batch[i].system_attrs["fixed_params"] = json{{"x", i}};
  }
  s->create_new_trials(st, batch);
  auto all = s->get_all_trials(st);
  ASSERT_EQ(all.size(), 4u);
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(all[i].number, i);
    EXPECT_EQ(all[i].state, TrialState::kWaiting);
    EXPECT_EQ(all[i].system_attrs.at("fixed_params"), (json{{"x", i - 1}}));
  }
  EXPECT_THROW(s->create_new_trials(st + 1000, batch), Error);  // unknown study
  EXPECT_EQ(s->get_n_trials(st), 4);
}

TEST_P(StorageContract, FilteringCursorAndBestTrial) {
  int64_t st = s->create_new_study(Direction::kMaximize, "b");
  std::vector<double> vals = {1, 5, 3, 5};
  for (double v : vals) s->set_trial_state_values(s->create_new_trial(st), TrialState::kComplete, v);
  s->set_trial_state_values(s->create_new_trial(st), TrialState::kFail);
  s->set_trial_state_values(s->create_new_trial(st), TrialState::kPruned, 9.0);
  s->create_new_trial(st);  // running
  EXPECT_EQ(s->get_all_trials(st).size(), 7u);
  EXPECT_EQ(s->get_all_trials(st, {TrialState::kComplete}).size(), 4u);
  EXPECT_EQ(s->get_n_trials(st, {TrialState::kFail, TrialState::kPruned}), 2);
  auto tail = s->get_all_trials(st, TrialStates::all(), 5);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].number, 5);
  auto best = s->get_best_trial(st);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->number, 1);  // 5 is best; ties go to the lower number; PRUNED never best
  int64_t empty = s->create_new_study(Direction::kMinimize, "e");
  EXPECT_FALSE(s->get_best_trial(empty).has_value());
}

TEST_P(StorageContract, TemplateTrialsCopyEverything) {
  int64_t st = s->create_new_study(Direction::kMinimize, "t");
  FrozenTrial templ;
  templ.state = TrialState::kComplete;
  templ.value = 2.0;
  templ.params["x"] = 0.5;
  templ.distributions["x"] = Distribution::real(0, 1);
  templ.intermediate_values[0] = 3.0;
  templ.user_attrs["u"] = 1;
  templ.number = 99;  // ignored
  int64_t id = s->create_new_trial(st, &templ);
  FrozenTrial t = s->get_trial(id);
  EXPECT_EQ(t.number, 0);
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_EQ(*t.value, 2.0);
  EXPECT_EQ(t.params.at("x"), 0.5);
  EXPECT_EQ(t.intermediate_values.at(0), 3.0);
  EXPECT_EQ(s->get_best_trial(st)->trial_id, id);
}

TEST_P(StorageContract, ConcurrentTrialCreationKeepsNumbersDense) {
  int64_t st = s->create_new_study(Direction::kMinimize, "c");
  std::vector<std::thread> th;
  for (int i = 0; i < 4; ++i)
    th.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        int64_t id = s->create_new_trial(st);
        s->set_trial_param(id, "x", k, Distribution::integer(0, 100));
        s->set_trial_state_values(id, TrialState::kComplete, k);
      }
    });
  for (auto& t : th) t.join();
  auto all = s->get_all_trials(st);
  ASSERT_EQ(all.size(), 200u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].number, static_cast<int64_t>(i));
}

TEST_P(StorageContract, MultiObjectiveDirectionsAndValuesRoundTrip) {
  const std::vector<Direction> dirs = {Direction::kMaximize, Direction::kMinimize, Direction::kMaximize};
  int64_t st = s->create_new_study(dirs, "mo");
  EXPECT_EQ(s->get_study_directions(st), dirs);
  EXPECT_THROW(s->create_new_study(std::vector<Direction>{}, "none"), Error);
  const double inf = std::numeric_limits<double>::infinity();
  int64_t id = s->create_new_trial(st);
  s->set_trial_state_values(id, TrialState::kComplete, std::vector<double>{0.25, -3.5, inf});
  FrozenTrial t = s->get_trial(id);
  EXPECT_EQ(t.values, (std::vector<double>{0.25, -3.5, inf}));
  ASSERT_TRUE(t.value);
  EXPECT_EQ(*t.value, 0.25);
  // COMPLETE needs every value a number; a PRUNED trial with a NaN keeps none.
  int64_t bad = s->create_new_trial(st);
  EXPECT_THROW(s->set_trial_state_values(bad, TrialState::kComplete, std::vector<double>{1.0, NAN, 2.0}), Error);
  int64_t pruned = s->create_new_trial(st);
  s->set_trial_state_values(pruned, TrialState::kPruned, std::vector<double>{1.0, NAN, 2.0});
  EXPECT_TRUE(s->get_trial(pruned).values.empty());
  // A template carries its values; the copy reads back the same (copy_study / add_trial).
  FrozenTrial templ;
  templ.state = TrialState::kComplete;
  templ.values = {1.0, 2.0, 3.0};
  int64_t copied = s->create_new_trial(st, &templ);
  EXPECT_EQ(s->get_trial(copied).values, templ.values);
  EXPECT_EQ(*s->get_trial(copied).value, 1.0);
  auto all = s->get_all_trials(st, {TrialState::kComplete});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].values, templ.values);
  // A single-objective study reads values == {value}.
  int64_t so = s->create_new_study(Direction::kMinimize, "so");
  EXPECT_EQ(s->get_study_directions(so), std::vector<Direction>{Direction::kMinimize});
  int64_t one = s->create_new_trial(so);
  s->set_trial_state_values(one, TrialState::kComplete, 4.0);
  EXPECT_EQ(s->get_trial(one).values, std::vector<double>{4.0});
}

// A fresh SQLite file per test (the process id keeps parallel ctest runs apart).
static std::shared_ptr<Storage> fresh_sqlite() {
  static int n = 0;
  std::string path = ::testing::TempDir() + "hone_contract_" + std::to_string(getpid()) + "_" +
                     std::to_string(n++) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return make_sqlite_storage(path);
}

// A new database per test on the server scripts/start-postgres.sh started; nullptr (the test
// skips) when HONE_TEST_PG_URL is unset.
std::shared_ptr<Storage> fresh_postgres() {
  std::string url = hone::testing::fresh_pg_database("contract");
  return url.empty() ? nullptr : make_postgres_storage(url);
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageContract,
                         ::testing::Values(StorageCase{"memory", [] { return make_in_memory_storage(); }},
                                           StorageCase{"sqlite", fresh_sqlite},
                                           StorageCase{"sqlite_memory", [] { return make_sqlite_storage(":memory:"); }},
                                           StorageCase{"postgresql", fresh_postgres}),
                         [](const auto& info) { return info.param.name; });

TEST(StorageRegistry, UnknownSchemeIsAnErrorNamingIt) {
  try {
    open_storage("mongodb://x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mongodb"), std::string::npos);
  }
  register_storage_backend("test", [](const std::string&) { return make_in_memory_storage(); });
  EXPECT_TRUE(open_storage("test:///x"));
}
