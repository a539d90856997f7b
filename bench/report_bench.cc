// report_bench — `hone report`'s costs, measured through the library on SQLite studies.
//
//   report_bench make --db FILE --trials N [--params P]
//       Writes study "bench_N" (minimize; P float parameters x0.. in [0, 1], only x0 matters:
//       10 (x0 - 0.3)^2 + 0.001 x2; random values from a fixed seed) into the SQLite FILE.
//   report_bench time --db FILE --study NAME [--out report.html] [--fanova-max-trials M]
//       Reads the study back, builds the data (importances included) and the page, writes it, and
//       prints one JSON line: seconds for data and page, bytes, and fANOVA / PED-ANOVA seconds and
//       shares. bench/report_bench.sh runs it beside Optuna 3.1's evaluator on the same study.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "hone/error.h"
#include "hone/files.h"
#include "hone/report.h"
#include "hone/store.h"

namespace {

std::string arg(int argc, char** argv, const std::string& key, const std::string& def) {
  for (int i = 2; i + 1 < argc; ++i)
    if (argv[i] == key) return argv[i + 1];
  return def;
}

double secs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: report_bench make|time --db FILE ...\n");
    return 2;
  }
  const std::string mode = argv[1], db = arg(argc, argv, "--db", "report_bench.db");
  try {
    auto storage = hone::make_sqlite_storage(db);
    if (mode == "make") {
      const int n = std::atoi(arg(argc, argv, "--trials", "1000").c_str());
      const int p = std::atoi(arg(argc, argv, "--params", "5").c_str());
      const int64_t id = storage->create_new_study(hone::Direction::kMinimize, "bench_" + std::to_string(n));
      std::mt19937_64 rng(42);
      std::uniform_real_distribution<double> u(0, 1);
      const auto t0 = hone::Clock::now() - std::chrono::seconds(n);
      for (int i = 0; i < n; ++i) {
        hone::FrozenTrial t;
        for (int k = 0; k < p; ++k) {
          const std::string name = "x" + std::to_string(k);
          t.distributions[name] = hone::Distribution::real(0, 1);
          t.params[name] = u(rng);
        }
        t.state = hone::TrialState::kComplete;
        t.value = 10 * (t.params["x0"] - 0.3) * (t.params["x0"] - 0.3) + 0.001 * t.params["x2"];
        for (int s = 0; s < 10; ++s) t.intermediate_values[s] = *t.value + 1.0 / (s + 1);
        t.datetime_start = t0 + std::chrono::seconds(i);
        t.datetime_complete = t0 + std::chrono::seconds(i) + std::chrono::milliseconds(900);
        storage->create_new_trial(id, &t);
      }
      std::printf("{\"study\": \"bench_%d\", \"trials\": %d}\n", n, n);
      return 0;
    }
    const std::string study = arg(argc, argv, "--study", "");
    hone::report::DataOptions o;
    o.fanova_max_trials = std::atoi(arg(argc, argv, "--fanova-max-trials", "2000").c_str());
    const auto t0 = std::chrono::steady_clock::now();
    const auto data = hone::report::study_data(*storage, storage->get_study_id_from_name(study), o);
    const double data_s = secs(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const std::string html = hone::report::study_html(data);
    const double page_s = secs(t1);
    hone::write_text(arg(argc, argv, "--out", "report.html"), html);
    hone::json out = {{"study", study},
                      {"trials", data["n_trials"]},
                      {"data_s", data_s},
                      {"page_s", page_s},
                      {"total_s", secs(t0)},
                      {"bytes", html.size()},
                      {"fanova_s", data["importance"]["seconds"]["fanova"]},
                      {"ped_anova_s", data["importance"]["seconds"]["ped_anova"]},
                      {"fanova_rows", data["importance"].value("fanova_rows", data["n_trials"].get<int64_t>())},
                      {"fanova", data["importance"]["fanova"]},
                      {"ped_anova", data["importance"]["ped_anova"]}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const hone::Error& e) {
    std::fprintf(stderr, "report_bench: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
