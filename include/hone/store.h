// hone/store.h — studies that last: the SQLite (default) and PostgreSQL storage backends.
//
// Both write Optuna 3.1's RDB schema exactly (tables, unique constraints, version_info
// (1, 12, '3.1.0'), alembic_version 'v3.0.0.d', enums by name, distribution_json as Python's
// json.dumps, local datetimes "YYYY-MM-DD HH:MM:SS.ffffff", value_type FINITE/INF_POS/INF_NEG/NAN,
// attributes as JSON), so a study written by hone loads in optuna.load_study and an Optuna study
// continues in hone. docs/STORAGE.md has the details and the measured costs.
//
// URLs (open_storage / StudyOptions::storage / `--storage`):
//   sqlite:///relative/path.db    sqlite:////absolute/path.db    sqlite:///:memory:
//   postgresql://user@host:port/dbname   (also postgres://, postgresql+psycopg2://)
// followed by an optional query string of storage options (the same for both backends):
//   timeout=60              seconds a writer waits for a lock (SQLite busy timeout; PG retries)
//   synchronous=normal      SQLite only: normal (survives a killed process; default) or full
//                           (also survives power loss; one fsync per commit)
//   heartbeat_interval=0    seconds; > 0 turns heartbeats on for the trials this process runs
//   grace_period=0          seconds without a heartbeat before a RUNNING trial counts as dead
//                           (0 = 2 x heartbeat_interval, as Optuna)
//   max_retries=0           a dead worker's trial is marked FAIL and, while it has been retried
//                           fewer times than this, re-queued as a WAITING copy of its params
// e.g. "sqlite:///hone.db?heartbeat_interval=10&max_retries=2".
//
// Registration: the backends live in the static library hone_store, and a static library's
// self-registering globals are dropped by the linker unless something references their object
// file, so registration is one explicit call, register_sql_storages(): the `hone` CLI makes it
// once in main(), and hone::open_study_storage (hone/study_runner.h) makes it for library users
// who open studies by URL. Calling it again is harmless.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hone/tune/storage.h"

namespace hone {

// Registers "sqlite" and, when built with libpq, "postgresql"/"postgres" with
// register_storage_backend. Idempotent and thread-safe.
void register_sql_storages();

struct SqlStorageOptions {
  double timeout_s = 60;            // lock wait before a "database is locked" error
  bool synchronous_full = false;    // SQLite: fsync every commit
  double heartbeat_interval_s = 0;  // 0 = no heartbeats
  double grace_period_s = 0;        // 0 = 2 x heartbeat_interval_s
  int max_retries = 0;              // re-queue a dead worker's trial up to this many times
  bool create = true;               // false: open an existing study database only (create no
                                    // file, table or schema; Error(kIoError) when it is absent)
};

// Parses the query string of a storage URL into options; throws Error(kInvalidArgument) naming
// an unknown key or a bad value. `url_out` receives the URL without the query string.
SqlStorageOptions parse_storage_options(const std::string& url, std::string* url_out = nullptr);

// SQLite at `path` (a file path, not a URL; ":memory:" for a private in-memory database). The
// file is created with mode 0600 if absent; WAL mode; every write is its own short transaction,
// committed before the call returns. Thread-safe (one connection behind a mutex); any number of
// processes may open the same file. Throws Error(kIoError) if the file cannot be opened and
// Error(kDataError) if it is not a database of Optuna 3.1's schema revision.
std::shared_ptr<Storage> make_sqlite_storage(const std::string& path,
                                             const SqlStorageOptions& options = {});
// "sqlite:///x.db?..." -> make_sqlite_storage.
std::shared_ptr<Storage> open_sqlite_storage_url(const std::string& url);

// For commands that only read or manage existing studies (hone studies list/show/export/...): as
// open_storage, but a SQLite file that does not exist, or a database without the study tables, is
// an Error(kIoError) and nothing is created. An empty SQLite path (sqlite:///) is an error for
// every open.
std::shared_ptr<Storage> open_existing_storage(const std::string& url);

// PostgreSQL through libpq. `conninfo` is a postgresql:// URL or a libpq key=value string;
// passwords come from it, PGPASSWORD or ~/.pgpass and never appear in messages (URLs in errors
// are masked). Throws Error(kIoError) when the server cannot be reached at open (not retried).
// Thread-safe (one connection behind a mutex); every write is committed before the call returns.
// Later, a lost connection (server restart) is re-established with backoff and the operation
// re-run, for up to options.timeout_s, before the call throws Error(kIoError).
std::shared_ptr<Storage> make_postgres_storage(const std::string& conninfo,
                                               const SqlStorageOptions& options = {});

// Marks FAIL every RUNNING trial of the study whose heartbeat is older than the grace period
// (in the database's clock) and re-queues it under the retry policy. Returns how many were
// failed. A no-op (0) for storages without heartbeats. The SQL storages also call it before
// creating each new trial, as Optuna does at the start of every trial.
int64_t fail_stale_trials(Storage& storage, int64_t study_id);

// The WAITING copy of a dead trial that a retry queues (as Optuna's RetryFailedTrialCallback:
// same params, fixed_params, failed_trial and retry_history attrs; the dead process's "hone:"
// tags dropped). Pass it to Storage::create_new_trial.
FrozenTrial make_retry_trial(const FrozenTrial& dead);

// mask_storage_url (redacting passwords in URLs for messages) is declared in hone/tune/storage.h.

}  // namespace hone
