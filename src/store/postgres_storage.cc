// PostgresStorage: Optuna 3.1's RDB schema on PostgreSQL, through libpq.
//
// Why it is shaped this way:
//  * One connection per storage object, behind a mutex, as the SQLite backend: the work per call
//    is one to four round trips, and processes (the unit hone scales by) each hold their own.
//  * Every statement is prepared once per connection and run with PQexecPrepared: parameters
//    travel apart from the SQL text, so names with quotes or SQL fragments are only data. The SQL
//    text is shared with the SQLite backend (sql_common.h, '?' renumbered to $n here).
//  * Trial numbers: creating a trial locks the study row (SELECT ... FOR NO KEY UPDATE; Optuna
//    locks it FOR UPDATE, which conflicts with ours) and computes highest number + 1 in the INSERT.
//    Under READ COMMITTED the INSERT's snapshot is taken after the lock is granted, so it sees
//    the previous holder's trial: numbers are unique and dense across any number of machines. A
//    plain new trial sends BEGIN, the lock, the INSERT and COMMIT as one libpq pipeline, so the
//    lock is held for the server's time only, never across a network round trip.
//  * Writes to a running trial (param, report, attr, finish) are single autocommit statements
//    that read the trial's row FOR SHARE and write only while it is RUNNING or WAITING.
//  * Claims of enqueued trials are one conditional UPDATE: PostgreSQL's row lock makes a second
//    claimer wait, re-check state='WAITING' and update nothing. Stale-trial reaping takes the
//    dead rows FOR UPDATE SKIP LOCKED, so concurrent reapers never wait for one another.
//  * Reads are outside transactions (BEGIN and COMMIT would double their round trips). get_trial
//    is one statement (row and children: one snapshot). get_all_trials reads rows, then the five
//    child tables of the uncached ones in one statement: a row read as finished always comes with
//    all its children (they were committed with the state); a RUNNING trial may show children
//    newer than its row, which the contract allows for a trial that is still moving. Finished
//    trials are cached (immutable by contract) and never re-read.
//  * Connection loss (server restart, failover, network) is retried: reconnect with jittered
//    backoff until `timeout`, then re-run the whole transaction. A transaction either committed
//    or did not; the one ambiguous case, a connection lost during COMMIT, is resolved where it
//    matters: finishing a trial that is already in the requested state counts as done.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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
namespace sql = store::sql;

// The DDL as SQLAlchemy 1.4 emits it for Optuna 3.1 on PostgreSQL (checked against pg_dump of a
// database Optuna 3.1 created): SERIAL ids, native enum types, FLOAT(53) = double precision,
// DATETIME = timestamp without time zone.
const char* const kSchema[] = {
    "CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE')",
    "CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING')",
    "CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG')",
    "CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN')",
    "CREATE TABLE studies (study_id SERIAL NOT NULL, study_name VARCHAR(512) NOT NULL, PRIMARY KEY (study_id))",
    "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)",
    "CREATE TABLE version_info (version_info_id INTEGER NOT NULL, schema_version INTEGER, library_version "
    "VARCHAR(256), PRIMARY KEY (version_info_id), CHECK (version_info_id=1))",
    "CREATE TABLE study_directions (study_direction_id SERIAL NOT NULL, direction studydirection NOT NULL, "
    "study_id INTEGER NOT NULL, objective INTEGER NOT NULL, PRIMARY KEY (study_direction_id), UNIQUE (study_id, "
    "objective), FOREIGN KEY(study_id) REFERENCES studies (study_id))",
    "CREATE TABLE study_user_attributes (study_user_attribute_id SERIAL NOT NULL, study_id INTEGER, \"key\" "
    "VARCHAR(512), value_json TEXT, PRIMARY KEY (study_user_attribute_id), UNIQUE (study_id, \"key\"), FOREIGN "
    "KEY(study_id) REFERENCES studies (study_id))",
    "CREATE TABLE study_system_attributes (study_system_attribute_id SERIAL NOT NULL, study_id INTEGER, \"key\" "
    "VARCHAR(512), value_json TEXT, PRIMARY KEY (study_system_attribute_id), UNIQUE (study_id, \"key\"), FOREIGN "
    "KEY(study_id) REFERENCES studies (study_id))",
    "CREATE TABLE trials (trial_id SERIAL NOT NULL, number INTEGER, study_id INTEGER, state trialstate NOT NULL, "
    "datetime_start TIMESTAMP WITHOUT TIME ZONE, datetime_complete TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY "
    "(trial_id), FOREIGN KEY(study_id) REFERENCES studies (study_id))",
    "CREATE TABLE trial_user_attributes (trial_user_attribute_id SERIAL NOT NULL, trial_id INTEGER, \"key\" "
    "VARCHAR(512), value_json TEXT, PRIMARY KEY (trial_user_attribute_id), UNIQUE (trial_id, \"key\"), FOREIGN "
    "KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE trial_system_attributes (trial_system_attribute_id SERIAL NOT NULL, trial_id INTEGER, \"key\" "
    "VARCHAR(512), value_json TEXT, PRIMARY KEY (trial_system_attribute_id), UNIQUE (trial_id, \"key\"), FOREIGN "
    "KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE trial_params (param_id SERIAL NOT NULL, trial_id INTEGER, param_name VARCHAR(512), param_value "
    "FLOAT(53), distribution_json TEXT, PRIMARY KEY (param_id), UNIQUE (trial_id, param_name), FOREIGN "
    "KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE trial_values (trial_value_id SERIAL NOT NULL, trial_id INTEGER NOT NULL, objective INTEGER NOT "
    "NULL, value FLOAT(53), value_type trialvaluetype NOT NULL, PRIMARY KEY (trial_value_id), UNIQUE (trial_id, "
    "objective), FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE trial_intermediate_values (trial_intermediate_value_id SERIAL NOT NULL, trial_id INTEGER NOT "
    "NULL, step INTEGER NOT NULL, intermediate_value FLOAT(53), intermediate_value_type trialintermediatevaluetype "
    "NOT NULL, PRIMARY KEY (trial_intermediate_value_id), UNIQUE (trial_id, step), FOREIGN KEY(trial_id) "
    "REFERENCES trials (trial_id))",
    "CREATE TABLE trial_heartbeats (trial_heartbeat_id SERIAL NOT NULL, trial_id INTEGER NOT NULL, heartbeat "
    "TIMESTAMP WITHOUT TIME ZONE NOT NULL, PRIMARY KEY (trial_heartbeat_id), UNIQUE (trial_id), FOREIGN "
    "KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY "
    "(version_num))",
};
// As on SQLite: an index Optuna 3.1 ignores, for the per-study reads and MAX(number).
const char* const kExtraIndex =
    "CREATE INDEX IF NOT EXISTS ix_trials_study_id_number_hone ON trials (study_id, number)";
// Schema creation by several processes at once is serialised by this advisory lock.
const char* const kSchemaLock = "SELECT pg_advisory_xact_lock(7238105530921)";

// A statement parameter as libpq's text format; nullopt is SQL NULL.
struct Arg {
  std::optional<std::string> text;
  Arg(std::nullopt_t) {}
  Arg(int64_t v) : text(std::to_string(v)) {}
  Arg(int v) : text(std::to_string(v)) {}
  Arg(double v) {
    if (std::isnan(v)) text = "NaN";
    else if (std::isinf(v)) text = v > 0 ? "Infinity" : "-Infinity";
    else {
      char b[32];
      std::snprintf(b, sizeof b, "%.17g", v);
      text = b;
    }
  }
  Arg(const std::string& v) : text(v) {}
  Arg(const char* v) : text(std::string(v)) {}
  Arg(std::optional<Clock::time_point> t) {
    if (t) text = format_datetime(*t);
  }
};

// The connection is gone or the server is restarting: reconnect and re-run the transaction.
struct Transient {
  std::string what;
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r, PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool null(int r, int c) const { return PQgetisnull(r_.get(), r, c); }
  std::string text(int r, int c) const { return std::string(PQgetvalue(r_.get(), r, c), PQgetlength(r_.get(), r, c)); }
  int64_t i64(int r, int c) const { return std::strtoll(PQgetvalue(r_.get(), r, c), nullptr, 10); }
  double dbl(int r, int c) const { return null(r, c) ? 0.0 : std::strtod(PQgetvalue(r_.get(), r, c), nullptr); }
  int64_t affected() const { return std::strtoll(PQcmdTuples(r_.get()), nullptr, 10); }
  PGresult* raw() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

// `msg` with every occurrence of the password in `conninfo` replaced by ***: libpq quotes the
// connection string in some of its messages.
std::string scrub(std::string msg, const std::string& conninfo) {
  std::string password;
  if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), nullptr)) {
    for (PQconninfoOption* o = opts; o->keyword; ++o)
      if (std::strcmp(o->keyword, "password") == 0 && o->val) password = o->val;
    PQconninfoFree(opts);
  }
  // Unparsable strings: mask what follows "user:" up to '@' as mask_storage_url does.
  std::string masked = mask_storage_url(conninfo);
  for (size_t p; !conninfo.empty() && (p = msg.find(conninfo)) != std::string::npos;)
    msg.replace(p, conninfo.size(), masked);
  for (size_t p; !password.empty() && (p = msg.find(password)) != std::string::npos;) msg.replace(p, password.size(), "***");
  return msg;
}

// "SELECT ... WHERE a=? AND b=?" -> "... a=$1 AND b=$2" ('?' inside quotes left alone).
std::string number_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      out += "$" + std::to_string(++n);
      continue;
    }
    out += c;
  }
  return out;
}

class PostgresStorage final : public store::SqlStorageBase, public store::StaleTrialReaper, private store::TrialChildWriter {
 public:
  PostgresStorage(const std::string& conninfo, const SqlStorageOptions& o)
      : conninfo_(conninfo), masked_(mask_storage_url(conninfo)), opt_(o), records_(where()) {
    std::lock_guard<std::mutex> lock(mu_);
    connect_once();  // the first connection is not retried: a wrong URL should fail at once
    try {
      open_schema();
    } catch (...) {  // no destructor runs for a constructor that throws: close the connection here
      if (conn_) PQfinish(conn_);
      conn_ = nullptr;
      throw;
    }
    if (opt_.heartbeat_interval_s > 0) {
      if (opt_.grace_period_s <= 0) opt_.grace_period_s = 2 * opt_.heartbeat_interval_s;
      heartbeat_ = std::make_unique<store::HeartbeatThread>(opt_.heartbeat_interval_s, [this] { beat(); });
    }
  }
  // The study tables: created when missing (unless opened read-only), then the versions checked.
  void open_schema() {
    run_locked(Mode::kWrite, [&](int) {
      exec(kSchemaLock, {});
      if (exec("SELECT to_regclass('studies') IS NULL", {}).text(0, 0) == "t") {
        if (!opt_.create)
          throw_io("postgresql storage \"" + masked_ + "\": no study tables in this database (nothing was created)");
        for (const char* ddl : kSchema) exec(ddl, {});
      }
      exec(kExtraIndex, {});
      check_versions();
      return 0;
    });
  }
  ~PostgresStorage() override {
    heartbeat_.reset();  // before the connection goes
    if (conn_) PQfinish(conn_);
  }

  // ---- studies ----
  int64_t create_new_study(const std::vector<Direction>& directions, const std::string& name_in) override {
    if (directions.empty()) throw_invalid("create_new_study: a study needs at least one direction");
    std::string name = name_in.empty() ? store::generated_study_name() : name_in;
    return run(Mode::kWrite, [&](int) {
      if (exec(sql::kStudyIdByName, {name}).rows() > 0) exists(name);
      // ON CONFLICT: two processes creating the same name at once; the unique index decides.
      Result ins = exec("INSERT INTO studies (study_name) VALUES (?) ON CONFLICT DO NOTHING RETURNING study_id", {name});
      if (ins.rows() == 0) exists(name);
      int64_t id = ins.i64(0, 0);
      for (size_t k = 0; k < directions.size(); ++k)
        exec(sql::kInsertDirection, {to_string(directions[k]), id, static_cast<int64_t>(k)});
      return id;
    });
  }

  void delete_study(int64_t study_id) override {
    run(Mode::kWrite, [&](int) {
      require_study(study_id, true);
      for (const char* t : sql::kTrialChildTables) exec(sql::delete_trial_children(t), {study_id});
      for (const char* t : sql::kStudyTables) exec(sql::delete_study_rows(t), {study_id});
      return 0;
    });
    std::lock_guard<std::mutex> lock(mu_);
    records_.forget_study(study_id);
    for (auto it = ids_.begin(); it != ids_.end();) it = it->second.first == study_id ? ids_.erase(it) : std::next(it);
  }

  int64_t get_study_id_from_name(const std::string& name) override {
    return run(Mode::kSingle, [&](int) {
      Result r = exec(sql::kStudyIdByName, {name});
      if (r.rows() == 0) throw_invalid("no study named \"" + name + "\" in " + where());
      return r.i64(0, 0);
    });
  }
  std::string get_study_name(int64_t study_id) override {
    return run(Mode::kSingle, [&](int) {
      Result r = exec(sql::kStudyName, {study_id});
      if (r.rows() == 0) no_study(study_id);
      return r.text(0, 0);
    });
  }
  std::vector<Direction> get_study_directions(int64_t study_id) override {
    return run(Mode::kSingle, [&](int) {
      Result q = exec(sql::kDirections, {study_id});
      if (q.rows() == 0) no_study(study_id);
      std::vector<Direction> out;
      for (int i = 0; i < q.rows(); ++i)
        out.push_back(q.text(i, 0) == "NOT_SET" ? Direction::kMinimize : direction_from_string(q.text(i, 0)));
      return out;
    });
  }
  Direction get_study_direction(int64_t study_id) override {
    return run(Mode::kSingle, [&](int) { return direction_of(study_id, true); });
  }
  std::vector<std::string> get_all_study_names() override {
    return run(Mode::kSingle, [&](int) {
      Result r = exec(sql::kStudyNames, {});
      std::vector<std::string> out;
      for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
      return out;
    });
  }

  // ---- trials ----
  int64_t create_new_trial(int64_t study_id, const FrozenTrial* templ) override {
    if (opt_.heartbeat_interval_s > 0) fail_stale(study_id);
    store::TrialStart st = store::trial_start(templ);
    // The hot path (a worker's next trial): the whole transaction in one pipeline, one round trip,
    // so the study lock is held for server time only, never across the network.
    if (!templ && opt_.heartbeat_interval_s <= 0)
      return run(Mode::kSingle, [&](int) { return create_trial_pipelined(study_id, st); });
    return run(Mode::kWrite, [&](int) {
      lock_study(study_id);
      return insert_from_template(study_id, st, templ);
    });
  }

  // A queue's batch: one transaction, one study lock (all or nothing; re-run whole on a lost connection).
  void create_new_trials(int64_t study_id, const std::vector<FrozenTrial>& templates) override {
    if (opt_.heartbeat_interval_s > 0) fail_stale(study_id);
    run(Mode::kWrite, [&](int) {
      lock_study(study_id);
      for (const FrozenTrial& templ : templates) insert_from_template(study_id, store::trial_start(&templ), &templ);
      return 0;
    });
  }

  int64_t insert_from_template(int64_t study_id, const store::TrialStart& st, const FrozenTrial* templ) {
    int64_t id = insert_trial(study_id, st);
    if (templ) store::write_template_children(*this, study_id, id, *templ);
    if (st.state == TrialState::kRunning) start_heartbeat(id);
    return id;
  }

  int64_t get_trial_id_from_study_id_trial_number(int64_t study_id, int64_t number) override {
    return run(Mode::kSingle, [&](int) {
      Result r = exec(sql::kTrialIdByNumber, {study_id, number});
      if (r.rows() == 0)
        throw_invalid("no trial #" + std::to_string(number) + " in study " + std::to_string(study_id) + " of " +
                      where());
      return r.i64(0, 0);
    });
  }
  int64_t get_trial_number_from_id(int64_t trial_id) override {
    return run(Mode::kSingle, [&](int) { return ids_of(trial_id).second; });
  }
  int64_t get_study_id_from_trial_id(int64_t trial_id) override {
    return run(Mode::kSingle, [&](int) { return ids_of(trial_id).first; });
  }

  void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& dist) override {
    run(Mode::kSingle, [&](int) {
      check_param(ids_of(trial_id).first, name, dist);
      write_if_unfinished(trial_id, kParamIfUnfinished, {name, internal, store::distribution_text(dist), trial_id});
      return 0;
    });
  }

  bool set_trial_state_values(int64_t trial_id, TrialState state, const std::vector<double>& values) override {
    bool finished = false;
    bool ok = run(Mode::kSingle, [&](int attempt) {
      if (state == TrialState::kRunning) {
        if (exec(sql::kClaim, {std::optional(Clock::now()), trial_id}).affected() != 1) {
          trial_row(trial_id, false);  // an unknown id is an error, a lost race is not
          return false;
        }
        start_heartbeat(trial_id);
        return true;
      }
      const bool has_nan = std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); });
      bool store = !values.empty() && !has_nan && (state == TrialState::kComplete || state == TrialState::kPruned);
      if (state == TrialState::kComplete && !store) stores_values(trial_row(trial_id, false).number, state, values);
      // One statement: the state change and the values (one row per objective, from arrays)
      // commit together or not at all.
      std::string objs = "{", vals = "{", types = "{";
      for (size_t k = 0; store && k < values.size(); ++k) {
        const char* sep = k ? "," : "";
        objs += sep + std::to_string(k);
        vals += sep + (std::isfinite(values[k]) ? *Arg(values[k]).text : std::string("NULL"));
        types += sep + std::string(store::value_type_of(values[k]));
      }
      objs += "}", vals += "}", types += "}";
      Result q = exec(kFinishIfUnfinished,
                      {to_string(state), is_finished(state) ? std::optional(Clock::now()) : std::nullopt, trial_id,
                       objs, vals, types, store ? "t" : "f"});
      if (q.i64(0, 0) == 0) {
        TrialRow r = trial_row(trial_id, false);
        // A retry after a connection lost while the first attempt committed: it went through.
        if (attempt > 0 && r.state == state && is_finished(state)) return finished = true;
        throw_finished(r);
      }
      finished = is_finished(state);
      return true;
    });
    if (finished) stop_heartbeat(trial_id);
    return ok;
  }

  // One statement: SKIP LOCKED lets concurrent claimers take different rows, the outer WAITING
  // check makes the claim conditional (as kClaim) against writers that do not lock rows.
  std::optional<int64_t> claim_waiting_trial(int64_t study_id) override {
    static const std::string kClaimOldest =
        "UPDATE trials SET state='RUNNING', datetime_start=? WHERE state='WAITING' AND trial_id = ("
        "SELECT trial_id FROM trials WHERE study_id=? AND state='WAITING' ORDER BY number LIMIT 1 "
        "FOR UPDATE SKIP LOCKED) RETURNING trial_id";
    // A queue's trials are claimed, not created: reap the dead here too, or a killed worker's
    // trials would stay RUNNING in a study that never creates one (and a retry copy queues now).
    if (opt_.heartbeat_interval_s > 0) fail_stale(study_id);
    std::optional<int64_t> id = run(Mode::kSingle, [&](int) -> std::optional<int64_t> {
      for (int tries = 0; tries < 100; ++tries) {
        Result q = exec(kClaimOldest, {std::optional(Clock::now()), study_id});
        if (q.rows() == 1) return q.i64(0, 0);
        // None claimed: nothing waiting, or a row another writer changed under us — look again.
        if (exec(sql::kOldestWaiting, {study_id}).rows() == 0) {
          require_study(study_id, false);
          return std::nullopt;
        }
      }
      return std::nullopt;
    });
    if (id) start_heartbeat(*id);
    return id;
  }

  void set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) override {
    store::check_step(step);
    run(Mode::kSingle, [&](int) {
      write_if_unfinished(trial_id, kIntermediateIfUnfinished,
                          {step, std::isfinite(value) ? Arg(value) : Arg(std::nullopt), store::value_type_of(value),
                           trial_id});
      return 0;
    });
  }

  FrozenTrial get_trial(int64_t trial_id) override {
    return run(Mode::kSingle, [&](int) { return load_one(trial_id); });
  }

  std::vector<FrozenTrial> get_all_trials(int64_t study_id, TrialStates states, int64_t min_number) override {
    return run(Mode::kSingle, [&](int) {
      // The state filter runs in the server: a worker asking for WAITING trials of a long study
      // gets those rows only, not every trial.
      std::string in = "{";
      for (TrialState st : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFail,
                            TrialState::kWaiting})
        if (states.has(st)) in += std::string(in.size() > 1 ? "," : "") + to_string(st);
      in += "}";
      static const std::string kInStates = [] {
        std::string t = sql::kTrialsOfStudy;
        return t.insert(t.find(" ORDER BY"), " AND state = ANY(?::trialstate[])");
      }();
      Result q = exec(kInStates, {study_id, min_number, in});
      if (q.rows() == 0) require_study(study_id, false);  // none, or no such study?
      std::vector<TrialRow> rows;
      for (int i = 0; i < q.rows(); ++i) {
        TrialRow r = row_from(q, i);
        if (states.has(r.state)) rows.push_back(std::move(r));
      }
      return load(rows);
    });
  }

  int64_t get_n_trials(int64_t study_id, TrialStates states) override {
    return run(Mode::kSingle, [&](int) {
      Result q = exec(sql::kCountByState, {study_id});
      if (q.rows() == 0) require_study(study_id, false);
      int64_t n = 0;
      for (int i = 0; i < q.rows(); ++i)
        if (states.has(trial_state_from_string(q.text(i, 0)))) n += q.i64(i, 1);
      return n;
    });
  }

  std::optional<FrozenTrial> get_best_trial(int64_t study_id) override {
    return run(Mode::kSingle, [&](int) -> std::optional<FrozenTrial> {
      Direction d = direction_of(study_id, false);
      Result q = exec(sql::best_trial(d), {study_id});
      if (q.rows() == 0) return std::nullopt;
      return std::optional(load_one(q.i64(0, 0)));
    });
  }

  // ---- heartbeats ----
  int64_t fail_stale(int64_t study_id) override {
    if (opt_.heartbeat_interval_s <= 0) return 0;
    return run(Mode::kWrite, [&](int) {
      // Age in the database's clock (LOCALTIMESTAMP, as Optuna's CURRENT_TIMESTAMP lands in a
      // timestamp column); our own live trials are never stale (this process beats for them).
      Result q = exec(
          "SELECT t.trial_id FROM trials t JOIN trial_heartbeats h ON h.trial_id=t.trial_id WHERE t.study_id=? AND "
          "t.state='RUNNING' AND h.heartbeat < LOCALTIMESTAMP - make_interval(secs => ?) FOR UPDATE OF t SKIP LOCKED",
          {study_id, opt_.grace_period_s});
      std::vector<TrialRow> rows;
      for (int i = 0; i < q.rows(); ++i) {
        int64_t id = q.i64(i, 0);
        if (owned_.count(id)) continue;
        if (exec(sql::kFailRunning, {std::optional(Clock::now()), id}).affected() != 1) continue;
        upsert_trial_attr("trial_system_attributes", id, "fail_reason", store::stale_fail_reason(opt_.grace_period_s));
        rows.push_back(trial_row(id, false));
      }
      std::vector<FrozenTrial> dead = load(rows);
      for (const FrozenTrial& re : store::retry_templates(dead, opt_.max_retries)) {
        int64_t id = insert_trial(study_id, store::trial_start(&re));
        store::write_template_children(*this, study_id, id, re, false);
      }
      return static_cast<int64_t>(dead.size());
    });
  }

 private:
  enum class Mode { kSingle, kWrite };  // single: one autocommit statement at a time

  // ---- connection, statements, transactions ----
  void connect_once() {
    if (conn_) PQfinish(conn_);
    prepared_.clear();
    std::string timeout = std::to_string(std::clamp(static_cast<int>(std::ceil(opt_.timeout_s)), 2, 10));
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* vals[] = {conninfo_.c_str(), timeout.c_str(), "hone", nullptr};
    conn_ = PQconnectdbParams(keys, vals, 1);
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
      if (conn_) PQfinish(conn_);
      conn_ = nullptr;
      throw_io(where() + ": cannot connect: " + one_line(scrub(msg, conninfo_)));
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // "already exists, skipping"
    // ISO datetimes (what parse_datetime reads) and doubles that round-trip on any server version.
    PQclear(PQexec(conn_, "SET DateStyle TO ISO; SET extra_float_digits TO 3; SET client_encoding TO 'UTF8'"));
  }

  // Reconnects with jittered backoff (50 ms doubling to 2 s) until `deadline`.
  void reconnect(std::chrono::steady_clock::time_point deadline, const std::string& why) {
    thread_local std::minstd_rand rng(std::random_device{}());
    for (int n = 0;; ++n) {
      try {
        connect_once();
        return;
      } catch (const Error& e) {
        if (std::chrono::steady_clock::now() >= deadline)
          throw_io(where() + ": connection lost (" + why + ") and not re-established within " +
                   store::fmt_seconds(opt_.timeout_s) + " s (raise ?timeout=): " + e.what());
      }
      int cap = std::min(2000, 50 << std::min(n, 6));
      std::this_thread::sleep_for(std::chrono::milliseconds(cap / 2 + static_cast<int>(rng() % (cap / 2 + 1))));
    }
  }

  template <class F>
  auto run(Mode mode, F&& f) -> decltype(f(0)) {
    std::lock_guard<std::mutex> lock(mu_);
    return run_locked(mode, std::forward<F>(f));
  }

  // Runs f(attempt) in a transaction (none for Mode::kSingle), re-running it after a lost
  // connection, a serialization failure or a deadlock until `timeout` has passed.
  template <class F>
  auto run_locked(Mode mode, F&& f) -> decltype(f(0)) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                           std::chrono::duration<double>(opt_.timeout_s));
    for (int attempt = 0;; ++attempt) {
      try {
        if (!conn_ || PQstatus(conn_) != CONNECTION_OK) throw Transient{"no connection"};
        if (mode == Mode::kSingle) return f(attempt);
        command("BEGIN");
        auto out = f(attempt);
        command("COMMIT");
        return out;
      } catch (const Transient& t) {
        rollback_quietly();
        if (std::chrono::steady_clock::now() >= deadline)
          throw_io(where() + ": " + t.what + " for more than " + store::fmt_seconds(opt_.timeout_s) +
                   " s (raise ?timeout=)");
        if (!conn_ || PQstatus(conn_) != CONNECTION_OK) reconnect(deadline, t.what);
        else std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 20));  // 40001/40P01
      } catch (...) {
        rollback_quietly();
        throw;
      }
    }
  }

  void rollback_quietly() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
      PQclear(PQexec(conn_, "ROLLBACK"));
  }

  void command(const char* sql) { check(PQexec(conn_, sql), sql); }

  // The name of the statement prepared (once per connection) for `sql_text`.
  const std::string& prepared(const std::string& sql_text) {
    auto it = prepared_.find(sql_text);
    if (it == prepared_.end()) {
      std::string name = "hone_" + std::to_string(prepared_.size());
      check(PQprepare(conn_, name.c_str(), number_placeholders(sql_text).c_str(), 0, nullptr), sql_text);
      it = prepared_.emplace(sql_text, name).first;
    }
    return it->second;
  }
  Result exec(const std::string& sql_text, std::initializer_list<Arg> args) {
    const std::string& name = prepared(sql_text);
    const char* values[16];
    size_t n = 0;
    for (const Arg& a : args) values[n++] = a.text ? a.text->c_str() : nullptr;
    return check(PQexecPrepared(conn_, name.c_str(), static_cast<int>(n), values, nullptr, nullptr, 0), sql_text);
  }

  // BEGIN; lock the study row; INSERT the trial; COMMIT — sent as one libpq pipeline. The INSERT is
  // its own statement, so under READ COMMITTED its snapshot is taken after the lock is granted (one
  // statement with both would compute the number from a snapshot older than the lock).
  int64_t create_trial_pipelined(int64_t study_id, const store::TrialStart& st) {
    static const std::string kInsert = std::string(sql::kInsertTrial) + " RETURNING trial_id";
    const std::string& lock_name = prepared(kLockStudy);
    const std::string& insert_name = prepared(kInsert);
    Arg a_study(study_id), a_state(to_string(st.state)), a_start(st.start), a_complete(st.complete);
    const char* lock_args[] = {a_study.text->c_str()};
    const char* insert_args[] = {a_study.text->c_str(), a_study.text->c_str(), a_state.text->c_str(),
                                 a_start.text ? a_start.text->c_str() : nullptr,
                                 a_complete.text ? a_complete.text->c_str() : nullptr};
    std::vector<PGresult*> res;
    bool sent = PQenterPipelineMode(conn_) &&
                PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) &&
                PQsendQueryPrepared(conn_, lock_name.c_str(), 1, lock_args, nullptr, nullptr, 0) &&
                PQsendQueryPrepared(conn_, insert_name.c_str(), 5, insert_args, nullptr, nullptr, 0) &&
                PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) && PQpipelineSync(conn_);
    if (sent) {
      for (int k = 0; k < 4; ++k) {
        PGresult* r = PQgetResult(conn_);
        if (!r) break;  // connection trouble: the checks below report it
        res.push_back(r);
        while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);  // the NULL that ends a query's results
      }
      if (res.size() == 4) PQclear(PQgetResult(conn_));  // PGRES_PIPELINE_SYNC
    }
    PQexitPipelineMode(conn_);
    std::vector<Result> owned;
    for (PGresult* r : res) owned.emplace_back(r);
    if (owned.size() < 4) {
      if (PQstatus(conn_) != CONNECTION_OK) throw Transient{one_line(PQerrorMessage(conn_))};
      throw_runtime(where() + ": trial creation pipeline failed: " + one_line(PQerrorMessage(conn_)));
    }
    // Results in order; an error aborts the rest (PGRES_PIPELINE_ABORTED), so the first one decides.
    check_owned(owned[0], "BEGIN");
    check_owned(owned[1], kLockStudy);
    if (owned[1].rows() == 0) no_study(study_id);  // the INSERT then failed on the foreign key
    check_owned(owned[2], kInsert);
    check_owned(owned[3], "COMMIT");
    return owned[2].i64(0, 0);
  }

  Result check(PGresult* raw, const std::string& what) {
    Result r(raw);
    check_owned(r, what);
    return r;
  }
  void check_owned(const Result& r, const std::string& what) {
    PGresult* raw = r.raw();
    ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return;
    const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    std::string code = state ? state : "";
    std::string msg = one_line(raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_));
    if (msg.empty()) msg = one_line(PQerrorMessage(conn_));
    // 08: connection exceptions; 57P0x: admin/crash shutdown, cannot connect now; 40001/40P01:
    // serialization failure and deadlock, which PostgreSQL asks the client to retry.
    if (PQstatus(conn_) != CONNECTION_OK || code.rfind("08", 0) == 0 || code.rfind("57P0", 0) == 0 ||
        code == "40001" || code == "40P01")
      throw Transient{msg.empty() ? "connection lost" : msg};
    if (code == "55P03" || code == "57014")
      throw_runtime(where() + ": lock or statement timeout: " + msg + " during: " + what);
    throw_runtime(where() + ": " + msg + " during: " + what);
  }

  static std::string one_line(std::string s) {
    for (char& c : s)
      if (c == '\n' || c == '\t') c = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }
  std::string where() const { return "postgresql storage \"" + masked_ + "\""; }

  void check_versions() {
    Result v = exec("SELECT schema_version, library_version FROM version_info", {});
    if (v.rows() == 0)
      exec("INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?, ?)",
           {store::kSchemaVersion, store::kLibraryVersion});
    Result a = exec("SELECT version_num FROM alembic_version", {});
    if (a.rows() == 0) {
      exec("INSERT INTO alembic_version (version_num) VALUES (?)", {store::kAlembicRevision});
    } else if (a.text(0, 0) != store::kAlembicRevision) {
      throw_data(where() + ": schema revision \"" + a.text(0, 0) + "\", but hone reads Optuna 3.1's \"" +
                 store::kAlembicRevision + "\" (a database upgraded by a newer Optuna cannot be shared)");
    }
  }

  // ---- rows (inside run) ----
  [[noreturn]] void no_study(int64_t id) const {
    throw_invalid("no study with id " + std::to_string(id) + " in " + where());
  }
  [[noreturn]] void exists(const std::string& name) const {
    throw_invalid("a study named \"" + name + "\" already exists in " + where());
  }
  void require_study(int64_t study_id, bool lock) {
    if (lock) lock_study(study_id);
    else if (exec(sql::kStudyExists, {study_id}).rows() == 0) no_study(study_id);
  }
  // The study-wide write lock trial creation and deletion take (see the file comment).
  static constexpr const char* kLockStudy = "SELECT 1 FROM studies WHERE study_id=? FOR NO KEY UPDATE";
  void lock_study(int64_t study_id) {
    if (exec(kLockStudy, {study_id}).rows() == 0) no_study(study_id);
  }
  Direction direction_of(int64_t study_id, bool single_objective_check) {
    Result q = exec(sql::kDirections, {study_id});
    if (q.rows() == 0) no_study(study_id);
    if (single_objective_check && q.rows() > 1)
      throw_data(where() + ": study " + std::to_string(study_id) + " has several objectives (use get_study_directions)");
    std::string d = q.text(0, 0);
    return d == "NOT_SET" ? Direction::kMinimize : direction_from_string(d);
  }
  static TrialRow row_from(const Result& q, int i) {
    TrialRow r;
    r.trial_id = q.i64(i, 0);
    r.number = q.null(i, 1) ? -1 : q.i64(i, 1);
    r.study_id = q.i64(i, 2);
    r.state = trial_state_from_string(q.text(i, 3));
    r.start = q.text(i, 4);
    r.complete = q.text(i, 5);
    return r;
  }
  // `lock`: FOR NO KEY UPDATE, so two writers of one trial (a worker finishing it, a reaper
  // failing it) go one after the other and the second sees the first's state.
  TrialRow trial_row(int64_t trial_id, bool lock) {
    Result q = exec(lock ? std::string(sql::kTrialRow) + " FOR NO KEY UPDATE" : std::string(sql::kTrialRow), {trial_id});
    if (q.rows() == 0) throw_invalid("no trial with id " + std::to_string(trial_id) + " in " + where());
    TrialRow r = row_from(q, 0);
    ids_[r.trial_id] = {r.study_id, r.number};
    return r;
  }
  // Writes to a trial that is not finished are single statements (one round trip instead of four):
  // INSERT ... SELECT from the trial's row, locked FOR SHARE, so a concurrent finisher or reaper
  // (FOR NO KEY UPDATE) goes first and the re-checked state then lets nothing through.
  static constexpr const char* kIfUnfinished =
      " FROM trials WHERE trial_id=? AND state IN ('RUNNING', 'WAITING') FOR SHARE";
  static inline const std::string kParamIfUnfinished =
      std::string("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                  "SELECT trial_id, ?::varchar, ?::float8, ?::text") +
      kIfUnfinished +
      " ON CONFLICT (trial_id, param_name) DO UPDATE SET param_value=excluded.param_value, "
      "distribution_json=excluded.distribution_json";
  static inline const std::string kIntermediateIfUnfinished =
      std::string("INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) "
                  "SELECT trial_id, ?::int, ?::float8, ?::trialintermediatevaluetype") +
      kIfUnfinished +
      " ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value=excluded.intermediate_value, "
      "intermediate_value_type=excluded.intermediate_value_type";
  static constexpr const char* kFinishIfUnfinished =
      "WITH u AS (UPDATE trials SET state=?::trialstate, datetime_complete=?::timestamp WHERE trial_id=? AND "
      "state IN ('RUNNING', 'WAITING') RETURNING trial_id), v AS (INSERT INTO trial_values (trial_id, objective, "
      "value, value_type) SELECT u.trial_id, x.o, x.v, x.t::trialvaluetype FROM u, unnest(?::int[], ?::float8[], "
      "?::text[]) AS x(o, v, t) WHERE ?::boolean ON CONFLICT "
      "(trial_id, objective) DO UPDATE SET value=excluded.value, value_type=excluded.value_type) SELECT COUNT(*) "
      "FROM u";
  void write_if_unfinished(int64_t trial_id, const std::string& sql_text, std::initializer_list<Arg> args) {
    if (exec(sql_text, args).affected() == 1) return;
    throw_finished(trial_row(trial_id, false));  // or "no trial with id" from trial_row
  }
  // Why a write to a trial did not apply: it is unknown (trial_row throws) or finished.
  [[noreturn]] void throw_finished(const TrialRow& r) {
    if (!is_finished(r.state))
      throw_runtime(where() + ": trial #" + std::to_string(r.number) + " (" + to_string(r.state) +
                    ") could not be written");
    Result q = exec(sql::kStudyName, {r.study_id});
    store::throw_finished(r.number, q.rows() ? q.text(0, 0) : "?", r.state);
  }
  // (study_id, number) of a trial: immutable, so cached (trial_row fills the cache).
  std::pair<int64_t, int64_t> ids_of(int64_t trial_id) {
    auto it = ids_.find(trial_id);
    if (it != ids_.end()) return it->second;
    TrialRow r = trial_row(trial_id, false);
    return {r.study_id, r.number};
  }

  int64_t insert_trial(int64_t study_id, const store::TrialStart& st) {
    Result r = exec(std::string(sql::kInsertTrial) + " RETURNING trial_id",
                    {study_id, study_id, to_string(st.state), st.start, st.complete});
    return r.i64(0, 0);
  }

  // ---- writes (TrialChildWriter; inside run) ----
  void check_param(int64_t study_id, const std::string& name, const Distribution& d) override {
    records_.check_param(study_id, name, d, [&]() -> std::optional<std::string> {
      Result q = exec(sql::kFirstDistribution, {study_id, name});
      if (q.rows() == 0) return std::nullopt;
      return q.text(0, 0);
    });
  }
  void insert_param(int64_t trial_id, const std::string& name, double v, const Distribution& d) override {
    exec(sql::kInsertParam, {trial_id, name, v, store::distribution_text(d)});
  }
  void upsert_value(int64_t trial_id, int64_t objective, double v) override {
    exec(sql::kUpsertValue, {trial_id, objective, std::isfinite(v) ? Arg(v) : Arg(std::nullopt), store::value_type_of(v)});
  }
  void upsert_intermediate(int64_t trial_id, int64_t step, double v) override {
    store::check_step(step);
    exec(sql::kUpsertIntermediate, {trial_id, step, std::isfinite(v) ? Arg(v) : Arg(std::nullopt),
                                    store::value_type_of(v)});
  }
  void upsert_trial_attr(const char* table, int64_t trial_id, const std::string& k, const json& v) override {
    exec(sql::upsert_trial_attr(table), {trial_id, k, python_json_dumps(v)});
  }
  void set_trial_attr(const char* table, int64_t trial_id, const std::string& k, const json& v) override {
    run(Mode::kSingle, [&](int) {
      write_if_unfinished(trial_id, std::string("INSERT INTO ") + table +
                                        " (trial_id, \"key\", value_json) SELECT trial_id, ?::varchar, ?::text" +
                                        kIfUnfinished + " ON CONFLICT (trial_id, \"key\") DO UPDATE SET "
                                        "value_json=excluded.value_json",
                          {k, python_json_dumps(v), trial_id});
      return 0;
    });
  }
  void set_study_attr(const char* table, int64_t study_id, const std::string& k, const json& v) override {
    run(Mode::kWrite, [&](int) {
      require_study(study_id, false);
      exec(sql::upsert_study_attr(table), {study_id, k, python_json_dumps(v)});
      return 0;
    });
  }
  std::map<std::string, json> get_study_attrs(const char* table, int64_t study_id) override {
    return run(Mode::kSingle, [&](int) {
      require_study(study_id, false);
      Result q = exec(sql::select_study_attrs(table), {study_id});
      std::map<std::string, json> out;
      for (int i = 0; i < q.rows(); ++i) out[q.text(i, 0)] = records_.attr(q.text(i, 1));
      return out;
    });
  }

  // ---- reads (inside run) ----
  // The trials of `rows`, in that order: cached finished ones as they are, the rest with their
  // children read in one query per table (trial_id = ANY of the missing ids).
  std::vector<FrozenTrial> load(const std::vector<TrialRow>& rows) {
    std::vector<FrozenTrial> out(rows.size());
    std::unordered_map<int64_t, size_t> need;
    std::string ids = "{";
    for (size_t i = 0; i < rows.size(); ++i) {
      if (auto c = records_.cached(rows[i])) {
        out[i] = std::move(*c);
        continue;
      }
      out[i] = records_.from_row(rows[i]);
      if (need.size()) ids += ',';
      ids += std::to_string(rows[i].trial_id);
      need.emplace(rows[i].trial_id, i);
    }
    if (need.empty()) return out;
    ids += '}';
    static const std::string kChildrenOfIds = children_sql("trial_id = ANY($1::int[])");
    Result q = exec(kChildrenOfIds, {ids});
    for (int i = 0; i < q.rows(); ++i) {
      auto it = need.find(q.i64(i, 1));
      if (it != need.end()) add_child(out[it->second], q, i);
    }
    for (auto& [id, idx] : need) records_.remember(rows[idx], out[idx]);
    return out;
  }

  // All five child tables in one statement, as rows (kind, trial_id, key, number, text, int, text,
  // int); kind 0 values, 1 params, 2 intermediate values, 3 user and 4 system attributes. The last
  // two columns are for the trial row itself (kind 5) in get_trial's one-statement read.
  static std::string children_sql(const std::string& where) {
    const std::string w = " WHERE " + where;
    return "SELECT 0, trial_id, NULL, value, value_type::text, objective, NULL, NULL FROM trial_values" + w +
           " UNION ALL SELECT 1, trial_id, param_name, param_value, distribution_json, NULL, NULL, NULL FROM "
           "trial_params" + w +
           " UNION ALL SELECT 2, trial_id, NULL, intermediate_value, intermediate_value_type::text, step, NULL, NULL "
           "FROM trial_intermediate_values" + w +
           " UNION ALL SELECT 3, trial_id, \"key\", NULL, value_json, NULL, NULL, NULL FROM trial_user_attributes" + w +
           " UNION ALL SELECT 4, trial_id, \"key\", NULL, value_json, NULL, NULL, NULL FROM trial_system_attributes" + w;
  }
  void add_child(FrozenTrial& t, const Result& q, int i) {
    switch (q.i64(i, 0)) {
      case 0:
        records_.add_objective_value(t, q.i64(i, 5), q.dbl(i, 3), q.null(i, 3), q.text(i, 4));
        break;
      case 1: records_.add_param(t, q.text(i, 2), q.dbl(i, 3), q.text(i, 4)); break;
      case 2: records_.add_intermediate(t, q.i64(i, 5), q.dbl(i, 3), q.null(i, 3), q.text(i, 4)); break;
      case 3: t.user_attrs[q.text(i, 2)] = records_.attr(q.text(i, 4)); break;
      case 4: t.system_attrs[q.text(i, 2)] = records_.attr(q.text(i, 4)); break;
      default: break;
    }
  }
  // One trial, row and children in one statement (one snapshot, one round trip).
  FrozenTrial load_one(int64_t trial_id) {
    static const std::string kTrialWithChildren =
        "SELECT 5, trial_id, state::text, NULL, datetime_start::text, number, datetime_complete::text, study_id "
        "FROM trials WHERE trial_id=$1 UNION ALL " +
        children_sql("trial_id=$1");
    Result q = exec(kTrialWithChildren, {trial_id});
    int row = -1;
    for (int i = 0; i < q.rows() && row < 0; ++i)
      if (q.i64(i, 0) == 5) row = i;
    if (row < 0) throw_invalid("no trial with id " + std::to_string(trial_id) + " in " + where());
    TrialRow r;
    r.trial_id = trial_id;
    r.number = q.null(row, 5) ? -1 : q.i64(row, 5);
    r.study_id = q.i64(row, 7);
    r.state = trial_state_from_string(q.text(row, 2));
    r.start = q.text(row, 4);
    r.complete = q.text(row, 6);
    ids_[trial_id] = {r.study_id, r.number};
    if (auto c = records_.cached(r)) return *c;
    FrozenTrial t = records_.from_row(r);
    for (int i = 0; i < q.rows(); ++i) add_child(t, q, i);
    records_.remember(r, t);
    return t;
  }

  // ---- heartbeats ----
  void start_heartbeat(int64_t trial_id) {
    if (opt_.heartbeat_interval_s <= 0) return;
    exec("INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, LOCALTIMESTAMP) "
         "ON CONFLICT (trial_id) DO UPDATE SET heartbeat=excluded.heartbeat",
         {trial_id});
    owned_.insert(trial_id);
  }
  void stop_heartbeat(int64_t trial_id) {
    std::lock_guard<std::mutex> lock(mu_);
    owned_.erase(trial_id);
  }
  void beat() {
    run(Mode::kWrite, [&](int) {
      for (int64_t id : owned_) exec("UPDATE trial_heartbeats SET heartbeat=LOCALTIMESTAMP WHERE trial_id=?", {id});
      return 0;
    });
  }


  std::string conninfo_, masked_;
  SqlStorageOptions opt_;
  std::mutex mu_;  // guards the connection and everything below
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  store::TrialRecords records_;
  std::unordered_map<int64_t, std::pair<int64_t, int64_t>> ids_;  // trial_id -> (study_id, number)
  std::set<int64_t> owned_;  // RUNNING trials this process beats for
  std::unique_ptr<store::HeartbeatThread> heartbeat_;
};

}  // namespace

std::shared_ptr<Storage> make_postgres_storage(const std::string& conninfo, const SqlStorageOptions& options) {
  // SQLAlchemy's driver-qualified scheme names the same server; libpq knows only the plain ones.
  std::string c = conninfo;
  for (const char* drv : {"postgresql+psycopg2://", "postgresql+psycopg://", "postgresql+pg8000://"})
    if (c.rfind(drv, 0) == 0) c = "postgresql://" + c.substr(std::strlen(drv));
  if (c.empty()) throw_invalid("postgresql storage: empty connection string (use postgresql://user@host/db)");
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(c.c_str(), &err);
  if (!parsed) {
    std::string msg = err ? err : "out of memory";
    if (err) PQfreemem(err);
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    throw_io("postgresql storage \"" + mask_storage_url(conninfo) + "\": bad connection string: " +
             scrub(scrub(msg, conninfo), c));
  }
  PQconninfoFree(parsed);
  return std::make_shared<PostgresStorage>(c, options);
}

std::shared_ptr<Storage> open_postgres_storage_url(const std::string& url) { return store::open_postgres_url(url, true); }

std::shared_ptr<Storage> store::open_postgres_url(const std::string& url, bool create) {
  // A libpq key=value string has no hone query string (its password may hold '?' or '&').
  SqlStorageOptions o;
  o.create = create;
  if (is_keyword_conninfo(url)) return make_postgres_storage(url, o);
  std::string base;
  o = parse_storage_options(url, &base);
  o.create = create;
  return make_postgres_storage(base, o);
}

}  // namespace hone
