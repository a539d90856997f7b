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
  for (const char* v : {"history", "intermediate", "timeline", "edf", "slice", "parallel", "rank", "importance",
                        "contour", "ablation"})
    EXPECT_TRUE(has_view(d, v)) << v;
  EXPECT_FALSE(has_view(d, "pareto"));
  EXPECT_EQ(hone::report::view_ids(d).size(), d["views"].size());
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
