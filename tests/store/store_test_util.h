// Helpers for the store tests: temporary database paths, raw SQL reads, running Python.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/sql_common.h"

namespace hone::testing {

// A fresh path in the test temp dir (old files with that name and their -wal/-shm removed).
inline std::string temp_db(const std::string& tag) {
  static int n = 0;
  std::string p = ::testing::TempDir() + "hone_store_" + tag + "_" + std::to_string(getpid()) + "_" +
                  std::to_string(n++) + ".db";
  for (const char* s : {"", "-wal", "-shm", "-journal"}) std::remove((p + s).c_str());
  return p;
}

// Rows of a query as strings ("NULL" for NULL), read with a private connection.
inline std::vector<std::vector<std::string>> sql_rows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::vector<std::string>> out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db) << " in " << sql;
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        auto t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row.push_back(t ? t : "NULL");
      }
      out.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}
inline std::string sql_one(const std::string& path, const std::string& sql) {
  auto r = sql_rows(path, sql);
  return r.empty() || r[0].empty() ? "<none>" : r[0][0];
}

// The Python that has Optuna 3.1 (the `python3` first on PATH does not).
inline const char* kPeerPython = "/usr/bin/python3";
inline bool have_optuna() {
  static int ok = -1;
  if (ok < 0)
    ok = std::system((std::string(kPeerPython) + " -c 'import optuna' >/dev/null 2>&1").c_str()) == 0;
  return ok == 1;
}

// Skips the test when the peer Python lacks Optuna.
#define REQUIRE_OPTUNA() \
  if (!::hone::testing::have_optuna()) GTEST_SKIP() << "/usr/bin/python3 has no optuna (apt-get install python3-optuna)"

// Runs `script` (written to a file) with the peer Python and extra args; returns stdout and sets
// *rc to the exit status.
inline std::string run_python(const std::string& script, const std::string& args, int* rc) {
  std::string py = ::testing::TempDir() + "hone_store_" + std::to_string(getpid()) + ".py";
  if (FILE* f = std::fopen(py.c_str(), "w")) {
    std::fputs(script.c_str(), f);
    std::fclose(f);
  }
  std::string cmd = std::string(kPeerPython) + " " + py + " " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = p ? pclose(p) : -1;
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// Has Optuna 3.1 create its (empty) schema at storage URL `url`; the Python output on failure.
inline ::testing::AssertionResult optuna_creates_schema(const std::string& url) {
  int rc;
  std::string out = run_python(
      "import optuna, sys\noptuna.logging.set_verbosity(optuna.logging.ERROR)\n"
      "optuna.storages.RDBStorage(sys.argv[1])\n",
      url, &rc);
  if (rc == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << out;
}

// The JSON a Python script printed after "JSON:" (bare NaN/Infinity accepted).
inline json parse_tagged(const std::string& out) {
  auto at = out.rfind("JSON:");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no JSON from python:\n" << out;
    return json::object();
  }
  return store::parse_python_json(out.substr(at + 5, out.find('\n', at) - at - 5));
}

}  // namespace hone::testing
