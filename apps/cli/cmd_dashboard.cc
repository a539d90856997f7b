// hone dashboard [--storage URL] [--host H] [--port P] [--token T] — a live view of every study in a
// storage in the browser, updating as workers report (hone/dashboard.h). Read-only; listens on
// 127.0.0.1 unless told otherwise, and any other address needs a token (one is generated and
// printed once when none is given). Ctrl-C (or SIGTERM) stops it with exit code 0.
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "hone/dashboard.h"
#include "hone/error.h"
#include "hone/store.h"
#include "hone/study_runner.h"

namespace hone::cli {

namespace {

class DashboardCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("dashboard", "Live view of every study in a storage, in the browser (read-only)");
    sub_->add_option("--storage", storage_, "Storage URL: sqlite:///file.db or postgresql://...")
        ->default_val(kDefaultStudyStorage);
    sub_->add_option("--host", host_, "Address to listen on (another than 127.0.0.1/localhost needs a token)")
        ->default_val("127.0.0.1");
    sub_->add_option("--port", port_, "Port (0 = any free one, printed)")->default_val("8080");
    sub_->add_option("--token", token_,
                     "Access token: requests without it get 401 (default: none on 127.0.0.1, a random one printed "
                     "once on other addresses)");
    sub_->add_option("--refresh", refresh_s_, "Seconds between the page's updates")->default_val(2);
    sub_->add_flag("--log-requests", log_, "Print one line per request (method, path, status, milliseconds)");
  }

  int run() override {
    int port = -1;
    auto [end, ec] = std::from_chars(port_.data(), port_.data() + port_.size(), port);
    if (ec != std::errc() || end != port_.data() + port_.size() || port < 0 || port > 65535)
      throw_invalid("dashboard: --port must be an integer in 0..65535 (got \"" + port_ + "\")");
    if (!(refresh_s_ >= 0.2)) throw_invalid("dashboard: --refresh must be at least 0.2 seconds");
    const std::string url = normalize_storage_url(storage_);
    if (is_private_storage(url))
      throw_invalid("dashboard: --storage " + storage_ + " is this process's memory, which holds no study; give a "
                    "sqlite:/// file or a postgresql:// URL");
    // Reading must not create a database: a SQLite file has to exist already.
    const std::string file = sqlite_file_of(url);
    if (!file.empty() && !std::filesystem::is_regular_file(file))
      throw_invalid("dashboard: no SQLite storage at " + file + " (give --storage with the URL `hone tune` used)");
    auto storage = open_existing_storage(url);  // creates no file, table or schema (PostgreSQL too)
    std::function<void(const std::string&)> access_log;  // null: no log
    if (log_)
      access_log = [](const std::string& line) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      };
    report::DashboardOptions o{.host = host_, .port = port, .token = token_, .refresh_s = refresh_s_,
                               .storage_label = mask_storage_url(url), .access_log = std::move(access_log)};
    report::Dashboard dash(storage, std::move(o));
    std::printf("hone dashboard: %s at %s\n", mask_storage_url(url).c_str(), dash.url().c_str());
    if (dash.token_generated())
      std::printf("hone dashboard: %s is not a loopback address, so requests need the token generated for this run "
                  "(in the URL above; also as \"Authorization: Bearer TOKEN\"); --token sets your own\n",
                  host_.c_str());
    std::printf("hone dashboard: read-only; Ctrl-C stops\n");
    std::fflush(stdout);
    std::signal(SIGPIPE, SIG_IGN);  // a browser that goes away mid-answer is not a reason to exit
    dash.run(install_interrupt_handler());
    std::printf("hone dashboard: stopped\n");
    return 0;
  }

 private:
  std::string storage_ = kDefaultStudyStorage, host_ = "127.0.0.1", port_ = "8080", token_;
  double refresh_s_ = 2;
  bool log_ = false;
};

}  // namespace

std::unique_ptr<Command> make_dashboard_command() { return std::make_unique<DashboardCommand>(); }

}  // namespace hone::cli
