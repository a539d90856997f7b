// The dashboard's data (trial cache, trials pages, summaries) and its HTTP server in this process:
// access control, read-only, ETags, and the studies the issue names (NaN values, no trials, one
// trial, 100 parameters, conditional parameters).
#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "hone/dashboard.h"
#include "hone/error.h"
#include "hone/study_runner.h"  // kConfigAttr
#include "report/dashboard_api.h"
#include "report/dashboard_test_util.h"

namespace {

using namespace hone;
using namespace hone::report;
using namespace hone_dash_test;
using nlohmann::json;

json page(const StudySnapshot& s, std::map<std::string, std::string> q) { return trials_page(s, parse_trial_query(q)); }

std::vector<int64_t> numbers(const json& p) {
  std::vector<int64_t> v;
  for (auto& r : p["rows"]) v.push_back(r["number"]);
  return v;
}

TEST(TrialCache, FollowsNewAndUnfinishedTrialsOnly) {
  auto s = make_in_memory_storage();
  TrialCache cache(s, /*min_interval_s=*/0);
  const int64_t id = s->create_new_study(Direction::kMinimize, "a");
  add_trial(*s, id, TrialState::kComplete, 1.0, {{"lr", {0.01, lr_dist()}}});
  const int64_t running = s->create_new_trial(id);
  auto v1 = cache.study(id);
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->trials.size(), 2u);

  // Nothing happened: the same snapshot comes back.
  auto v1b = cache.study(id);
  EXPECT_EQ(v1b.get(), v1.get());

  // The running trial reports a step: a new version, and the finished trial is shared, not copied.
  s->set_trial_intermediate_value(running, 0, 0.5);
  auto v2 = cache.study(id);
  EXPECT_EQ(v2->version, v1->version + 1);
  EXPECT_EQ(v2->trials[0].get(), v1->trials[0].get());
  EXPECT_EQ(v2->trials[1]->intermediate_values.size(), 1u);

  // It finishes and a new trial appears with a new parameter.
  s->set_trial_param(running, "lr", 0.02, lr_dist());
  s->set_trial_state_values(running, TrialState::kComplete, 0.25);
  add_trial(*s, id, TrialState::kComplete, 2.0, {{"lr", {0.03, lr_dist()}}, {"optimizer", {0, opt_dist()}}});
  auto v3 = cache.study(id);
  ASSERT_EQ(v3->trials.size(), 3u);
  EXPECT_EQ(v3->trials[1]->state, TrialState::kComplete);
  EXPECT_EQ(v3->param_names, (std::vector<std::string>{"lr", "optimizer"}));
  // The old snapshot did not change under its readers.
  EXPECT_EQ(v1->trials.size(), 2u);
  EXPECT_EQ(v1->trials[1]->state, TrialState::kRunning);

  EXPECT_EQ(cache.study(id + 100), nullptr);
  s->delete_study(id);
  EXPECT_EQ(cache.study(id), nullptr);
  EXPECT_TRUE(cache.studies().empty());
}

TEST(TrialCache, ReadsAtMostOncePerInterval) {
  auto s = make_in_memory_storage();
  TrialCache cache(s, /*min_interval_s=*/60);
  const int64_t id = s->create_new_study(Direction::kMinimize, "a");
  auto v1 = cache.study(id);
  add_trial(*s, id, TrialState::kComplete, 1.0, {});
  EXPECT_EQ(cache.study(id)->trials.size(), 0u);  // within the interval: the cached snapshot
  EXPECT_EQ(v1->trials.size(), 0u);
}

TEST(TrialsPage, SortsWithNaNAndAbsentLastInBothOrders) {
  auto s = make_in_memory_storage();
  auto ids = make_edge_studies(*s);
  TrialCache cache(s, 0);
  auto nan = cache.study(ids["nan"]);
  // values: #0 0.5, #1 NaN, #2 0.25, #3 NaN (pruned), #4 inf, #5 none (fail)
  EXPECT_EQ(numbers(page(*nan, {{"sort", "value"}})), (std::vector<int64_t>{2, 0, 4, 1, 3, 5}));
  EXPECT_EQ(numbers(page(*nan, {{"sort", "value"}, {"order", "desc"}})), (std::vector<int64_t>{4, 0, 2, 1, 3, 5}));
  json p = page(*nan, {});
  EXPECT_EQ(p["rows"][1]["value"], "NaN");
  EXPECT_EQ(p["rows"][4]["value"], "inf");
  EXPECT_EQ(p["rows"][5]["value"], nullptr);
  EXPECT_EQ(p["rows"][1]["intermediate"], "NaN");
  EXPECT_NO_THROW((void)p.dump());  // valid JSON: no bare NaN

  auto cond = cache.study(ids["conditional"]);
  // momentum only on odd trials: the others sort last, whatever the order.
  EXPECT_EQ(numbers(page(*cond, {{"sort", "momentum"}, {"order", "desc"}})),
            (std::vector<int64_t>{9, 7, 5, 3, 1, 0, 2, 4, 6, 8}));
  EXPECT_EQ(numbers(page(*cond, {{"sort", "params.momentum"}})), (std::vector<int64_t>{1, 3, 5, 7, 9, 0, 2, 4, 6, 8}));
  EXPECT_FALSE(page(*cond, {})["rows"][0]["params"].contains("momentum"));
  EXPECT_EQ(page(*cond, {})["rows"][0]["params"]["optimizer"], "adam");
}

TEST(TrialsPage, FiltersByStateAndClauses) {
  auto s = make_in_memory_storage();
  auto ids = make_edge_studies(*s);
  TrialCache cache(s, 0);
  auto cond = cache.study(ids["conditional"]);
  EXPECT_EQ(numbers(page(*cond, {{"filter", "optimizer=sgd, value<0.2"}})), (std::vector<int64_t>{5, 7, 9}));
  EXPECT_EQ(numbers(page(*cond, {{"filter", "momentum>=0.5"}})), (std::vector<int64_t>{5, 7, 9}));
  EXPECT_EQ(numbers(page(*cond, {{"filter", "optimizer~gd"}, {"size", "2"}, {"page", "1"}})),
            (std::vector<int64_t>{5, 7}));
  json last = page(*cond, {{"filter", "optimizer=sgd"}, {"size", "2"}, {"page", "99"}});  // clamped
  EXPECT_EQ(last["page"], 2);
  EXPECT_EQ(last["matched"], 5);
  EXPECT_EQ(last["total"], 10);
  auto nan = cache.study(ids["nan"]);
  EXPECT_EQ(numbers(page(*nan, {{"state", "PRUNED,fail"}})), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(numbers(page(*nan, {{"filter", "value=NaN"}})), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(numbers(page(*nan, {{"filter", "state=complete, value>0.3"}})), (std::vector<int64_t>{0, 4}));

  EXPECT_THROW(page(*cond, {{"filter", "nosuch<1"}}), Error);
  EXPECT_THROW(page(*cond, {{"filter", "value"}}), Error);
  EXPECT_THROW(page(*cond, {{"sort", "nosuch"}}), Error);
  EXPECT_THROW(page(*cond, {{"size", "0"}}), Error);
  EXPECT_THROW(page(*cond, {{"page", "x"}}), Error);
  EXPECT_THROW(page(*cond, {{"order", "up"}}), Error);
  EXPECT_THROW(page(*cond, {{"state", "DONE"}}), Error);
}

TEST(TrialsPage, EmptyOneAndWideStudies) {
  auto s = make_in_memory_storage();
  auto ids = make_edge_studies(*s);
  TrialCache cache(s, 0);
  json empty = page(*cache.study(ids["empty"]), {});
  EXPECT_EQ(empty["total"], 0);
  EXPECT_EQ(empty["pages"], 1);
  EXPECT_TRUE(empty["rows"].empty());
  json one = page(*cache.study(ids["one"]), {});
  ASSERT_EQ(one["rows"].size(), 1u);
  EXPECT_EQ(one["rows"][0]["step"], 1);
  EXPECT_EQ(one["rows"][0]["params"]["optimizer"], "sgd");
  json wide = page(*cache.study(ids["wide"]), {{"sort", "p150"}, {"order", "desc"}, {"size", "5"}});
  EXPECT_EQ(wide["columns"].size(), 100u);
  EXPECT_EQ(wide["rows"].size(), 5u);
  EXPECT_EQ(wide["rows"][0]["params"].size(), 100u);
  double prev = 2;
  for (auto& r : wide["rows"]) {
    EXPECT_LE(r["params"]["p150"].get<double>(), prev);
    prev = r["params"]["p150"];
  }
}

TEST(Summary, CountsBestAndProgress) {
  auto s = make_in_memory_storage();
  auto ids = make_edge_studies(*s);
  TrialCache cache(s, 0);
  const double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  json nan = summary_json(*cache.study(ids["nan"]), now);
  EXPECT_EQ(nan["best"], 0.25);  // NaN is never best
  EXPECT_EQ(nan["best_number"], 2);
  EXPECT_EQ(nan["counts"]["COMPLETE"], 4);
  EXPECT_EQ(nan["counts"]["PRUNED"], 1);
  EXPECT_EQ(nan["counts"]["FAIL"], 1);
  EXPECT_EQ(nan["progress"], nullptr);  // no budget stored
  EXPECT_FALSE(nan["live"]);
  json empty = summary_json(*cache.study(ids["empty"]), now);
  EXPECT_EQ(empty["best"], nullptr);
  EXPECT_EQ(empty["n_trials"], 0);
  EXPECT_EQ(summary_json(*cache.study(ids["one"]), now)["best"], 0.75);

  // A queue: 2 finished, 1 running, 1 waiting, a stored budget of 8 -> 2/8.
  const int64_t id = s->create_new_study(Direction::kMinimize, "queue");
  s->set_study_system_attr(id, kConfigAttr, json{{"version", 1}, {"config", {{"study", {{"n_trials", 8}}}}}});
  add_trial(*s, id, TrialState::kComplete, 1.0, {});
  add_trial(*s, id, TrialState::kPruned, 2.0, {});
  s->create_new_trial(id);
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  s->create_new_trial(id, &waiting);
  json q = summary_json(*cache.study(id), now);
  EXPECT_EQ(q["budget"], 8);
  EXPECT_DOUBLE_EQ(q["progress"].get<double>(), 0.25);
  EXPECT_TRUE(q["live"]);
  EXPECT_EQ(q["running"], 1);
  EXPECT_EQ(q["waiting"], 1);
  EXPECT_GT(q["rate_per_min"].get<double>(), 0);
  EXPECT_TRUE(q["eta_s"].is_number());
}

// ------------------------------------------------------------------------------ the server

struct Served {
  std::shared_ptr<Storage> storage = make_in_memory_storage();
  std::unique_ptr<Dashboard> dash;
  std::thread thread;
  explicit Served(DashboardOptions o) {
    o.port = 0;
    dash = std::make_unique<Dashboard>(storage, o);
    thread = std::thread([this] { dash->run(); });
  }
  ~Served() {
    dash->stop();
    thread.join();
  }
};

TEST(DashboardServer, LoopbackWithoutTokenServesEverything) {
  Served s({});
  auto ids = make_edge_studies(*s.storage);
  EXPECT_TRUE(s.dash->token().empty());
  EXPECT_EQ(s.dash->url(), "http://127.0.0.1:" + std::to_string(s.dash->port()) + "/");
  Response page = http(s.dash->port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("hone dashboard"), std::string::npos);
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(page.header("Content-Security-Policy").find("connect-src 'self'"), std::string::npos);
  Response list = http(s.dash->port(), "/api/studies");
  ASSERT_EQ(list.status, 200);
  json studies = json::parse(list.body)["studies"];
  ASSERT_EQ(studies.size(), 5u);
  EXPECT_EQ(studies[0]["name"], "conditional");  // by name
  for (auto& [name, id] : ids) {
    Response t = http(s.dash->port(), "/api/studies/" + std::to_string(id) + "/trials?size=3");
    ASSERT_EQ(t.status, 200) << name << ": " << t.body;
    EXPECT_NO_THROW((void)json::parse(t.body)) << name;
  }
  EXPECT_EQ(http(s.dash->port(), "/api/studies/999/trials").status, 404);
  Response bad = http(s.dash->port(), "/api/studies/" + std::to_string(ids["nan"]) + "/trials?filter=nosuch%3C1");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(json::parse(bad.body)["error"].get<std::string>().find("unknown column \"nosuch\""), std::string::npos);
}

TEST(DashboardServer, PlotsDataFirstWithoutThenWithImportance) {
  Served s({});
  auto ids = make_edge_studies(*s.storage);
  const std::string id = std::to_string(ids["conditional"]);
  Response first = http(s.dash->port(), "/api/studies/" + id + "/data");
  ASSERT_EQ(first.status, 200) << first.body;
  json d = json::parse(first.body);
  EXPECT_EQ(d["study_name"], "conditional");
  EXPECT_EQ(d["trials"].size(), 10u);
  EXPECT_FALSE(d.contains("importance"));  // the cheap frame comes first
  // The background thread adds importance (and the views that draw it) to a later frame.
  json later;
  for (int i = 0; i < 100 && !later.contains("importance"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    later = json::parse(http(s.dash->port(), "/api/studies/" + id + "/data").body);
  }
  ASSERT_TRUE(later.contains("importance"));
  EXPECT_NE(std::find(later["views"].begin(), later["views"].end(), "importance"), later["views"].end());
  EXPECT_EQ(later["trials"].size(), 10u);

  Response page = http(s.dash->port(), "/study/" + id);
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.header("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("../api/studies/" + id + "/data"), std::string::npos);  // live: it re-reads this
  EXPECT_EQ(http(s.dash->port(), "/study/999").status, 404);
  EXPECT_EQ(http(s.dash->port(), "/api/studies/999/data").status, 404);
  // Data for the empty study too (no trials, no importance).
  Response empty = http(s.dash->port(), "/api/studies/" + std::to_string(ids["empty"]) + "/data");
  ASSERT_EQ(empty.status, 200);
  EXPECT_TRUE(json::parse(empty.body)["trials"].empty());
}

TEST(DashboardServer, IsReadOnly) {
  Served s({});
  auto ids = make_edge_studies(*s.storage);
  const std::string trials = "/api/studies/" + std::to_string(ids["one"]) + "/trials";
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    Response r = http(s.dash->port(), trials, "Content-Length: 0\r\n", m);
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(r.header("Allow"), "GET, HEAD") << m;
  }
  EXPECT_EQ(s.storage->get_n_trials(ids["one"]), 1);
  EXPECT_EQ(http(s.dash->port(), trials, "", "HEAD").status, 200);
}

TEST(DashboardServer, ETagAnswers304UntilTheStudyChanges) {
  Served s({});
  const int64_t id = s.storage->create_new_study(Direction::kMinimize, "a");
  add_trial(*s.storage, id, TrialState::kComplete, 1.0, {});
  const std::string url = "/api/studies/" + std::to_string(id) + "/trials";
  Response first = http(s.dash->port(), url);
  const std::string etag = first.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(http(s.dash->port(), url, "If-None-Match: " + etag + "\r\n").status, 304);
  add_trial(*s.storage, id, TrialState::kComplete, 2.0, {});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the cache's read interval
  Response after = http(s.dash->port(), url, "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(json::parse(after.body)["total"], 2);
}

TEST(DashboardServer, TokenIsRequiredOnEveryRoute) {
  Served s({.token = "s3cret-token"});
  auto ids = make_edge_studies(*s.storage);
  const int port = s.dash->port();
  EXPECT_EQ(s.dash->url(), "http://127.0.0.1:" + std::to_string(port) + "/?token=s3cret-token");
  const std::vector<std::string> routes = {"/", "/api/studies", "/api/studies/" + std::to_string(ids["one"]) + "/trials",
                                           "/favicon.ico", "/nosuch"};
  for (const std::string& route : routes) {
    Response r = http(port, route);
    EXPECT_EQ(r.status, 401) << route;
    EXPECT_EQ(r.body.find("\"studies\""), std::string::npos) << route;
    EXPECT_EQ(http(port, route, "Authorization: Bearer wrong-token\r\n").status, 401) << route;
    EXPECT_EQ(http(port, route, "Authorization: Bearer s3cret-toke\r\n").status, 401) << route;  // a prefix
    EXPECT_EQ(http(port, route, "Authorization: Bearer s3cret-tokenX\r\n").status, 401) << route;
    EXPECT_EQ(http(port, route + "?token=wrong", "Cookie: hone_token=wrong\r\n").status, 401) << route;
  }
  EXPECT_EQ(http(port, "/api/studies", "", "POST").status, 405);  // read-only, token or not
  EXPECT_EQ(http(port, "/api/studies", "Authorization: Bearer s3cret-token\r\n").status, 200);
  Response by_link = http(port, "/?token=s3cret-token");
  EXPECT_EQ(by_link.status, 200);
  const std::string cookie = by_link.header("Set-Cookie");
  EXPECT_NE(cookie.find("hone_token=s3cret-token"), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_EQ(http(port, "/api/studies", "Cookie: other=1; hone_token=s3cret-token\r\n").status, 200);
}

TEST(DashboardServer, OtherAddressesGetAGeneratedToken) {
  Served s({.host = "0.0.0.0"});
  ASSERT_TRUE(s.dash->token_generated());
  EXPECT_EQ(s.dash->token().size(), 32u);
  EXPECT_EQ(s.dash->token().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(s.dash->url().find("?token=" + s.dash->token()), std::string::npos);
  EXPECT_EQ(http(s.dash->port(), "/api/studies").status, 401);
  EXPECT_EQ(http(s.dash->port(), "/api/studies", "Authorization: Bearer " + s.dash->token() + "\r\n").status, 200);
  EXPECT_NE(random_token(), random_token());
}

TEST(DashboardServer, RejectsBadOptions) {
  auto st = make_in_memory_storage();
  EXPECT_THROW(Dashboard(st, {.port = 70000}), Error);
  EXPECT_THROW(Dashboard(st, {.host = "no such host.invalid", .port = 0}), Error);
  EXPECT_THROW(Dashboard(st, {.port = 0, .token = "short"}), Error);
  EXPECT_THROW(Dashboard(st, {.port = 0, .token = "has space in it"}), Error);
  Dashboard a(st, {.port = 0});
  try {  // the port is taken
    Dashboard b(st, {.port = a.port()});
    FAIL() << "bound a port twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(a.port())), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.2"));
  EXPECT_FALSE(is_loopback_host("::"));
}

}  // namespace
