// End-to-end tests of the `hone` command as a user types it: exit codes, one-line errors, run
// directories, eval, predict, Ctrl-C.
#include <gtest/gtest.h>

#include "cli_test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fcntl.h>

namespace {

namespace fs = std::filesystem;
using namespace hone_cli_test;

std::string tmpdir(const std::string& name) { return hone_cli_test::tmpdir("hone_cli", name); }

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// Starts `hone ARGS...` in the source directory with its output in `log`, waits (up to 120 s) until
// the log shows `marker`, presses Ctrl-C, and returns the wait status. `seen` gets the log text.
int interrupt_when(const std::vector<std::string>& args, const std::string& log, const std::string& marker,
                   std::string& seen) {
  pid_t pid = start(args, log);
  if (pid < 0) return -1;
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120)) {
    std::ifstream f(log);
    seen.assign(std::istreambuf_iterator<char>(f), {});
    if (seen.find(marker) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGINT);
  int st = 0;
  waitpid(pid, &st, 0);
  return st;
}

TEST(Cli, HelpVersionAndUsageErrors) {
  Result h = hone("--help");
  EXPECT_EQ(h.code, 0);
  for (const char* sub : {"train", "eval", "predict"}) EXPECT_NE(h.out.find(sub), std::string::npos) << sub;
  EXPECT_EQ(hone("train --help").code, 0);
  Result v = hone("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("hone ", 0), 0u) << v.out;
  EXPECT_EQ(hone("").code, 2);
  EXPECT_EQ(hone("no-such-command").code, 2);
  EXPECT_EQ(hone("train").code, 2);  // missing the config argument
}

TEST(Cli, BadConfigGetsOneClearLineAndExit2) {
  std::string d = tmpdir("badcfg");
  // A missing file.
  Result r = hone("train " + d + "/missing.toml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("missing.toml"), std::string::npos);
  // A TOML syntax error names file:line.
  write(d + "/syntax.toml", "seed = 0\n[train\nepochs = 3\n");
  r = hone("train " + d + "/syntax.toml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("syntax.toml:2"), std::string::npos) << r.out;
  EXPECT_EQ(lines(r.out), 1) << r.out;
  // An unknown layer type names the layer.
  write(d + "/layer.toml",
        "[data]\nsource='csv'\ntrain='examples/data/iris.csv'\ntarget='species'\n"
        "[model]\n[[model.layers]]\ntype='dense'\nunits=3\n[[model.layers]]\ntype='rleu'\n");
  r = hone("train " + d + "/layer.toml --out " + d + "/run");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("model.layers[1]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rleu"), std::string::npos) << r.out;
  // A bad override value.
  r = hone("train examples/wine.toml --set train.lr=-1 --out " + d + "/run");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("lr"), std::string::npos) << r.out;
  EXPECT_EQ(lines(r.out), 1) << r.out;
  // An unknown key in [train].
  r = hone("train examples/wine.toml --set train.epoch=3 --out " + d + "/run");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("epoch"), std::string::npos) << r.out;
}

TEST(Cli, BadDataFileNamesFileAndLine) {
  std::string d = tmpdir("baddata");
  write(d + "/data.csv", "a,b,y\n1,2,x\n3,oops,y\n");
  write(d + "/cfg.toml", "[data]\nsource='csv'\ntrain='" + d + "/data.csv'\ntarget='y'\n"
                         "[model]\n[[model.layers]]\ntype='dense'\nunits=2\n");
  Result r = hone("train " + d + "/cfg.toml --out " + d + "/run");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("data.csv:3"), std::string::npos) << r.out;
}

TEST(Cli, TrainEvalPredictOnACsvDataSet) {
  std::string d = tmpdir("wine");
  Result r = hone("train examples/wine.toml --quiet --out " + d + "/run");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"model.hone", "history.json", "history.csv", "metrics.json", "config.toml"})
    EXPECT_TRUE(fs::exists(d + "/run/" + f)) << f;
  EXPECT_NE(r.out.find("test:"), std::string::npos) << r.out;

  // The resolved config is itself a valid config for `hone train`.
  Result again = hone("train " + d + "/run/config.toml --quiet --set train.epochs=2 --out " + d + "/run2");
  EXPECT_EQ(again.code, 0) << again.out;

  Result e = hone("eval " + d + "/run --json");
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_NE(e.out.find("\"accuracy\""), std::string::npos) << e.out;

  r = hone("predict " + d + "/run examples/data/wine.csv --out " + d + "/pred.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream p(d + "/pred.csv");
  std::string header, line;
  std::getline(p, header);
  EXPECT_EQ(header, "row,prediction,p_class_0,p_class_1,p_class_2");
  int n = 0, right = 0;
  std::ifstream truth(HONE_SOURCE_DIR "/examples/data/wine.csv");
  std::string tl;
  std::getline(truth, tl);
  while (std::getline(p, line) && std::getline(truth, tl)) {
    ++n;
    std::string pred = line.substr(line.find(',') + 1);
    pred = pred.substr(0, pred.find(','));
    right += tl.substr(tl.rfind(',') + 1) == pred;
  }
  EXPECT_EQ(n, 178);
  EXPECT_GT(right, 160);  // the model must be good on the data it mostly trained on
}

TEST(Cli, CorruptModelFileIsAnErrorNotACrash) {
  std::string d = tmpdir("corrupt");
  write(d + "/m.hone", "HONEMDL\x1a garbage garbage garbage");
  Result r = hone("eval " + d + "/m.hone");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("m.hone"), std::string::npos);
  EXPECT_EQ(lines(r.out), 1) << r.out;
}

TEST(Cli, CtrlCStopsCleanlyAndKeepsCompletedEpochs) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  std::string d = tmpdir("sigint");
  // Wait for two completed epochs, then press Ctrl-C.
  std::string log;
  int st = interrupt_when({"train", "examples/mlp.toml", "--set", "train.epochs=1000", "--set", "data.limit=6000",
                           "--out", d + "/run"},
                          d + "/log", "epoch 2/1000", log);
  ASSERT_NE(log.find("epoch 2/1000"), std::string::npos) << log;
  ASSERT_TRUE(WIFEXITED(st)) << "killed by signal " << WTERMSIG(st);
  EXPECT_EQ(WEXITSTATUS(st), 130);
  EXPECT_TRUE(fs::exists(d + "/run/model.hone"));
  std::ifstream h(d + "/run/history.csv");
  std::string all((std::istreambuf_iterator<char>(h)), {});
  EXPECT_GE(lines(all), 3);  // header + at least the two epochs seen

  // The interrupted run's model predicts IDX images (no labels needed): one line per image.
  Result p = hone("predict " + d + "/run /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --out " + d +
                  "/pred.csv");
  ASSERT_EQ(p.code, 0) << p.out;
  std::ifstream pf(d + "/pred.csv");
  std::string preds((std::istreambuf_iterator<char>(pf)), {});
  EXPECT_EQ(lines(preds), 10001);
}

}  // namespace

namespace {

const char* kIrisStudy = R"(
seed = 0
[study]
direction = "maximize"
metric = "val_accuracy"
sampler = { type = "tpe", n_startup_trials = 3 }
pruner = { type = "median", n_startup_trials = 2 }
n_trials = 8
n_jobs = 2
[study.baseline]
"train.lr" = 0.001
"model.hidden_layers" = [8]
[data]
source = "csv"
train = "examples/data/iris.csv"
target = "species"
scale = "standard"
validation_fraction = 0.2
[model]
type = "mlp"
hidden_layers = { choice = [[8], [32], [16, 16]] }
[train]
epochs = 15
batch_size = 16
lr = { float = [1e-3, 1e-1], log = true }
)";

TEST(CliTune, RunsAStudyAndWritesABestConfigThatTrains) {
  std::string d = tmpdir("tune");
  write(d + "/study.toml", kIrisStudy);
  Result r = hone("tune " + d + "/study.toml --storage sqlite:///" + d + "/hone.db --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  // Live progress, the top table and the before/after comparison.
  EXPECT_NE(r.out.find("done 8/8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("baseline (#0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak tensor memory"), std::string::npos) << r.out;
  for (const char* f : {"best.toml", "trials.json", "trials.csv", "summary.json"})
    EXPECT_TRUE(fs::exists(d + "/out/" + f)) << f;
  std::ifstream csv(d + "/out/trials.csv");
  std::string all((std::istreambuf_iterator<char>(csv)), {});
  EXPECT_EQ(lines(all), 9);  // header + 8 trials
  // best.toml is a plain config that `hone train` accepts.
  Result t = hone("train " + d + "/out/best.toml --quiet --out " + d + "/best");
  EXPECT_EQ(t.code, 0) << t.out;
}

TEST(CliTune, GridWithCrossValidationEndsWhenTheGridIsExhausted) {
  std::string d = tmpdir("grid");
  std::string cfg = kIrisStudy;
  cfg.replace(cfg.find("sampler = { type = \"tpe\", n_startup_trials = 3 }"), 48, "sampler = { type = \"grid\" }");
  cfg.replace(cfg.find("lr = { float = [1e-3, 1e-1], log = true }"), 41, "lr = { choice = [0.01, 0.1] }");
  cfg.replace(cfg.find("\"train.lr\" = 0.001"), 18, "\"train.lr\" = 0.01");  // a baseline outside the space is an error
  cfg.replace(cfg.find("metric = \"val_accuracy\""), 23, "metric = \"accuracy\"\ncv = { folds = 3 }");
  cfg.replace(cfg.find("n_trials = 8"), 12, "");
  write(d + "/grid.toml", cfg);
  Result r = hone("tune " + d + "/grid.toml --storage sqlite:///" + d + "/grid.db --out " + d + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(d + "/out/cv_results.json"));
  EXPECT_TRUE(fs::exists(d + "/out/best.hone"));
  // 3 layer choices x 2 learning rates, each once (the baseline is one of the grid points).
  std::ifstream csv(d + "/out/trials.csv");
  std::string all((std::istreambuf_iterator<char>(csv)), {});
  EXPECT_GE(lines(all), 7);
  EXPECT_NE(r.out.find("refit on all"), std::string::npos) << r.out;
}

TEST(CliTune, BadStudyConfigsAreOneLineErrors) {
  std::string d = tmpdir("badstudy");
  std::string cfg = kIrisStudy;
  write(d + "/s1.toml", std::string(cfg).replace(cfg.find("type = \"tpe\""), 12, "type = \"tpz\""));
  Result r = hone("tune " + d + "/s1.toml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("tpz"), std::string::npos) << r.out;
  write(d + "/s2.toml", std::string(cfg).replace(cfg.find("\"train.lr\" = 0.001"), 18, "\"train.lrr\" = 0.1"));
  r = hone("tune " + d + "/s2.toml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("train.lrr"), std::string::npos) << r.out;
  write(d + "/s3.toml", std::string(cfg).replace(cfg.find("log = true"), 10, "lg = true"));
  r = hone("tune " + d + "/s3.toml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("lg"), std::string::npos) << r.out;
}

}  // namespace

namespace {

TEST(CliTune, CtrlCKeepsFinishedTrials) {
  std::string d = tmpdir("tune_sigint");
  {  // 6000 rows x 20 features: a trial takes a visible fraction of a second
    std::ofstream f(d + "/data.csv");
    for (int j = 0; j < 20; ++j) f << "f" << j << ",";
    f << "y\n";
    unsigned s = 1;
    for (int i = 0; i < 6000; ++i) {
      for (int j = 0; j < 20; ++j) {
        s = s * 1103515245u + 12345u;
        f << ((s >> 8) % 1000) / 1000.0 + (j == i % 3 ? 1 : 0) << ",";
      }
      f << "c" << i % 3 << "\n";
    }
  }
  write(d + "/study.toml", "[study]\nn_trials = 10000\nn_jobs = 2\nsampler = { type = \"random\" }\n"
                           "[data]\nsource='csv'\ntrain='" + d + "/data.csv'\ntarget='y'\n"
                           "[model]\ntype='mlp'\nhidden_layers = { choice = [[64], [128]] }\n"
                           "[train]\nepochs = 5\nlr = { float = [1e-3, 1e-2] }\n");
  std::string log;
  int st = interrupt_when({"tune", d + "/study.toml", "--storage", "memory", "--out", d + "/out"}, d + "/log", "done 3",
                          log);
  ASSERT_NE(log.find("done 3"), std::string::npos) << log;
  ASSERT_TRUE(WIFEXITED(st)) << "killed by signal " << WTERMSIG(st);
  EXPECT_EQ(WEXITSTATUS(st), 130);
  // Every trial that finished before Ctrl-C is in the export.
  std::ifstream csv(d + "/out/trials.csv");
  std::string all((std::istreambuf_iterator<char>(csv)), {});
  EXPECT_GE(std::count(all.begin(), all.end(), '\n'), 4) << all;
  EXPECT_NE(all.find("COMPLETE"), std::string::npos);
}

}  // namespace
