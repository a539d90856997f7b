// hone/dashboard.h — the live dashboard: an HTTP server over one storage that shows every study
// in it, updating as workers report (`hone dashboard`).
//
//   auto storage = hone::open_study_storage_for_reading("sqlite:///hone.db");
//   hone::report::Dashboard dash(storage, {.host = "127.0.0.1", .port = 0});
//   std::printf("%s\n", dash.url().c_str());      // http://127.0.0.1:PORT/ (with ?token=... if any)
//   dash.run(&stop_flag);                          // serves until *stop_flag becomes true
//
// Routes (GET and HEAD only; the server never writes to the storage, other methods get 405):
//   /                          the page: study list with progress, the study's plots, the trials table
//   /api/studies               every study: direction, trials by state, best, progress, rate
//   /api/studies/ID/trials     one page of trials: ?page=0&size=50&sort=value&order=asc
//                              &state=COMPLETE,PRUNED&filter=lr<0.01,value>=0.5,optimizer=adam
//   /api/studies/ID/data       the report's study data (hone/report.h), what the plots draw
//   /study/ID                  the report's page for the study, live (it re-reads /data)
// JSON answers carry an ETag; a poll whose study did not change gets 304 Not Modified.
//
// Access: with a token in force (given, or generated because the host is not a loopback
// address) every route answers 401 unless the request carries it, as "Authorization: Bearer T",
// "?token=T" (a browser link; the answer then sets an HttpOnly cookie so that the page's own
// requests carry it) or that cookie. Tokens are compared in constant time.
//
// Thread safety: run() serves requests on a pool of threads; the trial cache is behind a mutex
// and the storage is thread-safe (hone/tune/storage.h). stop() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace hone {
class Storage;
}

namespace hone::report {

struct DashboardOptions {
  std::string host = "127.0.0.1";  // a non-loopback address needs a token (generated if empty)
  int port = 8080;                 // 0: any free port (Dashboard::port() says which)
  std::string token;               // "" = none on loopback addresses
  double refresh_s = 2;            // how often the page polls
  std::string storage_label;       // what the page calls the storage (a masked URL)
  // Called after each request with "METHOD /path STATUS MILLISECONDS" (no query string: it may
  // hold the token). May be called from any of the server's threads at once. Null: no log.
  std::function<void(const std::string& line)> access_log;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);
// 32 hex characters from /dev/urandom; throws Error(kIoError) if it cannot be read.
std::string random_token();

class Dashboard {
 public:
  // Binds the port (the server is reachable once this returns; requests wait until run()).
  // Throws Error(kInvalidArgument) for a port outside 0..65535 or an address it cannot listen on
  // (naming it and why), Error(kInvalidArgument) for a token with characters other than
  // [A-Za-z0-9._~-]. A non-loopback host without a token gets random_token().
  Dashboard(std::shared_ptr<Storage> storage, DashboardOptions options);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  int port() const;
  const std::string& token() const;  // "" when none is in force
  bool token_generated() const;
  // http://HOST:PORT/ with ?token=T when a token is in force (what a user opens).
  std::string url() const;
  // Serves until stop() or until *stop becomes true (polled every 100 ms; may be null).
  void run(const std::atomic<bool>* stop = nullptr);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hone::report
