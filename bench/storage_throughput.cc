// storage_throughput: trials committed per second when W worker processes share one study.
//
//   storage_throughput [--storage URL] [--trials N] [--workers 1,4,8] [--sleep-ms MS]
//
// Each worker is a fork()ed process that opens its own storage and runs Study::optimize with the
// random sampler on a trivial objective (one float parameter, one intermediate value), as
// bench/storage_throughput_optuna.py does with Optuna 3.1's RDBStorage. The objective costs
// nothing, so the time is the storage's (plus the study's bookkeeping). Prints one JSON line per
// configuration: {"backend","workers","trials","wall_s","trials_per_s","ms_per_trial_per_worker"}.
// Without --storage each configuration gets a fresh SQLite file in $TMPDIR (or /tmp).
// --sleep-ms makes the objective sleep (training that happens elsewhere, costing no CPU here): then
// W workers can reach W times one worker's rate unless the storage serialises them, which shows
// scaling on a machine with fewer cores than workers.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hone/store.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/study.h"

using namespace hone;

namespace {

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t c = s.find(',', pos);
    v.push_back(std::atoi(s.substr(pos, c - pos).c_str()));
    pos = c == std::string::npos ? s.size() : c + 1;
  }
  return v;
}

int g_sleep_ms = 0;

double objective(Trial& t) {
  double x = t.suggest_float("x", -10, 10);
  if (g_sleep_ms > 0) usleep(static_cast<useconds_t>(g_sleep_ms) * 1000);
  t.report(x * x, 0);
  return x * x;
}

}  // namespace

int main(int argc, char** argv) {
  register_sql_storages();
  std::string storage, workers = "1,4,8";
  int trials = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--storage") storage = argv[i + 1];
    else if (a == "--trials") trials = std::atoi(argv[i + 1]);
    else if (a == "--workers") workers = argv[i + 1];
    else if (a == "--sleep-ms") g_sleep_ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--storage URL] [--trials N] [--workers 1,4,8] [--sleep-ms MS]\n", argv[0]);
      return 2;
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp && *tmp ? tmp : "/tmp";
  int round = 0;
  for (int w : parse_list(workers)) {
    std::string url = storage;
    std::string name = "throughput_" + std::to_string(getpid()) + "_" + std::to_string(round++);
    std::string file;
    if (url.empty()) {
      file = dir + "/hone_storage_bench_" + name + ".db";
      for (const char* s : {"", "-wal", "-shm"}) std::remove((file + s).c_str());
      url = "sqlite:///" + file;
    }
    try {
      create_study({.name = name, .storage = url});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "storage_throughput: %s\n", e.what());
      return 1;
    }
    const int per = trials / w;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<pid_t> pids;
    for (int k = 0; k < w; ++k) {
      std::fflush(nullptr);
      pid_t pid = fork();
      if (pid == 0) {
        int rc = 0;
        try {
          auto study = load_study(name, url, make_random_sampler(static_cast<uint64_t>(k + 1)), make_nop_pruner());
          study->optimize(objective, {.n_trials = per, .catch_exceptions = false});
        } catch (const std::exception& e) {
          std::fprintf(stderr, "worker %d: %s\n", k, e.what());
          rc = 1;
        }
        std::fflush(nullptr);
        _exit(rc);
      }
      pids.push_back(pid);
    }
    int failed = 0;
    for (pid_t pid : pids) {
      int st = 0;
      waitpid(pid, &st, 0);
      failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int64_t n = load_study(name, url)->trials({TrialState::kComplete}).size();
    std::printf(
        "{\"peer\": \"hone\", \"backend\": \"%s\", \"sleep_ms\": %d, \"workers\": %d, \"trials\": %lld, \"failed_workers\": %d, "
        "\"wall_s\": %.4f, \"trials_per_s\": %.1f, \"ms_per_trial_per_worker\": %.4f}\n",
        url.substr(0, url.find(':')).c_str(), g_sleep_ms, w, static_cast<long long>(n), failed, wall, n / wall,
        1000.0 * wall * w / std::max<int64_t>(n, 1));
    std::fflush(stdout);
    if (!file.empty())
      for (const char* s : {"", "-wal", "-shm"}) std::remove((file + s).c_str());
  }
  return 0;
}
