// One class per subcommand; each adds its options to the CLI11 app and runs when parsed.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace hone::cli {

class Command {
 public:
  virtual ~Command() = default;
  virtual void add_to(CLI::App& app) = 0;
  bool parsed() const;
  // Returns the process exit code; throws hone::Error for failures (mapped by run()).
  virtual int run() = 0;

 protected:
  CLI::App* sub_ = nullptr;
};

std::vector<std::unique_ptr<Command>> make_commands();

// SIGINT/SIGTERM set the returned flag (a second Ctrl-C kills at once).
const std::atomic<bool>* install_interrupt_handler();

// Each subcommand's factory (apps/cli/cmd_*.cc).
std::unique_ptr<Command> make_train_command();
std::unique_ptr<Command> make_eval_command();
std::unique_ptr<Command> make_predict_command();
std::unique_ptr<Command> make_tune_command();
std::unique_ptr<Command> make_studies_command();
std::unique_ptr<Command> make_worker_command();
std::unique_ptr<Command> make_dashboard_command();
std::unique_ptr<Command> make_report_command();
// apps/cli/cmd_hw.cc: machine, estimate, profile, autotune.
std::unique_ptr<Command> make_machine_command();
std::unique_ptr<Command> make_estimate_command();
std::unique_ptr<Command> make_profile_command();
std::unique_ptr<Command> make_autotune_command();
// apps/cli/cmd_find.cc: lr-find, batch-find.
std::unique_ptr<Command> make_lr_find_command();
std::unique_ptr<Command> make_batch_find_command();
// apps/cli/cmd_doctor.cc
std::unique_ptr<Command> make_doctor_command();
// apps/cli/cmd_plan.cc: goals -> methods -> studies -> the goal table.
std::unique_ptr<Command> make_plan_command();

}  // namespace hone::cli
