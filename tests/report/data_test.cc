#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>

#include "hone/error.h"
#include "report/data.h"
#include "report/fixture.h"

using namespace hone_report_test;

namespace {

bool has_view(const hone::json& d, const std::string& v) {
  for (auto& x : d["views"])
    if (x == v) return true;
  return false;
}

}  // namespace

TEST(StudyData, CarriesTrialsImportanceAblationAndViews) {
  auto s = hone::make_in_memory_storage();
  const int64_t id = make_study(*s, "demo", 200, 5, only_x0);
  auto d = hone::report::study_data(*s, id);
  EXPECT_EQ(d["study_name"], "demo");
  EXPECT_EQ(d["directions"], hone::json({"MINIMIZE"}));
  ASSERT_EQ(d["trials"].size(), 200u);
  const auto& t0 = d["trials"][0];
  EXPECT_EQ(t0["state"], "COMPLETE");
  EXPECT_TRUE(t0["baseline"].get<bool>());
  EXPECT_EQ(t0["worker"], "host:102");
  EXPECT_EQ(t0["intermediate"].size(), 10u);
  EXPECT_EQ(d["trials"][6]["state"], "PRUNED");
  EXPECT_EQ(d["params"].size(), 6u);  // x0..x4 and opt
  // x0 is the one that matters.
  const auto& imp = d["importance"];
  EXPECT_GE(imp["fanova"]["x0"].get<double>(), 0.8) << imp.dump();
  EXPECT_GE(imp["ped_anova"]["x0"].get<double>(), 0.5) << imp.dump();
  EXPECT_GT(std::abs(imp["correlation"]["x0"].get<double>()), 0.0);
  ASSERT_TRUE(d.contains("contour"));
  EXPECT_EQ(d["contour"]["x"], "x0");
  ASSERT_TRUE(d.contains("ablation"));
  EXPECT_EQ(d["ablation"]["baseline"], 0);
  EXPECT_TRUE(d["ablation"]["baseline_marked"].get<bool>());
  EXPECT_EQ(d["ablation"]["best"], d["best"]["number"]);
  EXPECT_EQ(d["ablation"]["steps"][0]["param"], "x0");  // the change that buys most comes first
  // The path ends at the best trial's configuration, which was tried: its actual value.
  EXPECT_EQ(d["ablation"]["steps"].back()["actual"], d["best"]["value"]);
  EXPECT_TRUE(d["ablation"]["steps"][0]["actual"].is_null());
  for (const char* v : {"history", "intermediate", "timeline", "edf", "slice", "parallel", "rank", "importance",
                        "contour", "ablation"})
    EXPECT_TRUE(has_view(d, v)) << v;
  EXPECT_FALSE(has_view(d, "pareto"));
  EXPECT_EQ(hone::report::view_ids(d).size(), d["views"].size());
  // --no-importance: no forest, so no importance, contour or ablation views either.
  hone::report::DataOptions cheap;
  cheap.importance = false;
  auto c = hone::report::study_data(*s, id, cheap);
  EXPECT_FALSE(c.contains("importance"));
  EXPECT_FALSE(has_view(c, "contour"));
  EXPECT_FALSE(has_view(c, "ablation"));
  EXPECT_TRUE(has_view(c, "slice"));
}

TEST(StudyData, MaximizeTakesTheLargestValueAsBest) {
  auto s = hone::make_in_memory_storage();
  const int64_t id = s->create_new_study(hone::Direction::kMaximize, "max");
  for (int i = 0; i < 40; ++i) {
    FrozenTrial t;
    t.state = TrialState::kComplete;
    t.distributions["a"] = Distribution::real(0, 1);
    t.distributions["b"] = Distribution::real(0, 1);
    t.params["a"] = (i * 7 % 40) / 40.0;
    t.params["b"] = (i * 13 % 40) / 40.0;
    t.value = t.params["a"];  // only a matters; larger is better
    s->create_new_trial(id, &t);
  }
  auto d = hone::report::study_data(*s, id);
  EXPECT_EQ(d["directions"], hone::json({"MAXIMIZE"}));
  EXPECT_DOUBLE_EQ(d["best"]["value"].get<double>(), 39 / 40.0);
  ASSERT_TRUE(d.contains("ablation"));
  EXPECT_EQ(d["ablation"]["steps"][0]["param"], "a");
  EXPECT_GT(d["ablation"]["steps"][0]["gain"].get<double>(), 0.3);  // an improvement, so positive
  EXPECT_GT(d["importance"]["correlation"]["a"].get<double>(), 0.99);
}

TEST(StudyData, LongStudiesCarryAtMostMaxCurvesOfBoundedLength) {
  auto s = hone::make_in_memory_storage();
  const int64_t id = make_study(*s, "curves", 400, 2, only_x0);  // 400 trials reported values
  hone::report::DataOptions o;
  o.max_curves = 100;
  auto d = hone::report::study_data(*s, id, o);
  EXPECT_EQ(d["intermediate_total"], 400);
  size_t carried = 0;
  bool best_has = false;
  for (auto& x : d["trials"]) {
    carried += !x["intermediate"].empty();
    if (x["number"] == d["best"]["number"]) best_has = !x["intermediate"].empty();
  }
  EXPECT_GE(carried, 100u);
  EXPECT_LE(carried, 101u);  // every 4th, and the best
  EXPECT_TRUE(best_has);
  EXPECT_TRUE(has_view(d, "intermediate"));
  // One long curve: every k-th point and the last (where a pruned trial stopped).
  const int64_t lid = s->create_new_study(hone::Direction::kMinimize, "long");
  FrozenTrial t;
  t.state = TrialState::kPruned;
  t.distributions["x0"] = Distribution::real(0, 1);
  t.params["x0"] = 0.5;
  for (int step = 0; step < 2001; ++step) t.intermediate_values[step] = 1.0 / (step + 1);
  s->create_new_trial(lid, &t);
  const auto ld = hone::report::study_data(*s, lid);
  const auto& curve = ld["trials"][0]["intermediate"];
  EXPECT_GE(curve.size(), 500u);
  EXPECT_LE(curve.size(), 501u);
  EXPECT_EQ(curve.back()[0], 2000);
}

TEST(StudyData, ZeroAndOneTrial) {
  auto s = hone::make_in_memory_storage();
  const int64_t id = s->create_new_study(hone::Direction::kMaximize, "empty");
  auto d = hone::report::study_data(*s, id);
  EXPECT_EQ(d["n_trials"], 0);
  EXPECT_TRUE(d["best"].is_null());
  EXPECT_FALSE(d.contains("importance"));
  EXPECT_TRUE(has_view(d, "history"));
  EXPECT_FALSE(has_view(d, "slice"));
  const int64_t one = make_study(*s, "one", 1, 3, only_x0);
  auto d1 = hone::report::study_data(*s, one);
  EXPECT_EQ(d1["trials"].size(), 1u);
  EXPECT_EQ(d1["best"]["number"], 0);
  EXPECT_FALSE(d1.contains("importance"));
  EXPECT_FALSE(d1.contains("ablation"));
}

TEST(StudyData, NaNValuesBecomeNullAndAreLeftOut) {
  auto s = hone::make_in_memory_storage();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const int64_t id = make_study(*s, "nan", 60, 3, [&](const std::vector<double>& x) { return x[0] < 0.3 ? nan : x[0]; });
  auto d = hone::report::study_data(*s, id);
  int nulls = 0;
  for (auto& t : d["trials"]) nulls += t["value"].is_null();
  EXPECT_GT(nulls, 5);
  ASSERT_FALSE(d["best"].is_null());
  EXPECT_GE(d["best"]["value"].get<double>(), 0.3);
  EXPECT_TRUE(d["importance"]["fanova"]["x0"].is_number());
  // The JSON text has no NaN (JavaScript's JSON.parse rejects it).
  EXPECT_EQ(d.dump().find("NaN"), std::string::npos);
}

TEST(StudyData, HundredParametersAndConditionalOnes) {
  auto s = hone::make_in_memory_storage();
  const int64_t id = make_study(*s, "wide", 80, 100, only_x0, false);
  auto d = hone::report::study_data(*s, id);
  EXPECT_EQ(d["params"].size(), 100u);
  EXPECT_EQ(d["importance"]["fanova"].size(), 100u);
  // Conditional: "depth" only in trials with an even number; importance over the common space.
  const int64_t c = make_conditional_study(*s, "cond");
  auto dc = hone::report::study_data(*s, c);
  EXPECT_EQ(dc["params"].size(), 2u);
  EXPECT_EQ(dc["importance"]["conditional"], hone::json({"depth"}));
  EXPECT_TRUE(dc["importance"]["fanova"].contains("a"));
  EXPECT_FALSE(dc["importance"]["fanova"].contains("depth"));
}

TEST(StudyData, UnknownStudyIsInvalidArgument) {
  auto s = hone::make_in_memory_storage();
  try {
    hone::report::study_data(*s, 12345);
    FAIL();
  } catch (const hone::Error& e) {
    EXPECT_EQ(e.kind(), hone::ErrorKind::kInvalidArgument);
  }
}

TEST(StudyData, TenThousandTrialsUnderTwoSecondsAndFiveMegabytes) {
  auto s = hone::make_in_memory_storage();
  const int64_t id = make_study(*s, "big", 10000, 5, only_x0);
  auto t0 = std::chrono::steady_clock::now();
  auto d = hone::report::study_data(*s, id);
  const std::string html = hone::report::study_html(d);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("10000 trials: %.2f s, %.2f MB\n", sec, html.size() / 1e6);
  EXPECT_LT(sec, 2.0);
  EXPECT_LT(html.size(), 5000000u);
}

TEST(RunData, ReadsHistoryAndOptionalFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("hone_report_run_" + std::to_string(getpid()));
  fs::remove_all(dir);
  EXPECT_THROW(hone::report::run_data(dir.string()), hone::Error);
  fs::create_directories(dir);
  EXPECT_THROW(hone::report::run_data(dir.string()), hone::Error);  // no history.json
  std::ofstream(dir / "history.json") << R"([{"epoch":1,"loss":1.0,"lr":0.1},{"epoch":2,"loss":0.5,"lr":0.05}])";
  std::ofstream(dir / "doctor.json") << R"({"findings":[{"severity":"warn","text":"lr too high"}]})";
  auto d = hone::report::run_data(dir.string());
  EXPECT_EQ(d["kind"], "run");
  EXPECT_EQ(d["run"]["history"].size(), 2u);
  EXPECT_EQ(d["views"], hone::json({"curves", "lr", "doctor"}));
  std::ofstream(dir / "profile.json") << "{not json";
  EXPECT_THROW(hone::report::run_data(dir.string()), hone::Error);
  fs::remove_all(dir);
}

TEST(StudyHtml, SelfContained) {
  auto s = hone::make_in_memory_storage();
  const int64_t id = make_study(*s, "a<b", 20, 2, only_x0);
  const std::string html = hone::report::study_html(hone::report::study_data(*s, id));
  EXPECT_NE(html.find("<title>hone report: a&lt;b</title>"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("id=\"hone-plotly\""), std::string::npos);
  EXPECT_GT(html.size(), 1000000u);  // plotly.js is in it
  hone::report::PageOptions live;
  live.live = true;
  EXPECT_THROW(hone::report::study_html(hone::json::object(), live), hone::Error);  // no URL
  live.data_url = "/api/study/1";
  EXPECT_NE(hone::report::study_html(hone::json::object(), live).find("\"live\":true"), std::string::npos);
}
