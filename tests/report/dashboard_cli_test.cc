// `hone dashboard` as a user runs it: the bind default, the generated token, bad options, Ctrl-C,
// never creating a database, and the page in real headless Chromium (tests/browser/check_page.py)
// seeing a trial appear that is added while it is open.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "cli/cli_test_util.h"
#include "hone/report.h"
#include "hone/store.h"
#include "report/dashboard_test_util.h"

namespace {

namespace fs = std::filesystem;
using namespace hone_dash_test;
using hone_cli_test::hone;
using hone_cli_test::read;
using hone_cli_test::start;
using hone_cli_test::tmpdir;

// Waits until the log matches `re` (returns the first match's group 1, or "" after `seconds`).
std::string wait_for(const std::string& log, const std::string& re, double seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::smatch m;
  const std::regex r(re);
  while (std::chrono::steady_clock::now() < end) {
    std::string text = read(log);
    if (std::regex_search(text, m, r)) return m.size() > 1 ? m[1].str() : m[0].str();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

// The exit code of `pid`, or -1 if it is still running after `seconds` (then it is killed).
int wait_exit(pid_t pid, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// Local address (hex, as /proc/net/tcp writes it) of the socket listening on `port`.
std::string listening_address(int port) {
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream f(table);
    std::string line;
    while (std::getline(f, line)) {
      std::istringstream in(line);
      std::string sl, local, remote, state;
      in >> sl >> local >> remote >> state;
      if (state == "0A" && local.size() > 5 && local.substr(local.size() - 5) == want)
        return local.substr(0, local.size() - 5);
    }
  }
  return "";
}

struct Db {
  std::string dir, path, url;
  std::shared_ptr<hone::Storage> storage;
  explicit Db(const std::string& name) {
    dir = tmpdir("dash", name);
    path = dir + "/studies.db";
    url = "sqlite:///" + path;
    storage = hone::make_sqlite_storage(path);
  }
};

TEST(DashboardCli, ListensOnLoopbackByDefaultAndStopsOnSigterm) {
  Db db("bind");
  make_edge_studies(*db.storage);
  const std::string log = db.dir + "/out.log";
  pid_t pid = start({"dashboard", "--storage", db.url, "--port", "0"}, log);
  const std::string port = wait_for(log, R"(at http://127\.0\.0\.1:(\d+)/\n)");
  ASSERT_FALSE(port.empty()) << read(log);
  EXPECT_EQ(listening_address(std::stoi(port)), "0100007F");  // 127.0.0.1, not 0.0.0.0
  Response r = http(std::stoi(port), "/api/studies");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"conditional\""), std::string::npos);
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 5), 0) << read(log);
  EXPECT_NE(read(log).find("stopped"), std::string::npos);
}

TEST(DashboardCli, OtherAddressGetsATokenPrintedOnceAndCtrlCStops) {
  Db db("token");
  make_edge_studies(*db.storage);
  const std::string log = db.dir + "/out.log";
  pid_t pid = start({"dashboard", "--storage", db.url, "--host", "0.0.0.0", "--port", "0"}, log);
  const std::string url = wait_for(log, R"((http://0\.0\.0\.0:\d+/\?token=[0-9a-f]{32})\n)");
  ASSERT_FALSE(url.empty()) << read(log);
  const std::string token = url.substr(url.size() - 32);
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  EXPECT_EQ(listening_address(port), "00000000");
  EXPECT_EQ(http(port, "/api/studies").status, 401);
  EXPECT_EQ(http(port, "/").status, 401);
  EXPECT_EQ(http(port, "/api/studies", "Authorization: Bearer " + token + "\r\n").status, 200);
  EXPECT_EQ(http(port, "/?token=" + token).status, 200);
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid, 5), 0) << read(log);
  const std::string out = read(log);
  size_t count = 0;
  for (size_t p = out.find(token); p != std::string::npos; p = out.find(token, p + 1)) ++count;
  EXPECT_EQ(count, 1u) << out;  // printed once, never in the request lines
}

TEST(DashboardCli, BadOptionsAreOneLineAndExit2) {
  Db db("bad");
  db.storage->create_new_study(hone::Direction::kMinimize, "a");
  for (std::string args : {"--port abc", "--port 70000", "--port -1", "--host nosuch.invalid --port 0",
                           "--token short --port 0", "--refresh 0 --port 0"}) {
    auto r = hone("dashboard --storage " + db.url + " " + args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
    EXPECT_NE(r.out.find("hone: error: dashboard: "), std::string::npos) << args << ": " << r.out;
  }
  // A taken port.
  const std::string log = db.dir + "/out.log";
  pid_t pid = start({"dashboard", "--storage", db.url, "--port", "0"}, log);
  const std::string port = wait_for(log, R"(127\.0\.0\.1:(\d+)/)");
  ASSERT_FALSE(port.empty());
  auto r = hone("dashboard --storage " + db.url + " --port " + port);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("cannot listen on 127.0.0.1:" + port), std::string::npos) << r.out;
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid, 5), 0);
}

TEST(DashboardCli, NeverCreatesADatabase) {
  const std::string dir = tmpdir("dash", "create");
  auto r = hone("dashboard --port 0 --storage sqlite:///" + dir + "/none.db");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("no SQLite storage at " + dir + "/none.db"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/none.db"));
  r = hone("dashboard --port 0 --storage :memory:");
  EXPECT_EQ(r.code, 2) << r.out;
}

// ------------------------------------------------------------------------------ in Chromium

// Runs check_page.py; its exit code (3: no Chromium) and output go to *out.
int check_page(const std::string& args, std::string* out) {
  auto r = hone_cli_test::Result{};
  std::string cmd = "cd " HONE_SOURCE_DIR " && /usr/bin/python3 tests/browser/check_page.py " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  *out = r.out;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string artifacts() {
  const std::string d = fs::path(HONE_BINARY).parent_path().string() + "/artifacts";
  fs::create_directories(d);
  return d;
}

// A JavaScript expression: the dashboard's plots frame shows study `id` and every view of
// `views` is drawn (the report's page marks each section data-rendered).
std::string plots_drawn(int64_t id, const std::vector<std::string>& views) {
  std::string list = "[";
  for (auto& v : views) list += "'" + v + "',";
  list += "]";
  return "(() => { const f = document.getElementById('plots'); const d = f && f.contentDocument;"
         " return !!(d && d.body && d.body.dataset.ready && d.location.pathname.endsWith('/study/" + std::to_string(id) +
         "') && " + list + ".every((v) => { const e = d.getElementById('view-' + v); return e && e.hasAttribute('data-rendered'); })); })()";
}

// The views the dashboard's first frame of a study draws (importance comes later).
std::vector<std::string> first_views(hone::Storage& s, int64_t id) {
  return hone::report::view_ids(hone::report::study_data(s, id, {.importance = false, .ablation = false}));
}

bool have_chromium() {
  return std::system("command -v chromium >/dev/null 2>&1 && /usr/bin/python3 -c 'import websocket' 2>/dev/null") == 0;
}

TEST(DashboardBrowser, TrialAddedWhileThePageIsOpenAppears) {
  if (!have_chromium()) GTEST_SKIP() << "chromium or python3-websocket is not installed (scripts/install-deps.sh)";
  Db db("live");
  auto ids = make_edge_studies(*db.storage);
  const int64_t id = db.storage->create_new_study(hone::Direction::kMinimize, "live");
  for (int i = 0; i < 30; ++i)
    add_trial(*db.storage, id, hone::TrialState::kComplete, 1.0 / (i + 1),
              {{"lr", {0.001 * (i + 1), lr_dist()}}, {"optimizer", {static_cast<double>(i % 2), opt_dist()}}},
              {{0, 2.0 / (i + 1)}, {1, 1.0 / (i + 1)}});
  db.storage->create_new_trial(id);  // #30 runs: it reports while the page is open
  const std::string log = db.dir + "/out.log";
  pid_t pid = start({"dashboard", "--storage", db.url, "--port", "0", "--refresh", "0.5", "--log-requests"}, log);
  const std::string url = wait_for(log, R"((http://127\.0\.0\.1:\d+/)\n)");
  ASSERT_FALSE(url.empty()) << read(log);

  // The page opens; once it has drawn its first view (31 trials) the test adds #31 and reports a
  // step of #30, and the page must show both without being reloaded.
  const std::string shot = artifacts() + "/dashboard_live.png";
  const std::string plots = plots_drawn(id, first_views(*db.storage, id));  // single quotes only
  std::string out;
  std::thread browser([&] {
    check_page("'" + url + "#study=" + std::to_string(id) + "&sort=number&order=desc' --timeout 45 --screenshot " +
                   shot + " --expect '#trials tbody tr[data-number]' --ready-js \"document.body.dataset.firstTotal === '31' && "
                   "!!document.querySelector('tr[data-number=\\\"31\\\"]') && "
                   "document.querySelector('tr[data-number=\\\"30\\\"] td:nth-child(5)').textContent === '3' && " +
                   plots + "\"",
               &out);
  });
  const bool opened = !wait_for(log, "GET /api/studies/" + std::to_string(id) + "/trials 200", 45).empty();
  add_trial(*db.storage, id, hone::TrialState::kComplete, 0.001, {{"lr", {0.05, lr_dist()}}, {"optimizer", {0, opt_dist()}}});
  const int64_t running = db.storage->get_trial_id_from_study_id_trial_number(id, 30);
  db.storage->set_trial_intermediate_value(running, 3, 0.5);
  browser.join();
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid, 5), 0);
  EXPECT_TRUE(opened) << read(log);
  EXPECT_NE(out.find("check_page: rendered in"), std::string::npos) << out;
  EXPECT_EQ(out.find("check_page: never"), std::string::npos) << out;
  EXPECT_EQ(out.find("error"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(shot));
  (void)ids;
}

TEST(DashboardBrowser, EdgeStudiesRenderWithoutErrors) {
  if (!have_chromium()) GTEST_SKIP() << "chromium or python3-websocket is not installed (scripts/install-deps.sh)";
  Db db("edges");
  auto ids = make_edge_studies(*db.storage);
  const std::string log = db.dir + "/out.log";
  pid_t pid = start({"dashboard", "--storage", db.url, "--port", "0", "--token", "edge-cases-token"}, log);
  const std::string url = wait_for(log, R"((http://127\.0\.0\.1:\d+/\?token=edge-cases-token)\n)");
  ASSERT_FALSE(url.empty()) << read(log);
  // One browser visits every study in turn (the page follows its #study= hash); for each, what
  // the table must show. A miss is a console.error, which check_page reports.
  const std::string checks = R"JS(
    const rows = document.querySelectorAll('#trials tbody tr[data-number]').length;
    const cells = [...document.querySelectorAll('#trials tbody td')].map((td) => td.textContent);
    const heads = document.querySelectorAll('#trials thead th').length;
    const want = {
      nan: rows === 6 && cells.includes('NaN') && cells.includes('inf'),
      empty: rows === 0 && cells.includes('no trials yet'),
      one: rows === 1 && cells.includes('sgd'),
      wide: rows === 12 && heads === 106,
      conditional: rows === 10 && heads === 10 && cells.includes(''),
    };)JS";
  std::string order = "[", names = "[";
  for (auto& [name, id] : ids) {
    order += std::to_string(id) + ",";
    names += "'" + name + "',";
  }
  order.back() = ']';
  names.back() = ']';
  std::string plots = "[";
  for (auto& [name, id] : ids) plots += "() => " + plots_drawn(id, first_views(*db.storage, id)) + ",";
  plots += "]";
  const std::string ready = "(() => { const plots = " + plots + "; const ids = " + order + ", names = " + names +
                            "; const w = window; w.__i = w.__i || 0;"
                            " if (document.body.dataset.shown !== String(ids[w.__i])) return false;"
                            " if (!plots[w.__i]()) return false;" +
                            checks +
                            " if (!want[names[w.__i]]) console.error('study ' + names[w.__i] + ' drawn wrong: ' + rows + ' rows, ' + heads + ' columns');"
                            " if (++w.__i >= ids.length) return true;"
                            " location.hash = 'study=' + ids[w.__i]; return false; })()";
  std::string script_file = db.dir + "/ready.js";
  hone_cli_test::write(script_file, ready);
  std::string out;
  const int rc = check_page("'" + url + "#study=" + std::to_string(ids.begin()->second) + "' --timeout 45 --screenshot " +
                                artifacts() + "/dashboard_edges.png --ready-js \"$(cat " + script_file + ")\"",
                            &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("check_page: never"), std::string::npos) << out;
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid, 5), 0);
}

}  // namespace
