// A config-file study run through the library, as `hone tune` runs it: resolve the config,
// prepare the stored study (its queue, its baseline), run the trials, write the results.
//   build/release/example_study_from_config examples/wine_study.toml [sqlite:///wine.db]
#include <cmath>
#include <cstdio>

#include "hone/error.h"
#include "hone/study_runner.h"

int main(int argc, char** argv) try {
  hone::StudyConfig sc = hone::load_study_config(argc > 1 ? argv[1] : "examples/wine_study.toml");
  hone::StudyRunner runner(sc, {.cores = 2, .out = "runs/" + sc.name()});  // before the study exists: a bad config creates none
  hone::PreparedStudy p = hone::prepare_study(sc, {.storage_url = argc > 2 ? argv[2] : "memory"});
  const double seconds = runner.run(*p.study, {.queued = p.queued});
  hone::StudyResult r = hone::finish_study(*p.study, runner, runner.out(), seconds);
  if (!r.best) return std::printf("no trial completed\n"), 1;
  std::printf("%lld trials in %.1f s; best trial %lld: %s %.4f (baseline %.4f); results in %s/\n",
              static_cast<long long>(r.n_trials), seconds, static_cast<long long>(r.best->number), r.metric.c_str(),
              *r.best->value, r.baseline && r.baseline->value ? *r.baseline->value : NAN, runner.out().c_str());
  return 0;
} catch (const hone::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return e.exit_code();
}
