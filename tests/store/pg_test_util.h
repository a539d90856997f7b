// Helpers for tests against a real PostgreSQL server: scripts/start-postgres.sh exports
// HONE_TEST_PG_URL (a database the tests may create other databases from) and HONE_TEST_PG_DIR.
// Without HONE_TEST_PG_URL the PostgreSQL tests skip.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hone::testing {

inline std::string pg_base_url() {
  const char* u = std::getenv("HONE_TEST_PG_URL");
  return u ? u : "";
}

#define HONE_REQUIRE_PG()                                                         \
  do {                                                                            \
    if (::hone::testing::pg_base_url().empty())                                   \
      GTEST_SKIP() << "HONE_TEST_PG_URL is unset (run scripts/start-postgres.sh)"; \
  } while (0)

// Rows of a query on `url` as strings ("NULL" for NULL); a failure is a test failure.
inline std::vector<std::vector<std::string>> pg_rows(const std::string& url, const std::string& sql) {
  std::vector<std::vector<std::string>> out;
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to " << url << ": " << PQerrorMessage(c);
    PQfinish(c);
    return out;
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // "does not exist, skipping"
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) ADD_FAILURE() << PQresultErrorMessage(r) << " in " << sql;
  for (int i = 0; st == PGRES_TUPLES_OK && i < PQntuples(r); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < PQnfields(r); ++j) row.push_back(PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j));
    out.push_back(row);
  }
  PQclear(r);
  PQfinish(c);
  return out;
}
inline std::string pg_one(const std::string& url, const std::string& sql) {
  auto r = pg_rows(url, sql);
  return r.empty() || r[0].empty() ? "<none>" : r[0][0];
}

// The URL of a new, empty database on the test server. The one made by the previous call from
// this process is dropped first, and the last one when the process exits, so a persistent
// server keeps nothing. "" without a server.
inline std::string fresh_pg_database(const std::string& tag) {
  std::string base = pg_base_url();
  if (base.empty()) return "";
  static std::string previous;
  static struct DropAtExit {
    std::string base;
    ~DropAtExit() {
      if (previous.empty()) return;
      PGconn* c = PQconnectdb(base.c_str());
      if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, ("DROP DATABASE IF EXISTS " + previous + " WITH (FORCE)").c_str()));
      PQfinish(c);
    }
  } drop_at_exit{base};
  static int n = 0;
  auto q = base.find('?');
  std::string query = q == std::string::npos ? "" : base.substr(q);
  std::string stem = base.substr(0, q);
  std::string prefix = stem.substr(0, stem.rfind('/') + 1);
  if (!previous.empty()) pg_rows(base, "DROP DATABASE IF EXISTS " + previous + " WITH (FORCE)");
  std::string db = "hone_" + tag + "_" + std::to_string(getpid()) + "_" + std::to_string(n++);
  pg_rows(base, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
  pg_rows(base, "CREATE DATABASE " + db);
  previous = db;
  return prefix + db + query;
}

}  // namespace hone::testing
