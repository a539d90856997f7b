// The bytes hone's SQLite storage writes: Optuna 3.1's schema, version rows, encodings, the file
// mode, URL forms and refusal of foreign schema revisions.
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/store.h"
#include "hone/tune/study.h"
#include "store/sql_common.h"
#include "store_test_util.h"

using namespace hone;
using hone::testing::sql_one;
using hone::testing::sql_rows;
using hone::testing::temp_db;

TEST(SqliteFormat, FileIsPrivateAndVersionRowsAreOptuna31s) {
  std::string p = temp_db("mode");
  make_sqlite_storage(p);
  struct stat st{};
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(sql_one(p, "SELECT schema_version || ',' || library_version FROM version_info"), "12,3.1.0");
  EXPECT_EQ(sql_one(p, "SELECT version_num FROM alembic_version"), "v3.0.0.d");
  EXPECT_EQ(sql_one(p, "PRAGMA journal_mode"), "wal");
  // Opening again neither duplicates the version rows nor fails.
  make_sqlite_storage(p);
  EXPECT_EQ(sql_one(p, "SELECT COUNT(*) FROM version_info"), "1");
  EXPECT_EQ(sql_one(p, "SELECT COUNT(*) FROM alembic_version"), "1");
}

TEST(SqliteFormat, RowsUseOptunasEncodings) {
  std::string p = temp_db("enc");
  auto s = make_sqlite_storage(p);
  int64_t st = s->create_new_study(Direction::kMaximize, "enc");
  int64_t id = s->create_new_trial(st);
  s->set_trial_param(id, "opt", 1.0, Distribution::categorical({"adam", "sgd"}));
  s->set_trial_param(id, "units", 64, Distribution::integer(16, 256, false, 16));
  s->set_trial_param(id, "lr", 0.01, Distribution::real(1e-5, 1, true));
  s->set_trial_intermediate_value(id, 0, 0.5);
  s->set_trial_intermediate_value(id, 1, NAN);
  s->set_trial_intermediate_value(id, 2, INFINITY);
  s->set_trial_user_attr(id, "note", json{{"x", NAN}, {"s", "é"}});
  s->set_trial_state_values(id, TrialState::kComplete, 0.75);
  int64_t id2 = s->create_new_trial(st);
  s->set_trial_state_values(id2, TrialState::kPruned, -INFINITY);

  EXPECT_EQ(sql_one(p, "SELECT direction FROM study_directions WHERE study_id=" + std::to_string(st)), "MAXIMIZE");
  EXPECT_EQ(sql_one(p, "SELECT state FROM trials WHERE trial_id=" + std::to_string(id)), "COMPLETE");
  EXPECT_EQ(sql_one(p, "SELECT param_value FROM trial_params WHERE param_name='opt'"), "1.0");
  EXPECT_EQ(sql_one(p, "SELECT distribution_json FROM trial_params WHERE param_name='opt'"),
            R"({"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd"]}})");
  EXPECT_EQ(sql_one(p, "SELECT distribution_json FROM trial_params WHERE param_name='lr'"),
            R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 1.0, "log": true}})");
  EXPECT_EQ(sql_one(p, "SELECT value || ' ' || value_type FROM trial_values WHERE trial_id=" + std::to_string(id)),
            "0.75 FINITE");
  EXPECT_EQ(sql_one(p, "SELECT IFNULL(value, 'NULL') || ' ' || value_type FROM trial_values WHERE trial_id=" +
                           std::to_string(id2)),
            "NULL INF_NEG");
  auto iv = sql_rows(p, "SELECT step, IFNULL(intermediate_value, 'NULL'), intermediate_value_type FROM "
                        "trial_intermediate_values ORDER BY step");
  ASSERT_EQ(iv.size(), 3u);
  EXPECT_EQ(iv[1][1] + " " + iv[1][2], "NULL NAN");
  EXPECT_EQ(iv[2][1] + " " + iv[2][2], "NULL INF_POS");
  // json.dumps: ensure_ascii, bare NaN
  EXPECT_EQ(sql_one(p, "SELECT value_json FROM trial_user_attributes WHERE key='note'"),
            R"({"s": "\u00e9", "x": NaN})");
  std::regex dt(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})");
  EXPECT_TRUE(std::regex_match(sql_one(p, "SELECT datetime_start FROM trials LIMIT 1"), dt));
  EXPECT_TRUE(std::regex_match(sql_one(p, "SELECT datetime_complete FROM trials LIMIT 1"), dt));

  // and everything reads back
  FrozenTrial t = s->get_trial(id);
  EXPECT_TRUE(std::isnan(t.user_attrs.at("note")["x"].get<double>()));
  EXPECT_EQ(t.user_attrs.at("note")["s"], "é");
  EXPECT_TRUE(std::isinf(t.intermediate_values.at(2)));
  EXPECT_EQ(t.param("opt"), "sgd");
  EXPECT_EQ(t.param("units"), 64);
  EXPECT_EQ(*s->get_trial(id2).value, -INFINITY);
  // a new process (a new storage object) sees the same
  auto s2 = make_sqlite_storage(p);
  EXPECT_EQ(s2->get_trial(id).to_json().dump(), t.to_json().dump());  // NaN != NaN as json
}

TEST(SqliteFormat, WaitingTrialsHaveNoDatetimesAndClaimsResetStart) {
  std::string p = temp_db("wait");
  auto s = make_sqlite_storage(p);
  auto study = create_study({.name = "w", .storage = s});
  study->enqueue_trial({{"x", 0.25}});
  EXPECT_EQ(sql_one(p, "SELECT IFNULL(datetime_start,'NULL') || IFNULL(datetime_complete,'NULL') FROM trials"),
            "NULLNULL");
  EXPECT_EQ(sql_one(p, "SELECT value_json FROM trial_system_attributes WHERE key='fixed_params'"),
            R"({"x": 0.25})");
  Trial t = study->ask();
  EXPECT_EQ(t.suggest_float("x", 0, 1), 0.25);
  EXPECT_NE(sql_one(p, "SELECT IFNULL(datetime_start,'NULL') FROM trials"), "NULL");
}

TEST(SqliteFormat, ForeignSchemaRevisionIsRefusedWithAMessage) {
  std::string p = temp_db("rev");
  make_sqlite_storage(p);
  {
    sqlite3* db;
    sqlite3_open(p.c_str(), &db);
    sqlite3_exec(db, "UPDATE alembic_version SET version_num='v3.2.0.a'", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  try {
    make_sqlite_storage(p);
    FAIL() << "opened a v3.2.0.a database";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kDataError);
    EXPECT_NE(std::string(e.what()).find("v3.2.0.a"), std::string::npos) << e.what();
  }
}

TEST(SqliteFormat, NotADatabaseIsADataError) {
  std::string p = temp_db("junk");
  FILE* f = std::fopen(p.c_str(), "w");
  std::fputs("this is not sqlite, just a text file that is long enough to have a header.........\n", f);
  std::fclose(f);
  try {
    make_sqlite_storage(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kDataError) << e.what();
  }
  EXPECT_THROW(make_sqlite_storage("/nonexistent-dir/x/y.db"), Error);
}

TEST(SqliteFormat, UrlsAndOptions) {
  register_sql_storages();
  std::string p = temp_db("url");
  ASSERT_EQ(p[0], '/');
  auto s = open_storage("sqlite:///" + p + "?timeout=5&synchronous=full");  // sqlite:////abs/path
  s->create_new_study(Direction::kMinimize, "u");
  EXPECT_EQ(sql_one(p, "SELECT study_name FROM studies"), "u");
  EXPECT_TRUE(open_storage("sqlite:///:memory:"));
  EXPECT_THROW(open_storage("sqlite:///" + p + "?bogus=1"), Error);
  EXPECT_THROW(open_storage("sqlite://host/x.db"), Error);
  auto o = parse_storage_options("x?heartbeat_interval=2&max_retries=3");
  EXPECT_EQ(o.heartbeat_interval_s, 2);
  EXPECT_EQ(o.max_retries, 3);
  EXPECT_EQ(mask_storage_url("postgresql://bob:s3cret@db:5432/hone"), "postgresql://bob:***@db:5432/hone");
  EXPECT_EQ(mask_storage_url("host=db password=s3cret user=bob"), "host=db password=*** user=bob");
}

TEST(StorageSecrets, PasswordsAreMaskedInEveryForm) {
  EXPECT_EQ(mask_storage_url("postgresql://bob:p@ss@db/hone"), "postgresql://bob:***@db/hone");
  EXPECT_EQ(mask_storage_url("postgresql+psycopg2://bob:x@db/hone?timeout=5"),
            "postgresql+psycopg2://bob:***@db/hone?timeout=5");
  EXPECT_EQ(mask_storage_url("host=db password = 's3 cret' user=bob"), "host=db password = *** user=bob");
  EXPECT_EQ(mask_storage_url("postgresql://db/hone?password=s3cret&timeout=5"),
            "postgresql://db/hone?password=***&timeout=5");
  EXPECT_EQ(mask_storage_url("postgresql://bob@db/hone"), "postgresql://bob@db/hone");
  EXPECT_TRUE(is_keyword_conninfo("host=db user=bob password=x dbname=hone"));
  EXPECT_TRUE(is_keyword_conninfo(" dbname = hone"));
  EXPECT_FALSE(is_keyword_conninfo("postgresql://bob@db/hone"));
  EXPECT_FALSE(is_keyword_conninfo("sqlite:///x.db?timeout=5"));
}

TEST(StorageSecrets, AKeywordConnectionStringIsPostgresAndItsErrorsHideThePassword) {
  register_sql_storages();
  // An unreachable server: the error is PostgreSQL's (not "unknown scheme"), with no password.
  const std::string conninfo = "host=127.0.0.1 port=1 user=bob password=s3cretpw dbname=hone connect_timeout=2";
  try {
    open_storage(conninfo);
    FAIL() << "opened";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find("unknown scheme"), std::string::npos) << m;
    EXPECT_NE(m.find("postgresql storage"), std::string::npos) << m;
    EXPECT_EQ(m.find("s3cretpw"), std::string::npos) << m;
  }
  try {  // a SQLite URL with a host and a password
    open_storage("sqlite://bob:s3cretpw@host/x.db");
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cretpw"), std::string::npos) << e.what();
  }
  // An unknown scheme's message masks the password too (it used to print it twice).
  try {
    open_storage("mysql://bob:s3cretpw@db/hone");
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cretpw"), std::string::npos) << e.what();
  }
}

TEST(SqliteFormat, EmptyPathIsAnErrorAndReadOnlyOpensCreateNothing) {
  register_sql_storages();
  try {
    open_storage("sqlite:///");
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("empty file path"), std::string::npos) << e.what();
  }
  const std::string p = temp_db("typo");
  std::filesystem::remove(p);
  try {
    open_existing_storage("sqlite:///" + p);
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIoError);
    EXPECT_NE(std::string(e.what()).find("no such database file"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(p));
  // A file that is not a study database is not turned into one.
  { std::ofstream(p) << ""; }
  EXPECT_THROW(open_existing_storage("sqlite:///" + p), Error);
  EXPECT_EQ(std::filesystem::file_size(p), 0u);
  std::filesystem::remove(p);
  // An existing study database opens and reads.
  open_storage("sqlite:///" + p)->create_new_study(Direction::kMinimize, "here");
  EXPECT_EQ(open_existing_storage("sqlite:///" + p)->get_all_study_names(), std::vector<std::string>{"here"});
}

TEST(SqliteFormat, PythonJsonReaderAcceptsBareSpecials) {
  json j = store::parse_python_json(R"({"a": [NaN, Infinity, -Infinity], "s": "NaN Infinity"})");
  EXPECT_TRUE(std::isnan(j["a"][0].get<double>()));
  EXPECT_EQ(j["a"][1].get<double>(), INFINITY);
  EXPECT_EQ(j["a"][2].get<double>(), -INFINITY);
  EXPECT_EQ(j["s"], "NaN Infinity");
}

TEST(SqliteFormat, DeleteStudyRemovesEveryRow) {
  std::string p = temp_db("del");
  auto s = make_sqlite_storage(p);
  auto study = create_study({.name = "d", .storage = s});
  s->set_study_user_attr(study->study_id(), "u", 1);
  s->set_study_system_attr(study->study_id(), "c", json{{"k", 2}});
  study->optimize([](Trial& t) {
    t.report(1.0, 0);
    t.set_user_attr("a", 1);
    return t.suggest_float("x", 0, 1);
  }, {.n_trials = 3});
  int64_t keep = s->create_new_study(Direction::kMinimize, "keep");
  s->create_new_trial(keep);
  s->delete_study(study->study_id());
  for (const char* t : {"trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes",
                        "trial_system_attributes", "study_user_attributes", "study_system_attributes"})
    EXPECT_EQ(sql_one(p, std::string("SELECT COUNT(*) FROM ") + t), "0") << t;
  EXPECT_EQ(sql_one(p, "SELECT COUNT(*) FROM trials"), "1");
  EXPECT_EQ(sql_one(p, "SELECT COUNT(*) FROM studies"), "1");
  EXPECT_EQ(sql_one(p, "SELECT COUNT(*) FROM study_directions"), "1");
}
