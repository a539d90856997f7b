#include <atomic>
#include <chrono>
#include <cmath>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "hone/error.h"
#include "hone/tune/tune.h"

using namespace hone;

static std::shared_ptr<Study> random_study(Direction d = Direction::kMinimize, uint64_t seed = 1) {
  return create_study({.direction = d, .sampler = make_random_sampler(seed), .pruner = make_nop_pruner()});
}

TEST(Study, OptimizeFindsAndReportsTheBest) {
  auto study = random_study();
  study->optimize([](Trial& t) {
    double x = t.suggest_float("x", -10, 10);
    return (x - 2) * (x - 2);
  }, {.n_trials = 50});
  EXPECT_EQ(study->trials().size(), 50u);
  double best = INFINITY;
  for (auto& t : study->trials()) best = std::min(best, *t.value);
  EXPECT_EQ(study->best_value(), best);
  EXPECT_EQ(study->best_trial().value, best);
  EXPECT_TRUE(study->best_params().contains("x"));
}

TEST(Study, ResuggestingANameReturnsTheSameValue) {
  auto study = random_study();
  study->optimize([](Trial& t) {
    double a = t.suggest_float("x", 0, 1);
    EXPECT_EQ(t.suggest_float("x", 0, 1), a);
    int64_t i = t.suggest_int("n", 1, 100, {.log = true});
    EXPECT_EQ(t.suggest_int("n", 1, 100, {.log = true}), i);
    EXPECT_THROW(t.suggest_int("x", 0, 1), Error);  // other kind under the same name
    return a;
  }, {.n_trials = 5});
  EXPECT_EQ(study->trials({TrialState::kComplete}).size(), 5u);
}

TEST(Study, FailuresAreRecordedAndTheStudyGoesOn) {
  auto study = random_study();
  int calls = 0;
  study->optimize([&](Trial& t) -> double {
    int k = calls++;
    t.suggest_float("x", 0, 1);
    if (k == 1) throw std::runtime_error("diverged at epoch 3");
    if (k == 2) return NAN;
    if (k == 3) return INFINITY;
    if (k == 4) throw TrialPruned();
    return 1.0;
  }, {.n_trials = 6});
  auto ts = study->trials();
  ASSERT_EQ(ts.size(), 6u);
  EXPECT_EQ(ts[1].state, TrialState::kFail);
  EXPECT_EQ(ts[1].fail_reason(), "diverged at epoch 3");
  EXPECT_EQ(ts[2].state, TrialState::kFail);
  EXPECT_NE(ts[2].fail_reason().find("nan"), std::string::npos);
  EXPECT_EQ(ts[3].state, TrialState::kFail);
  EXPECT_EQ(ts[4].state, TrialState::kPruned);
  EXPECT_EQ(ts[5].state, TrialState::kComplete);
}

TEST(Study, CatchExceptionsFalseRethrowsAfterRecording) {
  auto study = random_study();
  EXPECT_THROW(study->optimize([](Trial&) -> double { throw std::logic_error("bug"); },
                               {.n_trials = 5, .catch_exceptions = false}),
               std::logic_error);
  ASSERT_EQ(study->trials().size(), 1u);
  EXPECT_EQ(study->trials()[0].state, TrialState::kFail);
}

TEST(Study, ExceptionsNeverEscapeWorkerThreads) {
  auto study = random_study();
  std::atomic<int> n{0};
  study->optimize([&](Trial& t) -> double {
    t.suggest_float("x", 0, 1);
    if (n++ % 2) throw std::runtime_error("odd");
    return 0.0;
  }, {.n_trials = 20, .n_jobs = 4});
  EXPECT_EQ(study->trials().size(), 20u);
  EXPECT_EQ(study->trials({TrialState::kFail}).size(), 10u);
}

TEST(Study, PrunedTrialTakesItsLastIntermediateValue) {
  auto study = random_study();
  auto t = study->ask();
  t.report(3.0, 0);
  t.report(2.0, 1);
  t.report(99.0, 1);  // a second report of a step is ignored
  auto ft = study->tell(t, TrialState::kPruned);
  EXPECT_EQ(ft.state, TrialState::kPruned);
  EXPECT_EQ(*ft.value, 2.0);
}

TEST(Study, AskTell) {
  auto study = random_study(Direction::kMaximize);
  for (int i = 0; i < 4; ++i) {
    Trial t = study->ask();
    double x = t.suggest_float("x", 0, 1);
    study->tell(t, x);
  }
  Trial t = study->ask();
  EXPECT_THROW(study->tell(t, TrialState::kRunning), Error);
  study->tell(t, TrialState::kFail, std::nullopt, "out of memory");
  EXPECT_THROW(study->tell(t, 1.0), Error);  // told twice
  EXPECT_EQ(study->trials()[4].fail_reason(), "out of memory");
  EXPECT_EQ(study->trials({TrialState::kComplete}).size(), 4u);
  double best = -1;
  for (auto& ft : study->trials({TrialState::kComplete})) best = std::max(best, *ft.value);
  EXPECT_EQ(study->best_value(), best);
  // by number
  Trial u = study->ask();
  study->tell(u.number(), TrialState::kComplete, 0.25);
  EXPECT_EQ(*study->trials()[5].value, 0.25);
}

TEST(Study, EnqueuedTrialsComeFirstWithTheirValues) {
  auto study = random_study();
  study->enqueue_trial({{"x", 0.125}, {"opt", "sgd"}, {"layers", json::array({128, 64})}});
  study->enqueue_trial({{"x", 0.5}});
  std::vector<json> seen;
  study->optimize([&](Trial& t) {
    double x = t.suggest_float("x", 0, 1);
    auto opt = t.suggest_categorical("opt", std::vector<std::string>{"adam", "sgd"});
    json layers = t.suggest_categorical("layers", std::vector<json>{json::array({256}), json::array({128, 64})});
    seen.push_back(json::array({x, opt, layers}));
    return x;
  }, {.n_trials = 3});
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], json::array({0.125, "sgd", json::array({128, 64})}));
  EXPECT_EQ(seen[1][0], 0.5);
  EXPECT_EQ(study->trials()[0].state, TrialState::kComplete);
  // an enqueued categorical value that is not a choice is an error -> FAIL with the reason
  study->enqueue_trial({{"opt", "rmsprop"}});
  study->optimize([&](Trial& t) {
    t.suggest_categorical("opt", std::vector<std::string>{"adam", "sgd"});
    return 0.0;
  }, {.n_trials = 1});
  EXPECT_EQ(study->trials().back().state, TrialState::kFail);
  EXPECT_NE(study->trials().back().fail_reason().find("rmsprop"), std::string::npos);
}

TEST(Study, TimeoutStopsStartingTrials) {
  auto study = random_study();
  auto t0 = std::chrono::steady_clock::now();
  study->optimize([](Trial& t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return t.suggest_float("x", 0, 1);
  }, {.timeout_s = 0.2});
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(el, 1.0);
  EXPECT_GE(study->trials().size(), 3u);
  EXPECT_LE(study->trials().size(), 12u);
}

TEST(Study, StopFlagLetsRunningTrialsFinish) {
  auto study = random_study();
  std::atomic<bool> stop{false};
  study->optimize([&](Trial& t) {
    if (t.number() == 5) stop = true;  // as a SIGINT handler would
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return t.suggest_float("x", 0, 1);
  }, {.n_trials = 1000, .n_jobs = 2, .stop = &stop});
  auto ts = study->trials();
  EXPECT_LT(ts.size(), 12u);
  for (auto& t : ts) EXPECT_EQ(t.state, TrialState::kComplete);  // nothing left RUNNING
}

TEST(Study, CallbacksSeeEveryFinishedTrialOnce) {
  auto study = random_study();
  std::set<int64_t> seen;
  int running = 0, max_running = 0;
  study->optimize([](Trial& t) { return t.suggest_float("x", 0, 1); },
                  {.n_trials = 30, .n_jobs = 3,
                   .callbacks = {[&](Study&, const FrozenTrial& ft) {
                     max_running = std::max(max_running, ++running);
                     seen.insert(ft.number);
                     --running;
                   }}});
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_EQ(max_running, 1);  // serialised
}

TEST(Study, ExportsJsonAndCsv) {
  auto study = random_study();
  study->optimize([](Trial& t) {
    t.suggest_categorical("c", std::vector<std::string>{"a,b", "q\"x"});
    return t.suggest_float("x", 0, 1);
  }, {.n_trials = 3});
  json j = study->to_json();
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["state"], "COMPLETE");
  EXPECT_TRUE(j[0]["params"].contains("x"));
  std::string csv = study->to_csv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "number,value,state,datetime_start,datetime_complete,duration_s,params_c,params_x,"
            "constraint_violation,feasible,prune_reason");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
}

TEST(Study, NamesStoragesAndLoading) {
  auto storage = make_in_memory_storage();
  auto a = create_study({.name = "s", .storage = storage, .sampler = make_random_sampler(0)});
  a->optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, {.n_trials = 3});
  EXPECT_THROW(create_study({.name = "s", .storage = storage}), Error);
  auto b = create_study({.name = "s", .storage = storage, .load_if_exists = true});
  EXPECT_EQ(b->trials().size(), 3u);
  auto c = load_study("s", storage);
  EXPECT_EQ(c->best_value(), a->best_value());
  EXPECT_THROW(random_study()->best_trial(), Error);
}

TEST(Study, FromJsonConfig) {
  json cfg = {{"direction", "maximize"}, {"seed", 3}, {"n_trials", 7}, {"n_jobs", 2}, {"timeout", 60},
              {"sampler", {{"type", "tpe"}, {"n_startup_trials", 3}}},
              {"pruner", {{"type", "asha"}, {"min_resource", 1}}}};
  auto study = create_study_from_json(cfg);
  auto opt = optimize_options_from_json(cfg);
  EXPECT_EQ(study->direction(), Direction::kMaximize);
  EXPECT_EQ(study->sampler().name(), "tpe");
  EXPECT_EQ(study->pruner().name(), "asha");
  EXPECT_EQ(opt.n_trials, 7);
  EXPECT_EQ(opt.n_jobs, 2);
  EXPECT_EQ(opt.timeout_s, 60);
  study->optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, opt);
  EXPECT_EQ(study->trials().size(), 7u);
  auto err = [](const json& c) {
    try {
      create_study_from_json(c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(err({{"sampler", {{"type", "tpe"}, {"n_startup", 3}}}}).find("n_startup"), std::string::npos);
  EXPECT_NE(err({{"sampler", {{"type", "cmaes"}}}}).find("cmaes"), std::string::npos);
  EXPECT_NE(err({{"pruner", {{"type", "asha"}, {"min_resource", "big"}}}}).find("min_resource"), std::string::npos);
  EXPECT_NE(err({{"pruner", {{"type", "median"}, {"n_warmup", 1}}}}).find("n_warmup"), std::string::npos);
  EXPECT_NE(err({{"direction", "up"}}).find("direction"), std::string::npos);
  EXPECT_THROW(optimize_options_from_json({{"n_jobs", 0}}), Error);
}

TEST(SearchSpaceJson, InstantiateSuggestsByDottedPath) {
  json cfg = json::parse(R"({
    "train": {"lr": {"float": [1e-4, 1e-1], "log": true}, "epochs": 5,
              "batch": {"choice": [32, 64]}},
    "model": {"layers": [{"int": [16, 256], "step": 16}, 8]},
    "optimizer": {"choice": [{"type": "sgd", "momentum": {"float": [0, 0.99]}}, {"type": "adam"}]}
  })");
  auto found = find_distributions(cfg);
  std::set<std::string> names;
  for (auto& f : found) names.insert(f.name);
  EXPECT_EQ(names, (std::set<std::string>{"train.lr", "train.batch", "model.layers[0]", "optimizer",
                                          "optimizer.momentum"}));
  for (auto& f : found) EXPECT_EQ(f.conditional, f.name == "optimizer.momentum");
  auto study = random_study();
  int sgd = 0, adam = 0;
  for (int i = 0; i < 30; ++i) {
    Trial t = study->ask();
    json c = instantiate(cfg, t);
    double lr = c["train"]["lr"];
    EXPECT_GE(lr, 1e-4);
    EXPECT_LE(lr, 1e-1);
    EXPECT_EQ(c["train"]["epochs"], 5);
    EXPECT_EQ(c["model"]["layers"][0].get<int64_t>() % 16, 0);
    EXPECT_EQ(c["model"]["layers"][1], 8);
    EXPECT_EQ(t.params()["train.lr"], lr);
    if (c["optimizer"]["type"] == "sgd") {
      ++sgd;
      EXPECT_TRUE(c["optimizer"].contains("momentum"));
      EXPECT_TRUE(t.params().contains("optimizer.momentum"));
    } else {
      ++adam;
      EXPECT_EQ(c["optimizer"], (json{{"type", "adam"}}));
      EXPECT_FALSE(t.params().contains("optimizer.momentum"));  // only in the chosen branch
    }
    study->tell(t, lr);
  }
  EXPECT_GT(sgd, 0);
  EXPECT_GT(adam, 0);
}

TEST(SearchSpaceJson, BadSpecsNameTheirKey) {
  auto msg = [](const json& c) {
    try {
      find_distributions(c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg(json::parse(R"({"train": {"lr": {"float": [1, 0]}}})")).find("train.lr"), std::string::npos);
  EXPECT_NE(msg(json::parse(R"({"train": {"lr": {"float": [1e-3, 1], "lg": true}}})")).find("lg"), std::string::npos);
  EXPECT_NE(msg(json::parse(R"({"a": {"int": [0.5, 3]}})")).find("a"), std::string::npos);
  EXPECT_NE(msg(json::parse(R"({"a": {"choice": []}})")).find("a"), std::string::npos);
}
