// SqliteStorage: Optuna 3.1's RDB schema in one SQLite file.
//
// Why it is shaped this way:
//  * One connection per storage object, behind a mutex. SQLite connections are not safe to use
//    from two threads at once, and the work per call is microseconds, so a pool would buy
//    nothing; processes each open their own connection and SQLite's file locks order them.
//  * WAL mode: readers never block the writer or each other. synchronous=NORMAL keeps every
//    committed transaction across a killed process (the WAL is in the OS page cache); only a
//    power loss can drop the last commits — synchronous=full closes that at one fsync per commit.
//  * Every write is its own BEGIN IMMEDIATE ... COMMIT: the write lock is taken up front, so a
//    transaction never fails half-way on SQLITE_BUSY_SNAPSHOT, and it is held for microseconds.
//    Lock waits go through our own busy handler (short, jittered sleeps up to `timeout`), so
//    8 processes hammering one file do not see "database is locked".
//  * Trial numbers are assigned inside the INSERT (MAX(number)+1 over the study, under the write
//    lock), so they are dense and unique across processes — the same numbers Optuna's COUNT gives.
//  * Finished trials are immutable (the contract), so they are cached per process after the first
//    read and never re-read; a cache entry is used only while the row's (number, state,
//    datetimes) still match, which also catches a deleted-and-reused rowid.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "hone/error.h"
#include "hone/store.h"
#include "store/sql_common.h"

namespace hone {
namespace {

using store::TrialRow;
using store::value_type_of;
namespace sql = store::sql;

// The DDL exactly as SQLAlchemy 1.4 emits it for Optuna 3.1 (sqlite_master text included), so a
// schema dump of a hone-made file equals one of an Optuna-made file.
const char* const kSchema[] = {
    "CREATE TABLE studies (\n\tstudy_id INTEGER NOT NULL, \n\tstudy_name VARCHAR(512) NOT NULL, \n\t"
    "PRIMARY KEY (study_id)\n)",
    "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)",
    "CREATE TABLE version_info (\n\tversion_info_id INTEGER NOT NULL, \n\tschema_version INTEGER, \n\t"
    "library_version VARCHAR(256), \n\tPRIMARY KEY (version_info_id), \n\tCHECK (version_info_id=1)\n)",
    "CREATE TABLE study_directions (\n\tstudy_direction_id INTEGER NOT NULL, \n\tdirection VARCHAR(8) NOT "
    "NULL, \n\tstudy_id INTEGER NOT NULL, \n\tobjective INTEGER NOT NULL, \n\tPRIMARY KEY "
    "(study_direction_id), \n\tUNIQUE (study_id, objective), \n\tFOREIGN KEY(study_id) REFERENCES studies "
    "(study_id)\n)",
    "CREATE TABLE study_user_attributes (\n\tstudy_user_attribute_id INTEGER NOT NULL, \n\tstudy_id INTEGER, "
    "\n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (study_user_attribute_id), \n\tUNIQUE "
    "(study_id, \"key\"), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n)",
    "CREATE TABLE study_system_attributes (\n\tstudy_system_attribute_id INTEGER NOT NULL, \n\tstudy_id "
    "INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (study_system_attribute_id), "
    "\n\tUNIQUE (study_id, \"key\"), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n)",
    "CREATE TABLE trials (\n\ttrial_id INTEGER NOT NULL, \n\tnumber INTEGER, \n\tstudy_id INTEGER, \n\t"
    "state VARCHAR(8) NOT NULL, \n\tdatetime_start DATETIME, \n\tdatetime_complete DATETIME, \n\tPRIMARY "
    "KEY (trial_id), \n\tFOREIGN KEY(study_id) REFERENCES studies (study_id)\n)",
    "CREATE TABLE trial_user_attributes (\n\ttrial_user_attribute_id INTEGER NOT NULL, \n\ttrial_id INTEGER, "
    "\n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (trial_user_attribute_id), \n\tUNIQUE "
    "(trial_id, \"key\"), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_system_attributes (\n\ttrial_system_attribute_id INTEGER NOT NULL, \n\ttrial_id "
    "INTEGER, \n\t\"key\" VARCHAR(512), \n\tvalue_json TEXT, \n\tPRIMARY KEY (trial_system_attribute_id), "
    "\n\tUNIQUE (trial_id, \"key\"), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_params (\n\tparam_id INTEGER NOT NULL, \n\ttrial_id INTEGER, \n\tparam_name "
    "VARCHAR(512), \n\tparam_value FLOAT, \n\tdistribution_json TEXT, \n\tPRIMARY KEY (param_id), \n\t"
    "UNIQUE (trial_id, param_name), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_values (\n\ttrial_value_id INTEGER NOT NULL, \n\ttrial_id INTEGER NOT NULL, \n\t"
    "objective INTEGER NOT NULL, \n\tvalue FLOAT, \n\tvalue_type VARCHAR(7) NOT NULL, \n\tPRIMARY KEY "
    "(trial_value_id), \n\tUNIQUE (trial_id, objective), \n\tFOREIGN KEY(trial_id) REFERENCES trials "
    "(trial_id)\n)",
    "CREATE TABLE trial_intermediate_values (\n\ttrial_intermediate_value_id INTEGER NOT NULL, \n\ttrial_id "
    "INTEGER NOT NULL, \n\tstep INTEGER NOT NULL, \n\tintermediate_value FLOAT, \n\t"
    "intermediate_value_type VARCHAR(7) NOT NULL, \n\tPRIMARY KEY (trial_intermediate_value_id), \n\tUNIQUE "
    "(trial_id, step), \n\tFOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n)",
    "CREATE TABLE trial_heartbeats (\n\ttrial_heartbeat_id INTEGER NOT NULL, \n\ttrial_id INTEGER NOT NULL, "
    "\n\theartbeat DATETIME NOT NULL, \n\tPRIMARY KEY (trial_heartbeat_id), \n\tUNIQUE (trial_id), \n\t"
    "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n)",
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc "
    "PRIMARY KEY (version_num)\n)",
};
// hone's one addition: Optuna 3.1 has no index on trials.study_id (3.2 adds trials_study_id_key);
// an index under another name is ignored by 3.1 and 3.2 alike, and makes the per-study reads and
// the MAX(number) of trial creation O(log n).
const char* const kExtraIndex =
    "CREATE INDEX IF NOT EXISTS ix_trials_study_id_number_hone ON trials (study_id, number)";

// The database's UTC clock, as Optuna's CURRENT_TIMESTAMP, but with microsecond digits:
// CURRENT_TIMESTAMP has whole seconds, which would blur a grace period of a second or two.
// SQLAlchemy reads "YYYY-MM-DD HH:MM:SS.ffffff" (and '%f' gives "SS.SSS", hence the "000").
#define HB_NOW "strftime('%Y-%m-%d %H:%M:%f000', 'now')"

class SqliteStorage final : public store::SqlStorageBase, public store::StaleTrialReaper, private store::TrialChildWriter {
 public:
  SqliteStorage(const std::string& path, const SqlStorageOptions& o) : path_(path), opt_(o), records_(where()) {
    if (path_ == ":memory:") opt_.create = true;  // a private database is always new
    if (path_ != ":memory:" && o.create) create_private_file();
    if (path_ != ":memory:" && !o.create && ::access(path_.c_str(), F_OK) != 0)
      throw_io("sqlite storage \"" + path_ + "\": no such database file (nothing was created; check the path)");
    int rc = sqlite3_open_v2(path_.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | (o.create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw_io("sqlite storage \"" + path_ + "\": cannot open: " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_handler(db_, &SqliteStorage::busy_handler, this);
    try {
      init_schema();
    } catch (...) {
      close();
      throw;
    }
    if (opt_.heartbeat_interval_s > 0) {
      if (opt_.grace_period_s <= 0) opt_.grace_period_s = 2 * opt_.heartbeat_interval_s;
      heartbeat_ = std::make_unique<store::HeartbeatThread>(opt_.heartbeat_interval_s, [this] { beat(); });
    }
  }
  ~SqliteStorage() override {
    heartbeat_.reset();  // before the connection goes
    close();
  }

  // ---- studies ----
  int64_t create_new_study(const std::vector<Direction>& directions, const std::string& name_in) override {
    if (directions.empty()) throw_invalid("create_new_study: a study needs at least one direction");
    std::string name = name_in.empty() ? store::generated_study_name() : name_in;
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    {
      Stmt q(*this, sql::kStudyIdByName);
      q.bind(1, name);
      if (q.step()) throw_invalid("a study named \"" + name + "\" already exists in " + where());
    }
    Stmt ins(*this, "INSERT INTO studies (study_name) VALUES (?)");
    ins.bind(1, name);
    ins.run();
    int64_t id = sqlite3_last_insert_rowid(db_);
    Stmt dir(*this, sql::kInsertDirection);
    for (size_t k = 0; k < directions.size(); ++k) {
      dir.bind(1, to_string(directions[k]));
      dir.bind(2, id);
      dir.bind(3, static_cast<int64_t>(k));
      dir.run();
      dir.reset();
    }
    tx.commit();
    return id;
  }

  void delete_study(int64_t study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    require_study(study_id);
    // Foreign keys are declared but not enforced (as under Optuna), so children go first.
    for (const char* t : sql::kTrialChildTables) {
      Stmt d(*this, sql::delete_trial_children(t));
      d.bind(1, study_id);
      d.run();
    }
    for (const char* t : sql::kStudyTables) {
      Stmt d(*this, sql::delete_study_rows(t));
      d.bind(1, study_id);
      d.run();
    }
    tx.commit();
    // Rowids can be reused after a delete: drop everything cached for the study.
    records_.forget_study(study_id);
  }

  int64_t get_study_id_from_name(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(*this, sql::kStudyIdByName);
    q.bind(1, name);
    if (!q.step()) throw_invalid("no study named \"" + name + "\" in " + where());
    return q.i64(0);
  }
  std::string get_study_name(int64_t study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(*this, sql::kStudyName);
    q.bind(1, study_id);
    if (!q.step()) no_study(study_id);
    return q.text(0);
  }
  std::vector<Direction> get_study_directions(int64_t study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(*this, sql::kDirections);
    q.bind(1, study_id);
    std::vector<Direction> out;
    while (q.step()) out.push_back(q.text(0) == "NOT_SET" ? Direction::kMinimize : direction_from_string(q.text(0)));
    if (out.empty()) no_study(study_id);
    return out;
  }
  Direction get_study_direction(int64_t study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(*this, sql::kDirections);
    q.bind(1, study_id);
    if (!q.step()) no_study(study_id);
    std::string d = q.text(0);
    if (q.step())
      throw_data(where() + ": study " + std::to_string(study_id) +
                 " has several objectives (use get_study_directions)");
    if (d == "NOT_SET") return Direction::kMinimize;
    return direction_from_string(d);
  }
  std::vector<std::string> get_all_study_names() override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(*this, sql::kStudyNames);
    std::vector<std::string> out;
    while (q.step()) out.push_back(q.text(0));
    return out;
  }

  // ---- trials ----
  int64_t create_new_trial(int64_t study_id, const FrozenTrial* templ) override {
    if (opt_.heartbeat_interval_s > 0) fail_stale(study_id);
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    require_study(study_id);
    const int64_t id = insert_from_template(study_id, templ);
    tx.commit();
    return id;
  }

  void create_new_trials(int64_t study_id, const std::vector<FrozenTrial>& templates) override {
    if (opt_.heartbeat_interval_s > 0) fail_stale(study_id);
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    require_study(study_id);
    for (const FrozenTrial& templ : templates) insert_from_template(study_id, &templ);
    tx.commit();
  }

  int64_t get_trial_id_from_study_id_trial_number(int64_t study_id, int64_t number) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(*this, sql::kTrialIdByNumber);
    q.bind(1, study_id);
    q.bind(2, number);
    if (!q.step())
      throw_invalid("no trial #" + std::to_string(number) + " in study " + std::to_string(study_id) + " of " +
                    where());
    return q.i64(0);
  }
  int64_t get_trial_number_from_id(int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return trial_row(trial_id).number;
  }
  int64_t get_study_id_from_trial_id(int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return trial_row(trial_id).study_id;
  }

  void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    TrialRow r = writable_trial(trial_id);
    check_param(r.study_id, name, dist);
    insert_param(trial_id, name, internal, dist);
    tx.commit();
  }

  bool set_trial_state_values(int64_t trial_id, TrialState state, const std::vector<double>& values) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    if (state == TrialState::kRunning) {
      TrialRow r = trial_row(trial_id);
      if (r.state != TrialState::kWaiting) return false;
      Stmt u(*this, sql::kClaim);
      bind_time(u, 1, Clock::now());
      u.bind(2, trial_id);
      u.run();
      if (sqlite3_changes(db_) != 1) return false;
      start_heartbeat(trial_id);
      tx.commit();
      return true;
    }
    TrialRow r = writable_trial(trial_id);
    if (stores_values(r.number, state, values))
      for (size_t k = 0; k < values.size(); ++k) upsert_value(trial_id, static_cast<int64_t>(k), values[k]);
    Stmt u(*this, sql::kFinish);
    u.bind(1, to_string(state));
    bind_time(u, 2, is_finished(state) ? std::optional(Clock::now()) : std::nullopt);
    u.bind(3, trial_id);
    u.bind(4, to_string(r.state));
    u.run();
    tx.commit();
    if (is_finished(state)) stop_heartbeat(trial_id);
    return true;
  }

  std::optional<int64_t> claim_waiting_trial(int64_t study_id) override {
    // A queue's trials are claimed, not created: reap the dead here too, or a killed worker's
    // trials would stay RUNNING in a study that never creates one (and a retry copy queues now).
    if (opt_.heartbeat_interval_s > 0) fail_stale(study_id);
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);  // the write lock: no other process can claim between SELECT and UPDATE
    require_study(study_id);
    Stmt q(*this, sql::kOldestWaiting);
    q.bind(1, study_id);
    if (!q.step()) {
      q.reset();
      tx.commit();
      return std::nullopt;
    }
    int64_t trial_id = q.i64(0);
    q.reset();
    Stmt u(*this, sql::kClaim);
    bind_time(u, 1, Clock::now());
    u.bind(2, trial_id);
    u.run();
    if (sqlite3_changes(db_) != 1) return std::nullopt;
    start_heartbeat(trial_id);
    tx.commit();
    return trial_id;
  }

  void set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    writable_trial(trial_id);
    upsert_intermediate(trial_id, step, value);
    tx.commit();
  }

  FrozenTrial get_trial(int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, false);  // one snapshot for the row and its children
    TrialRow r = trial_row(trial_id);
    if (auto c = records_.cached(r)) return *c;
    std::vector<TrialRow> rows{r};
    auto out = load(rows, false, 0, 0);
    tx.commit();
    return out[0];
  }

  std::vector<FrozenTrial> get_all_trials(int64_t study_id, TrialStates states, int64_t min_number) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, false);
    require_study(study_id);
    Stmt q(*this, sql::kTrialsOfStudy);
    q.bind(1, study_id);
    q.bind(2, min_number);
    std::vector<TrialRow> rows;
    while (q.step()) {
      TrialRow r = row_from(q);
      if (states.has(r.state)) rows.push_back(std::move(r));
    }
    q.reset();
    auto out = load(rows, true, study_id, min_number);
    tx.commit();
    return out;
  }

  int64_t get_n_trials(int64_t study_id, TrialStates states) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, false);
    require_study(study_id);
    Stmt q(*this, sql::kCountByState);
    q.bind(1, study_id);
    int64_t n = 0;
    while (q.step())
      if (states.has(trial_state_from_string(q.text(0)))) n += q.i64(1);
    q.reset();
    tx.commit();
    return n;
  }

  std::optional<FrozenTrial> get_best_trial(int64_t study_id) override {
    int64_t best_id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Txn tx(*this, false);
      require_study(study_id);
      Direction d = direction_locked(study_id);
      Stmt q(*this, sql::best_trial(d));
      q.bind(1, study_id);
      if (!q.step()) return std::nullopt;
      best_id = q.i64(0);
    }
    return get_trial(best_id);
  }

  // ---- heartbeats ----
  int64_t fail_stale(int64_t study_id) override {
    if (opt_.heartbeat_interval_s <= 0) return 0;
    std::vector<FrozenTrial> dead;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Txn tx(*this, true);
      // Age in the database's clock (CURRENT_TIMESTAMP, UTC), as Optuna compares; our own live
      // trials are never stale (this process is beating for them).
      Stmt q(*this,
             "SELECT t.trial_id FROM trials t JOIN trial_heartbeats h ON h.trial_id=t.trial_id "
             "WHERE t.study_id=? AND t.state='RUNNING' AND "
             "(julianday('now') - julianday(h.heartbeat)) * 86400.0 > ?");
      q.bind(1, study_id);
      q.bind(2, opt_.grace_period_s);
      std::vector<int64_t> ids;
      while (q.step()) ids.push_back(q.i64(0));
      q.reset();
      std::vector<TrialRow> rows;
      for (int64_t id : ids) {
        if (owned_.count(id)) continue;
        Stmt u(*this, sql::kFailRunning);
        bind_time(u, 1, Clock::now());
        u.bind(2, id);
        u.run();
        if (sqlite3_changes(db_) != 1) continue;
        upsert_trial_attr("trial_system_attributes", id, "fail_reason", store::stale_fail_reason(opt_.grace_period_s));
        rows.push_back(trial_row(id));
      }
      dead = load(rows, false, 0, 0);
      for (const FrozenTrial& re : store::retry_templates(dead, opt_.max_retries)) {
        int64_t id = insert_trial(study_id, store::trial_start(&re));
        store::write_template_children(*this, study_id, id, re, false);
      }
      tx.commit();
    }
    return static_cast<int64_t>(dead.size());
  }

 private:
  // ---- statements and transactions ----
  class Stmt {
   public:
    Stmt(SqliteStorage& s, const std::string& sql) : s_(s) {
      auto it = s.stmts_.find(sql);
      if (it == s.stmts_.end()) {
        sqlite3_stmt* st = nullptr;
        int rc = sqlite3_prepare_v3(s.db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
        if (rc != SQLITE_OK) s.fail(rc, "prepare: " + sql);
        it = s.stmts_.emplace(sql, st).first;
      }
      st_ = it->second;
      sql_ = &it->first;  // the cache owns the text; `sql` may be a temporary
    }
    ~Stmt() { reset(); }
    void reset() {
      if (st_) {
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
      }
    }
    void bind(int i, int64_t v) { check(sqlite3_bind_int64(st_, i, v)); }
    void bind(int i, int v) { bind(i, static_cast<int64_t>(v)); }
    void bind(int i, double v) { check(sqlite3_bind_double(st_, i, v)); }
    void bind(int i, const std::string& v) {
      check(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    }
    void bind(int i, const char* v) { check(sqlite3_bind_text(st_, i, v, -1, SQLITE_TRANSIENT)); }
    void bind_null(int i) { check(sqlite3_bind_null(st_, i)); }
    bool step() {
      int rc = sqlite3_step(st_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      std::string sql = *sql_;
      reset();
      s_.fail(rc, sql);
    }
    void run() {
      while (step()) {
      }
    }
    bool null(int c) { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
    int64_t i64(int c) { return sqlite3_column_int64(st_, c); }
    double dbl(int c) { return sqlite3_column_double(st_, c); }
    std::string text(int c) {
      auto p = reinterpret_cast<const char*>(sqlite3_column_text(st_, c));
      return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, c))) : std::string();
    }

   private:
    void check(int rc) {
      if (rc != SQLITE_OK) s_.fail(rc, "bind: " + *sql_);
    }
    SqliteStorage& s_;
    const std::string* sql_ = nullptr;
    sqlite3_stmt* st_ = nullptr;
  };

  class Txn {
   public:
    Txn(SqliteStorage& s, bool write) : s_(s) {
      s_.exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
      open_ = true;
    }
    void commit() {
      s_.exec("COMMIT");
      open_ = false;
    }
    ~Txn() {
      if (open_) sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }

   private:
    SqliteStorage& s_;
    bool open_ = false;
  };

  // Lock waits: short jittered sleeps, growing to 2 ms, until `timeout`. SQLite's default
  // handler sleeps up to 100 ms per try, which under 8 writers turns microsecond transactions
  // into long convoys.
  static int busy_handler(void* self, int n) {
    auto* s = static_cast<SqliteStorage*>(self);
    if (n == 0) s->busy_since_ = std::chrono::steady_clock::now();
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - s->busy_since_).count();
    if (waited >= s->opt_.timeout_s) return 0;
    thread_local std::minstd_rand rng(std::random_device{}());
    int cap = std::min(2000, 20 << std::min(n, 7));
    std::this_thread::sleep_for(std::chrono::microseconds(cap / 2 + static_cast<int>(rng() % (cap / 2 + 1))));
    return 1;
  }

  [[noreturn]] void fail(int rc, const std::string& what) {
    std::string msg = sqlite3_errmsg(db_);
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
      throw_runtime(where() + ": database is locked for more than " + store::fmt_seconds(opt_.timeout_s) +
                    " s (raise ?timeout=) during: " + what);
    if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
      throw_data(where() + ": not a valid SQLite database (" + msg + ")");
    if (prim == SQLITE_IOERR || prim == SQLITE_FULL || prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY ||
        prim == SQLITE_PERM)
      throw_io(where() + ": " + msg + " during: " + what);
    throw_runtime(where() + ": " + msg + " during: " + what);
  }
  void exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) fail(rc, sql);
  }
  std::string where() const { return "sqlite storage \"" + path_ + "\""; }

  void close() {
    for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
    stmts_.clear();
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
  }

  // The file is created 0600 before SQLite sees it (SQLite would use 0644 under the usual umask);
  // SQLite gives its -wal and -shm files the database file's mode.
  void create_private_file() {
    int fd = ::open(path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    if (errno == EEXIST) return;
    throw_io("sqlite storage \"" + path_ + "\": cannot create: " + std::strerror(errno));
  }

  void init_schema() {
    if (!opt_.create) {  // before any pragma: they would write a header into a file that is not ours
      Stmt q(*this, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='studies'");
      q.step();
      if (q.i64(0) == 0)
        throw_io("sqlite storage \"" + path_ + "\": not a study database (no studies table; nothing was created)");
    }
    exec("PRAGMA journal_mode=WAL");
    exec(opt_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    Txn tx(*this, true);
    bool fresh;
    {
      Stmt q(*this, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='studies'");
      q.step();
      fresh = q.i64(0) == 0;
    }
    if (fresh)
      for (const char* ddl : kSchema) exec(ddl);
    exec(kExtraIndex);
    {
      Stmt q(*this, "SELECT schema_version, library_version FROM version_info");
      if (!q.step()) {
        q.reset();
        Stmt ins(*this, "INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?, ?)");
        ins.bind(1, store::kSchemaVersion);
        ins.bind(2, store::kLibraryVersion);
        ins.run();
      }
    }
    {
      Stmt q(*this, "SELECT version_num FROM alembic_version");
      if (!q.step()) {
        q.reset();
        Stmt ins(*this, "INSERT INTO alembic_version (version_num) VALUES (?)");
        ins.bind(1, store::kAlembicRevision);
        ins.run();
      } else if (q.text(0) != store::kAlembicRevision) {
        std::string rev = q.text(0);
        q.reset();
        throw_data(where() + ": schema revision \"" + rev + "\", but hone reads Optuna 3.1's \"" +
                   store::kAlembicRevision + "\" (a database upgraded by a newer Optuna cannot be shared)");
      }
    }
    tx.commit();
  }

  // ---- rows ----
  void no_study [[noreturn]] (int64_t id) {
    throw_invalid("no study with id " + std::to_string(id) + " in " + where());
  }
  void require_study(int64_t study_id) {
    Stmt q(*this, "SELECT 1 FROM studies WHERE study_id=?");
    q.bind(1, study_id);
    if (!q.step()) no_study(study_id);
  }
  Direction direction_locked(int64_t study_id) {
    Stmt q(*this, "SELECT direction FROM study_directions WHERE study_id=? AND objective=0");
    q.bind(1, study_id);
    if (!q.step()) no_study(study_id);
    std::string d = q.text(0);
    return d == "NOT_SET" ? Direction::kMinimize : direction_from_string(d);
  }
  static TrialRow row_from(Stmt& q) {
    TrialRow r;
    r.trial_id = q.i64(0);
    r.number = q.null(1) ? -1 : q.i64(1);
    r.study_id = q.i64(2);
    r.state = trial_state_from_string(q.text(3));
    r.start = q.text(4);
    r.complete = q.text(5);
    return r;
  }
  TrialRow trial_row(int64_t trial_id) {
    Stmt q(*this, sql::kTrialRow);
    q.bind(1, trial_id);
    if (!q.step()) throw_invalid("no trial with id " + std::to_string(trial_id) + " in " + where());
    return row_from(q);
  }
  TrialRow writable_trial(int64_t trial_id) {
    TrialRow r = trial_row(trial_id);
    if (is_finished(r.state)) {
      std::string name = "?";
      Stmt q(*this, sql::kStudyName);
      q.bind(1, r.study_id);
      if (q.step()) name = q.text(0);
      store::throw_finished(r.number, name, r.state);
    }
    return r;
  }
  // A new trial (from `templ` when given) and its children; caller holds mu_ and a write transaction.
  int64_t insert_from_template(int64_t study_id, const FrozenTrial* templ) {
    store::TrialStart st = store::trial_start(templ);
    int64_t id = insert_trial(study_id, st);
    if (templ) store::write_template_children(*this, study_id, id, *templ);
    if (st.state == TrialState::kRunning) start_heartbeat(id);
    return id;
  }

  int64_t insert_trial(int64_t study_id, const store::TrialStart& st) {
    Stmt ins(*this, sql::kInsertTrial);
    ins.bind(1, study_id);
    ins.bind(2, study_id);
    ins.bind(3, to_string(st.state));
    bind_time(ins, 4, st.start);
    bind_time(ins, 5, st.complete);
    ins.run();
    return sqlite3_last_insert_rowid(db_);
  }

  static void bind_time(Stmt& q, int i, std::optional<Clock::time_point> t) {
    if (t) q.bind(i, format_datetime(*t));
    else q.bind_null(i);
  }

  // ---- writes (caller holds mu_ and a write transaction) ----
  // TrialChildWriter
  void check_param(int64_t study_id, const std::string& name, const Distribution& d) override {
    records_.check_param(study_id, name, d, [&]() -> std::optional<std::string> {
      Stmt q(*this, sql::kFirstDistribution);
      q.bind(1, study_id);
      q.bind(2, name);
      if (!q.step()) return std::nullopt;
      return q.text(0);
    });
  }
  void insert_param(int64_t trial_id, const std::string& name, double v, const Distribution& d) override {
    Stmt q(*this, sql::kInsertParam);
    q.bind(1, trial_id);
    q.bind(2, name);
    q.bind(3, v);
    q.bind(4, store::distribution_text(d));
    q.run();
  }
  void upsert_value(int64_t trial_id, int64_t objective, double v) override {
    Stmt q(*this, sql::kUpsertValue);
    q.bind(1, trial_id);
    q.bind(2, objective);
    if (std::isfinite(v)) q.bind(3, v);
    else q.bind_null(3);
    q.bind(4, value_type_of(v));
    q.run();
  }
  void upsert_intermediate(int64_t trial_id, int64_t step, double v) override {
    store::check_step(step);
    Stmt q(*this, sql::kUpsertIntermediate);
    q.bind(1, trial_id);
    q.bind(2, step);
    if (std::isfinite(v)) q.bind(3, v);
    else q.bind_null(3);
    q.bind(4, value_type_of(v));
    q.run();
  }
  void upsert_trial_attr(const char* table, int64_t trial_id, const std::string& k, const json& v) override {
    Stmt q(*this, sql::upsert_trial_attr(table));
    q.bind(1, trial_id);
    q.bind(2, k);
    q.bind(3, python_json_dumps(v));
    q.run();
  }
  void set_trial_attr(const char* table, int64_t trial_id, const std::string& k, const json& v) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    writable_trial(trial_id);
    upsert_trial_attr(table, trial_id, k, v);
    tx.commit();
  }
  void set_study_attr(const char* table, int64_t study_id, const std::string& k, const json& v) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, true);
    require_study(study_id);
    Stmt q(*this, sql::upsert_study_attr(table));
    q.bind(1, study_id);
    q.bind(2, k);
    q.bind(3, python_json_dumps(v));
    q.run();
    tx.commit();
  }
  std::map<std::string, json> get_study_attrs(const char* table, int64_t study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Txn tx(*this, false);
    require_study(study_id);
    Stmt q(*this, sql::select_study_attrs(table));
    q.bind(1, study_id);
    std::map<std::string, json> out;
    while (q.step()) out[q.text(0)] = records_.attr(q.text(1));
    q.reset();
    tx.commit();
    return out;
  }
  // ---- reads (caller holds mu_ and a transaction) ----
  // Loads the trials of `rows` (in that order). With `range`, children are read for the whole
  // (study, number >= min_number) range in one query per table when many trials are missing from
  // the cache; otherwise per trial by index.
  std::vector<FrozenTrial> load(const std::vector<TrialRow>& rows, bool range, int64_t study_id,
                                int64_t min_number) {
    std::vector<FrozenTrial> out(rows.size());
    std::unordered_map<int64_t, size_t> need;  // trial_id -> index in out
    for (size_t i = 0; i < rows.size(); ++i) {
      if (auto c = records_.cached(rows[i])) {
        out[i] = std::move(*c);
        continue;
      }
      out[i] = records_.from_row(rows[i]);
      need.emplace(rows[i].trial_id, i);
    }
    if (need.empty()) return out;
    auto sink = [&](int64_t id) -> FrozenTrial* {
      auto it = need.find(id);
      return it == need.end() ? nullptr : &out[it->second];
    };
    const bool bulk = range && need.size() > 16;
    const std::string sub = " WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id=? AND number>=?)";
    auto for_each = [&](const std::string& cols, const std::string& table, const std::string& extra, auto&& fn) {
      if (bulk) {
        Stmt q(*this, "SELECT trial_id, " + cols + " FROM " + table + sub + extra);
        q.bind(1, study_id);
        q.bind(2, min_number);
        while (q.step())
          if (FrozenTrial* t = sink(q.i64(0))) fn(*t, q);
      } else {
        Stmt q(*this, "SELECT trial_id, " + cols + " FROM " + table + " WHERE trial_id=?" + extra);
        for (auto& [id, idx] : need) {
          q.bind(1, id);
          while (q.step()) fn(out[idx], q);
          q.reset();
        }
      }
    };
    for_each("value, value_type, objective", "trial_values", " ORDER BY objective",
             [&](FrozenTrial& t, Stmt& q) {
               records_.add_objective_value(t, q.i64(3), q.dbl(1), q.null(1), q.text(2));
             });
    for_each("param_name, param_value, distribution_json", "trial_params", "",
             [&](FrozenTrial& t, Stmt& q) { records_.add_param(t, q.text(1), q.dbl(2), q.text(3)); });
    for_each("step, intermediate_value, intermediate_value_type", "trial_intermediate_values", "",
             [&](FrozenTrial& t, Stmt& q) { records_.add_intermediate(t, q.i64(1), q.dbl(2), q.null(2), q.text(3)); });
    for_each("\"key\", value_json", "trial_user_attributes", "",
             [&](FrozenTrial& t, Stmt& q) { t.user_attrs[q.text(1)] = records_.attr(q.text(2)); });
    for_each("\"key\", value_json", "trial_system_attributes", "",
             [&](FrozenTrial& t, Stmt& q) { t.system_attrs[q.text(1)] = records_.attr(q.text(2)); });
    for (auto& [id, idx] : need) records_.remember(rows[idx], out[idx]);
    return out;
  }

  // ---- heartbeat bookkeeping (caller holds mu_; inside the trial's write transaction) ----
  void start_heartbeat(int64_t trial_id) {
    if (opt_.heartbeat_interval_s <= 0) return;
    Stmt q(*this,
           "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, " HB_NOW ") "
           "ON CONFLICT (trial_id) DO UPDATE SET heartbeat=excluded.heartbeat");
    q.bind(1, trial_id);
    q.run();
    owned_.insert(trial_id);
  }
  void stop_heartbeat(int64_t trial_id) { owned_.erase(trial_id); }

  void beat() {
    std::lock_guard<std::mutex> lock(mu_);
    if (owned_.empty()) return;
    Txn tx(*this, true);
    Stmt q(*this, "UPDATE trial_heartbeats SET heartbeat=" HB_NOW " WHERE trial_id=?");
    for (int64_t id : owned_) {
      q.bind(1, id);
      q.run();
      q.reset();
    }
    tx.commit();
  }


  std::string path_;
  SqlStorageOptions opt_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;  // guards everything below and the connection
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
  store::TrialRecords records_;  // finished-trial cache, parsed distributions, first distributions
  std::set<int64_t> owned_;  // RUNNING trials this process beats for
  std::chrono::steady_clock::time_point busy_since_;
  std::unique_ptr<store::HeartbeatThread> heartbeat_;
};

}  // namespace

std::shared_ptr<Storage> make_sqlite_storage(const std::string& path, const SqlStorageOptions& options) {
  if (path.empty()) throw_invalid("sqlite storage: empty path (use sqlite:///file.db or sqlite:///:memory:)");
  return std::make_shared<SqliteStorage>(path, options);
}

std::shared_ptr<Storage> open_sqlite_storage_url(const std::string& url) { return store::open_sqlite_url(url, true); }

std::shared_ptr<Storage> store::open_sqlite_url(const std::string& url, bool create) {
  std::string base;
  SqlStorageOptions o = parse_storage_options(url, &base);
  o.create = create;
  // SQLAlchemy's forms: sqlite:///rel.db, sqlite:////abs.db, sqlite:// and sqlite:///:memory:.
  const std::string prefix = "sqlite://";
  const std::string shown = mask_storage_url(url);  // sqlite://user:pw@host/x.db: no password in messages
  if (base.rfind(prefix, 0) != 0)
    throw_invalid("storage \"" + shown + "\": a SQLite URL is sqlite:///relative.db or sqlite:////absolute.db");
  std::string rest = base.substr(prefix.size());
  if (rest == "/")
    throw_invalid("storage \"" + shown + "\": empty file path (sqlite:///file.db, sqlite:////absolute/file.db, or "
                  "sqlite:///:memory: for a database in this process's memory)");
  if (rest.empty() || rest == "/:memory:") return make_sqlite_storage(":memory:", o);
  if (rest[0] != '/')
    throw_invalid("storage \"" + shown + "\": expected three slashes, sqlite:///" +
                  mask_storage_url(prefix + rest).substr(prefix.size()) + " (a host is not allowed)");
  return make_sqlite_storage(rest.substr(1), o);
}

}  // namespace hone
