// The dashboard's data side, without HTTP (server.cc serves it): a cache of every study's trials
// that follows the storage cheaply, and the JSON answers built from it.
//
// The cache keeps each study's trials as shared, immutable snapshots. A refresh reads only what
// can have changed: trials numbered past the last one it knows, and the trials it last saw
// unfinished (finished trials are immutable, hone/tune/storage.h). So polling a 10,000-trial study
// costs two small queries when nothing happened.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/tune/storage.h"

namespace hone::report {

// One study as last read. Immutable once published; `version` grows with every change seen.
struct StudySnapshot {
  int64_t id = -1;
  std::string name;
  Direction direction = Direction::kMinimize;
  uint64_t version = 0;
  std::vector<std::shared_ptr<const FrozenTrial>> trials;  // by number
  std::vector<std::string> param_names;                    // every parameter seen, sorted
  int64_t budget = 0;  // the stored config's n_trials (0 = none); see summary_json
};

class TrialCache {
 public:
  // Reads at most once per `min_interval_s` per study, however many requests ask.
  explicit TrialCache(std::shared_ptr<Storage> storage, double min_interval_s = 0.25);

  // Every study in the storage, refreshed (by name order).
  std::vector<std::shared_ptr<const StudySnapshot>> studies();
  // One study, refreshed; nullptr if there is no study with this id.
  std::shared_ptr<const StudySnapshot> study(int64_t id);
  Storage& storage() { return *storage_; }

 private:
  struct Entry {
    std::shared_ptr<const StudySnapshot> snap;
    std::chrono::steady_clock::time_point read_at{};
  };
  std::shared_ptr<const StudySnapshot> refresh(int64_t id, const std::string& name, bool force);

  std::shared_ptr<Storage> storage_;
  std::chrono::duration<double> min_interval_;
  std::mutex mu_;  // guards entries_ and list_; refreshes hold it (the storage serialises anyway)
  std::map<int64_t, Entry> entries_;
  std::vector<std::pair<int64_t, std::string>> list_;
  std::chrono::steady_clock::time_point list_at_{};
};

// The row of one trial in the table and the API: number, state, value (a number, or "NaN",
// "inf", "-inf"), params (external values; absent ones are absent), datetimes as seconds since the
// epoch, duration_s, the last intermediate step and value, fail_reason, worker.
nlohmann::json trial_row(const FrozenTrial& t);

// A study's line in /api/studies: id, name, direction, trials by state, best value and number,
// progress (finished / budget, where the budget is the stored config's n_trials or, for a queue,
// finished + running + waiting), first start and last activity, the finish rate over the last 10
// minutes and an ETA, and `live` (something is RUNNING or WAITING).
nlohmann::json summary_json(const StudySnapshot& s, double now_s);

// What a trials page asks for (query parameters of /api/studies/ID/trials).
struct TrialQuery {
  int64_t page = 0, size = 50;  // size 1..1000
  std::string sort = "number";  // number, state, value, duration, start, complete, or a parameter
  bool descending = false;
  std::vector<TrialState> states;  // empty: all
  std::string filter;  // clauses joined by ',' : KEY OP VALUE with OP one of < <= > >= = != ~
};
// Parses query parameters (a map from name to value); throws Error(kInvalidArgument) naming the
// parameter and what is accepted.
TrialQuery parse_trial_query(const std::map<std::string, std::string>& params);
// {total, matched, page, size, pages, sort, order, columns: [param names], rows: [trial_row...]}.
// Rows are filtered, sorted (NaN and absent values last in either order; ties by number) and
// paged. Throws Error(kInvalidArgument) for a filter it cannot read, saying which clause.
nlohmann::json trials_page(const StudySnapshot& s, const TrialQuery& q);

// The dashboard's page (dashboard_page.cc): HTML, CSS and script in one answer, nothing fetched
// from elsewhere. `storage_label` is shown in its header; the page polls every `refresh_s`.
std::string dashboard_page(const std::string& storage_label, double refresh_s);

}  // namespace hone::report
