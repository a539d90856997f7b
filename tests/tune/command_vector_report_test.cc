// The external-command protocol for multi-objective studies (docs/EXTERNAL.md "Several
// objectives"): vector intermediate values on stdout ("hone: report 3 [0.8, 12]") and in the
// result file, several results, constraints, each form parsed and stored as a Trial::report(vector).
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "hone/tune/command.h"
#include "hone/tune/tune.h"

using namespace hone;
namespace fs = std::filesystem;

namespace {

TEST(CommandVectorProtocol, ReportTakesAJsonListWithOrWithoutAStep) {
  auto r = parse_metric_line("hone: report 3 [0.8, 12]");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, MetricLine::Kind::kReport);
  EXPECT_EQ(r->step, 3);
  EXPECT_EQ(r->values, (std::vector<double>{0.8, 12}));
  EXPECT_EQ(r->value, 0.8);
  r = parse_metric_line("hone: report [0.5,1e-3,nan]");  // no step: the next one
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->step);
  ASSERT_EQ(r->values.size(), 3u);
  EXPECT_TRUE(std::isnan(r->values[2]));
  // A scalar report keeps its one value (values empty, as before).
  r = parse_metric_line("hone: report 2 0.25");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->values.empty());
  bool bad = false;
  // A vector needs its brackets: "report 1 2 3" stays malformed (a step, then two values?).
  EXPECT_FALSE(parse_metric_line("hone: report 1 2 3", &bad));
  EXPECT_TRUE(bad);
  EXPECT_FALSE(parse_metric_line("hone: report 1 [0.5, x]", &bad));
  EXPECT_TRUE(bad);
  EXPECT_FALSE(parse_metric_line("hone: report [0.5, 2", &bad));
  EXPECT_TRUE(bad);
  EXPECT_FALSE(parse_metric_line("hone: report []", &bad));
  EXPECT_TRUE(bad);
  // The other documented multi-objective forms.
  r = parse_metric_line("hone: result 0.91 12.3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->values, (std::vector<double>{0.91, 12.3}));
  r = parse_metric_line("hone: result [0.91, 12.3]");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->values, (std::vector<double>{0.91, 12.3}));
  r = parse_metric_line("hone: constraints [-0.5, 2]");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, MetricLine::Kind::kConstraints);
  EXPECT_EQ(r->values, (std::vector<double>{-0.5, 2}));
}

// A program printing vector reports, then writing vector intermediates to the result file: both
// become Trial::report(vector), readable per objective.
TEST(CommandVectorProtocol, VectorReportsReachTheTrialFromStdoutAndTheResultFile) {
  char tmpl[] = "/tmp/hone_vecrep_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  CommandOptions o;
  o.command = {"/bin/sh", "-c",
               "echo 'hone: report 0 [3, 0.1]'; echo 'hone: report [2, 0.4]'; "
               "echo '{{\"intermediate\": {{\"5\": [1, 0.7]}}}}' > \"$HONE_RESULT_FILE\"; "  // {{ }}: literal braces
               "echo 'hone: result 1 0.7'; echo 'hone: constraints 0.5 -1'"};
  o.run_dir = dir;
  CommandObjective obj(json::object(), o);
  StudyOptions so;
  so.directions = {Direction::kMinimize, Direction::kMaximize};
  so.sampler = make_random_sampler(0);
  auto study = create_study(so);
  Trial t = study->ask();
  const CommandResult r = obj.run(t);
  EXPECT_EQ(r.values, (std::vector<double>{1, 0.7}));
  EXPECT_EQ(r.constraints, (std::vector<double>{0.5, -1}));
  const FrozenTrial f = study->trials()[0];
  EXPECT_EQ(f.intermediate_values_of(0), (std::map<int64_t, double>{{0, 3}, {1, 2}, {5, 1}}));
  EXPECT_EQ(f.intermediate_values_of(1), (std::map<int64_t, double>{{0, 0.1}, {1, 0.4}, {5, 0.7}}));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
