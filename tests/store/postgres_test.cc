// The PostgreSQL backend against a real server (scripts/start-postgres.sh; skipped without
// HONE_TEST_PG_URL): many fork()ed workers on one study, a worker killed mid-trial and found by
// heartbeat, a server restart in the middle of a run, names that look like SQL, Optuna 3.1's own
// schema and Optuna reading a hone study (when /usr/bin/python3 has psycopg2).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"
#include "multiprocess_scenarios.h"
#include "pg_test_util.h"
#include "store/sql_common.h"
#include "store_test_util.h"

using namespace hone;
using namespace hone::testing;

namespace {

int64_t count(const std::string& url, const std::string& where) {
  return std::stoll(pg_one(url, "SELECT COUNT(*) FROM trials WHERE " + where));
}

bool have_psycopg2() {
  static int ok = -1;
  if (ok < 0)
    ok = std::system((std::string(kPeerPython) + " -c 'import optuna, psycopg2' >/dev/null 2>&1").c_str()) == 0;
  return ok == 1;
}
#define REQUIRE_OPTUNA_PG()                                                                        \
  do {                                                                                             \
    HONE_REQUIRE_PG();                                                                             \
    if (!have_psycopg2())                                                                          \
      GTEST_SKIP() << "/usr/bin/python3 lacks optuna or psycopg2 (apt-get install python3-psycopg2)"; \
  } while (0)

// The repository root, for scripts/start-postgres.sh (this file is tests/store/postgres_test.cc).
std::string repo_root() {
  std::string f = __FILE__;
  return f.substr(0, f.rfind("/tests/store/"));
}

}  // namespace

TEST(Postgres, EightWorkersGetDenseNumbersAndClaimEachEnqueuedTrialOnce) {
  HONE_REQUIRE_PG();
  std::string url = fresh_pg_database("mp");
  check_workers_share_a_study([&](const SqlStorageOptions& o) { return make_postgres_storage(url, o); }, "mp", 8, 20,
                              16);
  // The same, asked of the database itself.
  EXPECT_EQ(pg_one(url, "SELECT COUNT(DISTINCT number) = COUNT(*) AND MAX(number) = COUNT(*) - 1 FROM trials"), "t");
}

TEST(Postgres, KilledWorkersTrialIsFoundByHeartbeatAndRequeued) {
  HONE_REQUIRE_PG();
  std::string url = fresh_pg_database("hb");
  check_dead_worker_found_by_heartbeat([&](const SqlStorageOptions& o) { return make_postgres_storage(url, o); });
}

TEST(Postgres, ClaimingAQueuedTrialReapsADeadWorkersTrial) {
  HONE_REQUIRE_PG();
  std::string url = fresh_pg_database("claimhb");
  check_claim_reaps_a_dead_workers_trial([&](const SqlStorageOptions& o) { return make_postgres_storage(url, o); });
}

TEST(Postgres, KeywordConnectionStringsOpenAndReadOnlyOpensCreateNothing) {
  HONE_REQUIRE_PG();
  register_sql_storages();
  const std::string url = fresh_pg_database("kv");
  std::string kv;  // the same server as a libpq key=value string
  PQconninfoOption* opts = PQconninfoParse(url.substr(0, url.find('?')).c_str(), nullptr);
  ASSERT_TRUE(opts);
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (o->val && *o->val) kv += std::string(o->keyword) + "='" + o->val + "' ";
  PQconninfoFree(opts);
  EXPECT_THROW(open_existing_storage(kv), Error);  // an empty database: read-only opens make no tables
  EXPECT_EQ(pg_one(url, "SELECT to_regclass('studies') IS NULL"), "t");
  open_storage(kv)->create_new_study(Direction::kMinimize, "kv");
  EXPECT_EQ(open_existing_storage(kv)->get_all_study_names(), std::vector<std::string>{"kv"});
  EXPECT_EQ(open_existing_storage(url)->get_all_study_names(), std::vector<std::string>{"kv"});
}

// A private server (its own state file), so restarting it cuts no other test's connections when
// ctest runs tests in parallel.
class PrivateServer {
 public:
  PrivateServer() : state_(::testing::TempDir() + "hone_pg_private_" + std::to_string(getpid()) + ".state") {
    std::string out;
    FILE* p = popen(("HONE_PG_STATE=" + state_ + " bash " + repo_root() + "/scripts/start-postgres.sh 2>/dev/null").c_str(), "r");
    char buf[512];
    while (p && std::fgets(buf, sizeof buf, p)) out += buf;
    if (p) pclose(p);
    auto at = out.find("HONE_TEST_PG_URL=");
    if (at != std::string::npos) url_ = out.substr(at + 17, out.find_first_of(" \n", at) - at - 17);
  }
  ~PrivateServer() { script("--stop"); }
  const std::string& url() const { return url_; }
  int script(const std::string& arg) {
    return std::system(("HONE_PG_STATE=" + state_ + " bash " + repo_root() + "/scripts/start-postgres.sh " + arg).c_str());
  }

 private:
  std::string state_, url_;
};

TEST(Postgres, WorkerSurvivesAServerRestartAndLosesNoFinishedTrial) {
  HONE_REQUIRE_PG();
  PrivateServer server;
  if (server.url().empty()) GTEST_SKIP() << "could not start a private PostgreSQL server to restart";
  const std::string& url = server.url();
  const int kTrials = 100;
  { create_study({.name = "r", .storage = make_postgres_storage(url)}); }
  pid_t pid = spawn([&] {
    auto study = load_study("r", make_postgres_storage(url, {.timeout_s = 60}), make_random_sampler(1),
                            make_nop_pruner());
    study->optimize(
        [](Trial& t) {
          double v = objective(t);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return v;
        },
        {.n_trials = kTrials, .catch_exceptions = false});
  });
  // Restart twice while the worker is mid-run; what was COMPLETE before must stay.
  int64_t seen = 0, first_seen = -1;
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    seen = count(url, "state='COMPLETE'");
    if (first_seen < 0) first_seen = seen;
    ASSERT_EQ(server.script("--restart"), 0) << "restart failed";
    EXPECT_GE(count(url, "state='COMPLETE'"), seen);
  }
  EXPECT_LT(first_seen, kTrials) << "the worker finished before the first restart; nothing was tested";
  EXPECT_EQ(wait_exit(pid), 0) << "the worker did not survive the restart (see stderr)";
  auto s = make_postgres_storage(url);
  auto trials = s->get_all_trials(s->get_study_id_from_name("r"));
  ASSERT_EQ(trials.size(), static_cast<size_t>(kTrials));
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, TrialState::kComplete) << "trial " << i;
    EXPECT_EQ(trials[i].intermediate_values.size(), 3u) << "trial " << i;
  }
}

TEST(Postgres, NamesWithQuotesUnicodeAndSqlRoundTrip) {
  HONE_REQUIRE_PG();
  std::string url = fresh_pg_database("names");
  auto s = make_postgres_storage(url);
  const std::vector<std::string> names = {"it's", "a\"b", "Robert'); DROP TABLE studies;--", "ünïcødé 学习 🚀",
                                          "$1 ? %s \\x00\\", "back\\slash"};
  for (const auto& n : names) {
    int64_t sid = s->create_new_study(Direction::kMinimize, n);
    EXPECT_EQ(s->get_study_name(sid), n);
    EXPECT_EQ(s->get_study_id_from_name(n), sid);
    s->set_study_user_attr(sid, n, n);
    EXPECT_EQ(s->get_study_user_attrs(sid).at(n), n);
    int64_t id = s->create_new_trial(sid);
    s->set_trial_param(id, n, 1.0, Distribution::categorical({n, "x'y"}));
    s->set_trial_system_attr(id, n, json{{n, n}});
    s->set_trial_state_values(id, TrialState::kComplete, 2.0);
    FrozenTrial t = s->get_trial(id);
    EXPECT_EQ(t.param(n), "x'y");
    EXPECT_EQ(t.system_attrs.at(n), (json{{n, n}}));
  }
  auto all = s->get_all_study_names();
  EXPECT_EQ(all, names);
  EXPECT_EQ(pg_one(url, "SELECT COUNT(*) FROM studies"), std::to_string(names.size()));  // nothing dropped
  EXPECT_THROW(s->create_new_study(Direction::kMinimize, names[2]), Error);  // still unique by name
}

TEST(Postgres, BadUrlOrUnreachableServerIsOneIoErrorWithoutThePassword) {
  for (std::string url : {"postgresql://me:s3cret@127.0.0.1:1/db", "postgresql://me:s3cret@127.0.0.1:1/db?timeout=1",
                          "postgresql://me:s3cret@[bad"}) {
    try {
      register_sql_storages();
      open_storage(url);
      ADD_FAILURE() << "no error for " << url;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::kIoError) << m;
      EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
      EXPECT_NE(m.find("***"), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
  EXPECT_THROW(open_storage("postgresql://x@127.0.0.1/db?nope=1"), Error);  // unknown option
}

TEST(Postgres, SchemaEqualsWhatOptunaCreates) {
  REQUIRE_OPTUNA_PG();
  std::string theirs = fresh_pg_database("schema_optuna");
  ASSERT_TRUE(optuna_creates_schema(theirs));
  const char* cols =
      "SELECT table_name, column_name, data_type, udt_name, character_maximum_length, is_nullable, "
      "column_default FROM information_schema.columns WHERE table_schema='public' ORDER BY 1, 2";
  const char* enums =
      "SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e JOIN pg_type t "
      "ON t.oid=e.enumtypid GROUP BY 1 ORDER BY 1";
  const char* cons =
      "SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE "
      "connamespace='public'::regnamespace ORDER BY 1, 2, 3";
  const char* idx = "SELECT indexname FROM pg_indexes WHERE schemaname='public' AND indexname NOT LIKE '%_hone' ORDER BY 1";
  const char* rows = "SELECT (SELECT row(v.*)::text FROM version_info v), (SELECT version_num FROM alembic_version)";
  auto a_cols = pg_rows(theirs, cols), a_enums = pg_rows(theirs, enums), a_cons = pg_rows(theirs, cons),
       a_idx = pg_rows(theirs, idx), a_rows = pg_rows(theirs, rows);
  // fresh_pg_database drops `theirs` when it makes `mine`: compare against what was read before.
  std::string mine = fresh_pg_database("schema_hone");
  make_postgres_storage(mine);
  EXPECT_EQ(pg_rows(mine, cols), a_cols);
  EXPECT_EQ(pg_rows(mine, enums), a_enums);
  EXPECT_EQ(pg_rows(mine, cons), a_cons);
  EXPECT_EQ(pg_rows(mine, idx), a_idx);
  EXPECT_EQ(pg_rows(mine, rows), a_rows);
  EXPECT_FALSE(a_cols.empty());
}

TEST(Postgres, OptunaReadsAHoneStudyAndHoneContinuesAnOptunaStudy) {
  REQUIRE_OPTUNA_PG();
  std::string url = fresh_pg_database("interop");
  register_sql_storages();
  {
    auto study = create_study({.name = "h2o", .storage = url, .direction = Direction::kMaximize,
                               .pruner = make_nop_pruner(), .seed = 3});
    study->optimize(
        [](Trial& t) {
          double x = t.suggest_float("x", -5, 5);
          int64_t n = t.suggest_int("n", 1, 64, {.log = true});
          std::string c = t.suggest_categorical("c", std::vector<std::string>{"relu", "it's", "gelu"});
          for (int s = 0; s < 3; ++s) t.report(x + s, s);
          t.set_user_attr("width", n * 2);
          if (t.number() == 4) throw TrialPruned();
          return -(x - 1) * (x - 1) + (c == "gelu");
        },
        {.n_trials = 8});
    study->enqueue_trial({{"x", 0.5}});
  }
  int rc;
  std::string out = run_python(R"PY(
import json, sys, warnings
warnings.filterwarnings("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
s = optuna.load_study(study_name="h2o", storage=sys.argv[1])
print("JSON:" + json.dumps({"direction": s.direction.name, "n": len(s.trials),
    "states": [t.state.name for t in s.trials], "best": s.best_trial.number, "best_value": s.best_value,
    "params": s.trials[0].params, "iv": {str(k): v for k, v in s.trials[0].intermediate_values.items()},
    "width": s.trials[0].user_attrs["width"], "importances": len(optuna.importance.get_param_importances(s))}))
def obj(t):
    return t.suggest_float("x", -5, 5)
s.optimize(obj, n_trials=2)   # Optuna continues it: runs the enqueued trial, then one more
)PY",
                               url, &rc);
  ASSERT_EQ(rc, 0) << out;
  json j = parse_tagged(out);
  ASSERT_FALSE(j.empty()) << out;
  auto study = load_study("h2o", url);
  auto trials = study->trials();
  ASSERT_EQ(trials.size(), 10u);
  EXPECT_EQ(j["direction"], "MAXIMIZE");
  EXPECT_EQ(j["n"], 9);
  EXPECT_EQ(j["states"][4], "PRUNED");
  EXPECT_EQ(j["states"][8], "WAITING");
  EXPECT_EQ(j["params"], trials[0].params_json());
  EXPECT_DOUBLE_EQ(j["iv"]["2"].get<double>(), trials[0].intermediate_values.at(2));
  EXPECT_EQ(j["width"], trials[0].user_attrs.at("width"));
  EXPECT_EQ(j["best"], trials[static_cast<size_t>(j["best"].get<int>())].number);
  EXPECT_EQ(j["importances"], 3);
  // Optuna ran the enqueued trial (claimed it) and one more, with numbers 8 and 9.
  EXPECT_EQ(trials[8].state, TrialState::kComplete);
  EXPECT_EQ(trials[8].params.at("x"), 0.5);
  EXPECT_EQ(trials[9].state, TrialState::kComplete);
  // And hone goes on after Optuna.
  study->optimize(objective, {.n_trials = 2});
  EXPECT_EQ(study->trials().size(), 12u);
  EXPECT_EQ(study->trials().back().number, 11);
}
