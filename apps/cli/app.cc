#include "cli/app.h"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <new>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "hone/error.h"
#include "hone/tune/command.h"

namespace hone::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_sigint(int) {
  if (g_stop.load()) {  // a second Ctrl-C: stop now, taking external trials' process groups along
    kill_running_commands();
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
  g_stop.store(true);
}

void print_error(const char* what, const char* tail = "") {
  std::fprintf(stderr, "hone: error: %s%s\n", one_line(what ? what : "").c_str(), tail);  // hone/error.h
}

}  // namespace

const std::atomic<bool>* install_interrupt_handler() {
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  return &g_stop;
}

int run(int argc, char** argv) {
  CLI::App app{"hone — tune, train and diagnose models from one native binary", "hone"};
  app.set_version_flag("--version", std::string("hone ") + HONE_VERSION);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  std::vector<std::unique_ptr<Command>> commands = make_commands();
  for (auto& c : commands) c->add_to(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(e.what(), " (hone --help shows the usage)");
    return 2;
  }
  try {
    for (auto& c : commands)
      if (c->parsed()) return c->run();
    return 2;
  } catch (const Error& e) {
    print_error(e.what());
    return e.exit_code();
  } catch (const nlohmann::json::exception& e) {
    print_error(e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return 1;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
}

}  // namespace hone::cli
