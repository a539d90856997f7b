// mo_kernels: non-dominated sorting and hypervolume (hone/tune/multi_objective.h) on 10,000
// points in 2 and 3 objectives (and WFG in 4), timed; the points, ranks and volumes are written
// to --out so bench/mo_kernels_optuna.py times Optuna 3.1's kernels on the same points and checks
// that both agree (ranks equal, volumes within 1e-12 relative). Two kinds of sets: "front" (points
// near a curved trade-off: most are non-dominated, the costly case for the sweeps) and "cube"
// (uniform: many fronts). Time = the median of --reps runs. Prints one JSON line per case.
//   mo_kernels --out DIR [--n 10000] [--reps 5]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "hone/tune/multi_objective.h"

using namespace hone;

static Points make_points(const std::string& kind, size_t n, size_t d, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Points p(n, std::vector<double>(d));
  for (auto& x : p) {
    for (auto& v : x) v = u(g);
    if (kind == "front") {  // onto the unit sphere's positive part, jittered by 1%
      double norm = 0;
      for (double v : x) norm += v * v;
      for (double& v : x) v = v / std::sqrt(norm) * (1.0 + 0.01 * u(g));
    }
  }
  return p;
}

template <class F>
static double median_ms(int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int main(int argc, char** argv) {
  std::string out;
  size_t n = 10000;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!std::strcmp(argv[i], "--n") && i + 1 < argc) n = static_cast<size_t>(std::atol(argv[++i]));
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "mo_kernels: unknown argument \"%s\" (usage: mo_kernels --out DIR [--n N] [--reps R])\n", argv[i]);
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "mo_kernels: --out DIR is required\n");
    return 2;
  }
  struct Case {
    const char* kind;
    size_t d, n;
  };
  const std::vector<Case> cases = {{"front", 2, n}, {"cube", 2, n}, {"front", 3, n}, {"cube", 3, n},
                                   {"front", 4, std::min<size_t>(n, 300)}, {"cube", 4, std::min<size_t>(n, 2000)}};
  for (const Case& c : cases) {
    const Points p = make_points(c.kind, c.n, c.d, 42 + c.d);
    const std::vector<double> ref(c.d, 1.1);
    std::vector<int> ranks;
    double hv = 0;
    const double ranks_ms = median_ms(reps, [&] { ranks = non_dominated_ranks(p); });
    const double hv_ms = median_ms(reps, [&] { hv = hypervolume(p, ref); });
    // The first 1,000 points too: Optuna's quadratic kernels are timed there.
    const Points head(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(1000, p.size())));
    double hv_1k = 0;
    std::vector<int> ranks_head;
    const double ranks_ms_1k = median_ms(reps, [&] { ranks_head = non_dominated_ranks(head); });
    const double hv_ms_1k = median_ms(reps, [&] { hv_1k = hypervolume(head, ref); });
    const std::string stem = out + "/" + c.kind + "_" + std::to_string(c.d);
    std::ofstream pts(stem + ".points"), rk(stem + ".ranks");
    char buf[64];
    for (auto& x : p) {
      for (size_t k = 0; k < x.size(); ++k) {
        std::snprintf(buf, sizeof buf, "%s%.17g", k ? " " : "", x[k]);
        pts << buf;
      }
      pts << "\n";
    }
    for (int r : ranks) rk << r << "\n";
    std::ofstream rh(stem + ".ranks_head");
    for (int r : ranks_head) rh << r << "\n";
    const int n_fronts = ranks.empty() ? 0 : *std::max_element(ranks.begin(), ranks.end()) + 1;
    std::printf("{\"bench\": \"mo_kernels_hone\", \"kind\": \"%s\", \"d\": %zu, \"n\": %zu, \"n_fronts\": %d, "
                "\"ranks_ms\": %.3f, \"hv_ms\": %.3f, \"hv\": %.17g, \"n_head\": %zu, \"ranks_ms_head\": %.3f, "
                "\"hv_ms_head\": %.3f, \"hv_head\": %.17g}\n",
                c.kind, c.d, c.n, n_fronts, ranks_ms, hv_ms, hv, head.size(), ranks_ms_1k, hv_ms_1k, hv_1k);
  }
  return 0;
}
