// Replays the learning curves of a recorded study (every trial run to the end, as
// bench/diagnosis_fmnist.toml records them) through pruners, in trial order, one trial at a time
// (--workers W: W at once, as n_jobs = W runs them, each epoch taking its recorded time): each
// trial reports its stored values (and training-loss series) epoch by epoch and asks the
// pruner; a pruned trial costs only the epochs it ran (its measured duration x epochs run /
// epochs). Same configurations, same curves, same order for every pruner, so the differences
// are the pruner's alone (what the replay cannot show: the sampler reacting to pruned trials).
//
//   diagnosis_replay [--orders N] [--shuffle K] [--workers W] sqlite:///rec.db STUDY '{"type":"nop"}' '{"type":"diagnosis"}' ...
//
// '{"type":"oracle"}' is no pruner but the bound for all of them: it stops every trial that ends
// worse than the baseline after its first step and never stops one that reaches it.
// "spare_winners": true in a pruner's config (a replay switch, not a pruner option) vetoes its
// decision on every trial that ends at or above the baseline: what the pruner would give if it
// never stopped a winner, so the cost of the winners it stops.
//
// Which trial first reaches the baseline is luck of the order: in TPE's random startup trials
// (the first n_startup_trials = 10 after the baseline) any order of the same draws is as likely
// as the recorded one. --orders N (default 1: the recorded order) also replays N - 1 shuffles of
// the K (default 10) trials after the baseline, the rest kept in place, and reports the mean
// epochs to the baseline's accuracy over the N orders (and the same without the baseline's own
// epochs, which no pruner can save): an estimate of the expected time, not of one draw's.
//
// Prints one JSON line per pruner: trial-seconds spent, the trial-seconds until a trial other
// than the baseline first reaches the baseline's value, the top-10 mean value and test accuracy
// of the COMPLETE trials, how many were pruned and why, and the time spent in should_prune().
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hone/store.h"
#include "hone/tune/tune.h"

using namespace hone;

namespace {

double test_accuracy(const FrozenTrial& t) {
  auto it = t.user_attrs.find("test");
  if (it == t.user_attrs.end() || !it->second.is_object() || !it->second.contains("accuracy")) return NAN;
  return it->second["accuracy"].get<double>();
}

json replay(const std::vector<FrozenTrial>& recorded, Direction direction, const json& pruner_config, int workers) {
  const bool oracle = pruner_config.value("type", "") == "oracle";
  const bool spare_winners = pruner_config.value("spare_winners", false);
  json config = pruner_config;
  config.erase("spare_winners");
  auto study = create_study({.direction = direction, .sampler = make_random_sampler(0),
                             .pruner = make_pruner(oracle ? json{{"type", "nop"}} : config)});
  auto better = [&](double a, double b) { return direction == Direction::kMaximize ? a > b : a < b; };
  double baseline = NAN;
  for (const auto& t : recorded)
    if (t.user_attrs.count("baseline")) baseline = *t.value;
  double spent = 0, to_baseline = NAN, wall_to_baseline = NAN, prune_s = 0;
  int64_t baseline_epochs = 0, baseline_epochs_by_then = 0;
  // The same in epochs: independent of the machine's load while the study was recorded.
  int64_t epochs = 0, epochs_to_baseline = -1;
  int64_t asked = 0;
  std::vector<std::pair<double, double>> complete;  // (value, test accuracy)
  json reasons = json::object();
  json pruned_at = json::object();  // trial number -> the step it was pruned at
  json why_pruned = json::object();  // trial number -> the diagnosis pruner's reason
  // `workers` trials run at once, each epoch taking its recorded time (the trial's duration /
  // its epochs); a free worker takes the next trial in order. Every epoch ends as an event, in
  // time order: the trial reports and asks the pruner, which sees the others' reports so far.
  struct Running {
    size_t index;
    Trial trial;
    int64_t ran;
    double per_epoch, next, started;  // the time its next epoch ends; the time it started
  };
  // Every epoch run, in time order (trial index, the time it ended): to say, when a trial first
  // reaches the baseline, where the epochs until then went (the breakdown below).
  std::vector<std::pair<size_t, double>> epoch_log;
  double baseline_end = INFINITY;
  json breakdown, by_gap;
  std::vector<Running> running;
  size_t next_trial = 0;
  double now = 0;
  auto start = [&](double at) {
    const FrozenTrial& rec = recorded[next_trial];
    Running r{next_trial++, study->ask(), 0,
              rec.duration_s().value_or(0) / static_cast<double>(rec.intermediate_values.size()), 0, at};
    r.next = at + r.per_epoch;
    if (rec.user_attrs.count("baseline")) r.trial.set_user_attr("baseline", true);  // what behind compares with
    running.push_back(std::move(r));
  };
  while (next_trial < recorded.size() && static_cast<int>(running.size()) < workers) start(0);
  while (!running.empty()) {
    auto it = std::min_element(running.begin(), running.end(), [](const Running& a, const Running& b) {
      return a.next < b.next || (a.next == b.next && a.index < b.index);
    });
    Running& r = *it;
    const FrozenTrial& rec = recorded[r.index];
    const auto& iv = rec.intermediate_values;
    now = r.next;
    const auto [step, value] = *std::next(iv.begin(), r.ran);
    ++r.ran, ++epochs;
    spent += r.per_epoch;
    if (rec.user_attrs.count("baseline")) ++baseline_epochs;
    epoch_log.emplace_back(r.index, now);
    if (rec.user_attrs.count("baseline") && r.ran == static_cast<int64_t>(iv.size())) baseline_end = now;
    const json* losses = rec.system_attrs.count("hone:train_loss") ? &rec.system_attrs.at("hone:train_loss") : nullptr;
    if (losses && losses->is_array() && static_cast<int64_t>(losses->size()) >= r.ran)
      r.trial.set_system_attr("hone:train_loss", json(std::vector<json>(losses->begin(), losses->begin() + r.ran)));
    r.trial.report(value, step);
    // `wins`: the trial is not the baseline and ends at or past its value.
    const bool is_baseline = rec.user_attrs.count("baseline") > 0;
    const bool wins = !is_baseline && !better(baseline, *rec.value);
    const auto t0 = std::chrono::steady_clock::now();
    const bool pruned = oracle ? !is_baseline && !wins : r.trial.should_prune() && !(spare_winners && wins);
    prune_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++asked;
    const bool last = r.ran == static_cast<int64_t>(iv.size());
    if (!pruned && !last) {
      r.next = now + r.per_epoch;
      continue;
    }
    if (pruned) {
      study->tell(r.trial, TrialState::kPruned);
      const std::string full = oracle ? "oracle" : prune_reason(r.trial.frozen());
      std::string why = full.substr(0, full.find_first_of(": "));
      if (why.empty()) why = study->pruner().name();
      reasons[why] = reasons.value(why, 0) + 1;
      pruned_at[std::to_string(rec.number)] = r.ran - 1;
      if (!full.empty()) why_pruned[std::to_string(rec.number)] = full;
    } else {
      study->tell(r.trial, *rec.value);
      complete.emplace_back(*rec.value, test_accuracy(rec));
      if (std::isnan(to_baseline) && wins) {
        to_baseline = spent, wall_to_baseline = now, epochs_to_baseline = epochs, baseline_epochs_by_then = baseline_epochs;
        // The epochs until now: the baseline's, the winner's, the other trials' while the baseline
        // ran, while the winner ran (the second worker runs something then, whatever the pruner
        // does: a pruner changes only what), and between.
        breakdown = json{{"baseline", 0}, {"winner", 0}, {"beside_baseline", 0}, {"beside_winner", 0}, {"between", 0}};
        // The epochs a pruner can act on (beside the baseline and between), by how far the trial
        // that spent them ends from the baseline's value: a trial that ends a fraction of a point
        // below it cannot be told from one that reaches it from its curve.
        by_gap = json{{"reaches", 0}, {"below_0.005", 0}, {"below_0.01", 0}, {"below_0.02", 0}, {"further", 0}};
        for (auto& [i, at] : epoch_log) {
          const char* k = recorded[i].user_attrs.count("baseline") ? "baseline"
                          : i == r.index                           ? "winner"
                          : at <= baseline_end                     ? "beside_baseline"
                          : at > r.started                         ? "beside_winner"
                                                                   : "between";
          breakdown[k] = breakdown[k].get<int64_t>() + 1;
          if (std::string_view(k) != "beside_baseline" && std::string_view(k) != "between") continue;
          const double v = *recorded[i].value;
          const double gap = direction == Direction::kMaximize ? baseline - v : v - baseline;
          const char* g = gap <= 0 ? "reaches" : gap < 0.005 ? "below_0.005" : gap < 0.01 ? "below_0.01"
                          : gap < 0.02 ? "below_0.02" : "further";
          by_gap[g] = by_gap[g].get<int64_t>() + 1;
        }
      }
    }
    running.erase(it);
    if (next_trial < recorded.size()) start(now);
  }
  std::sort(complete.begin(), complete.end(), [&](auto& a, auto& b) { return better(a.first, b.first); });
  double top_value = 0, top_test = 0;
  const size_t k = std::min<size_t>(10, complete.size());
  for (size_t i = 0; i < k; ++i) top_value += complete[i].first, top_test += complete[i].second;
  return json{{"pruner", pruner_config},
              {"trials", recorded.size()},
              {"complete", complete.size()},
              {"pruned_by", reasons},
              {"pruned_at", pruned_at},
              {"why_pruned", why_pruned},
              {"trial_seconds", spent},
              {"trial_seconds_to_baseline", std::isnan(to_baseline) ? json() : json(to_baseline)},
              {"epochs", epochs},
              {"epochs_to_baseline", epochs_to_baseline < 0 ? json() : json(epochs_to_baseline)},
              {"epochs_to_baseline_by", breakdown},
              {"actionable_epochs_by_final_gap", by_gap},
              {"wall_seconds_to_baseline", std::isnan(wall_to_baseline) ? json() : json(wall_to_baseline)},
              {"wall_seconds", now},
              {"baseline_value", baseline},
              {"baseline_epochs", epochs_to_baseline < 0 ? baseline_epochs : baseline_epochs_by_then},
              {"best_value", complete.empty() ? json() : json(complete[0].first)},
              {"top10_mean_value", k ? json(top_value / static_cast<double>(k)) : json()},
              {"top10_mean_test_accuracy", k ? json(top_test / static_cast<double>(k)) : json()},
              {"should_prune_calls", asked},
              {"should_prune_seconds", prune_s}};
}

}  // namespace

// Replays `orders` orders (the recorded one, then shuffles of the `shuffle` trials after the
// baseline) and adds their mean epochs to the baseline's accuracy to the recorded order's line.
json replay_orders(const std::vector<FrozenTrial>& recorded, Direction direction, const json& pruner, int orders,
                   int shuffle, int workers) {
  json first = replay(recorded, direction, pruner, workers);
  if (orders <= 1) return first;
  std::mt19937_64 rng(20261205);
  std::vector<FrozenTrial> order = recorded;
  const size_t lo = !order.empty() && order[0].user_attrs.count("baseline") ? 1 : 0;
  const size_t hi = std::min(order.size(), lo + static_cast<size_t>(shuffle));
  double sum = 0, search_sum = 0, wall_sum = 0;
  int never = 0;
  json by = json::object(), by_gap = json::object();  // the breakdowns' means over the orders that reach the baseline
  for (int k = 0; k < orders; ++k) {
    order = recorded;
    if (k > 0) std::shuffle(order.begin() + static_cast<std::ptrdiff_t>(lo), order.begin() + static_cast<std::ptrdiff_t>(hi), rng);
    const json r = k == 0 ? first : replay(order, direction, pruner, workers);
    // A study that never reaches the baseline counts all it spent (a lower bound on its time).
    const double e = r["epochs_to_baseline"].is_null() ? r["epochs"].get<double>() : r["epochs_to_baseline"].get<double>();
    never += r["epochs_to_baseline"].is_null();
    for (auto& [key, n] : r["epochs_to_baseline_by"].items()) by[key] = by.value(key, 0.0) + n.get<double>();
    for (auto& [key, n] : r["actionable_epochs_by_final_gap"].items()) by_gap[key] = by_gap.value(key, 0.0) + n.get<double>();
    sum += e;
    search_sum += e - r["baseline_epochs"].get<double>();
    wall_sum += r["wall_seconds_to_baseline"].is_null() ? r["wall_seconds"].get<double>()
                                                        : r["wall_seconds_to_baseline"].get<double>();
  }
  first["orders"] = orders;
  first["shuffled_trials"] = hi - lo;
  first["mean_epochs_to_baseline"] = sum / orders;
  first["mean_search_epochs_to_baseline"] = search_sum / orders;
  first["mean_wall_seconds_to_baseline"] = wall_sum / orders;
  first["workers"] = workers;
  first["orders_never_reaching_baseline"] = never;
  for (auto& [key, n] : by.items()) n = n.get<double>() / std::max(1, orders - never);
  first["mean_epochs_to_baseline_by"] = by;
  for (auto& [key, n] : by_gap.items()) n = n.get<double>() / std::max(1, orders - never);
  first["mean_actionable_epochs_by_final_gap"] = by_gap;
  return first;
}

int main(int argc, char** argv) {
  int orders = 1, shuffle = 10, workers = 1;
  int a = 1;
  for (; a + 1 < argc && std::string(argv[a]).rfind("--", 0) == 0; a += 2) {
    const std::string flag = argv[a];
    if (flag == "--orders") orders = std::max(1, std::atoi(argv[a + 1]));
    else if (flag == "--shuffle") shuffle = std::max(0, std::atoi(argv[a + 1]));
    else if (flag == "--workers") workers = std::max(1, std::atoi(argv[a + 1]));
    else {
      std::fprintf(stderr, "diagnosis_replay: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (argc - a < 3) {
    std::fprintf(stderr, "usage: diagnosis_replay [--orders N] [--shuffle K] [--workers W] STORAGE_URL STUDY PRUNER_JSON...\n");
    return 2;
  }
  try {
    auto storage = open_existing_storage(argv[a]);
    const int64_t id = storage->get_study_id_from_name(argv[a + 1]);
    const Direction direction = storage->get_study_direction(id);
    // A pruned trial's curve is cut short and the sampler saw it pruned: the recording no longer
    // holds every configuration's whole curve, so every replay of it would be wrong.
    if (const size_t n = storage->get_all_trials(id, {TrialState::kPruned}).size())
      throw std::runtime_error(std::to_string(n) + (n == 1 ? " trial of " : " trials of ") + argv[a + 1] + " in " +
                               argv[a] + (n == 1 ? " was" : " were") + " pruned while it was recorded: record with a pruner whose rules never fire "
                               "(bench/diagnosis_fmnist.toml)");
    std::vector<FrozenTrial> recorded;
    for (auto& t : storage->get_all_trials(id, {TrialState::kComplete}))
      if (!t.intermediate_values.empty() && t.value) recorded.push_back(t);
    std::sort(recorded.begin(), recorded.end(), [](auto& a, auto& b) { return a.number < b.number; });
    for (int i = a + 2; i < argc; ++i)
      std::printf("%s\n", replay_orders(recorded, direction, json::parse(argv[i]), orders, shuffle, workers).dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diagnosis_replay: %s\n", e.what());
    return 1;
  }
  return 0;
}
