#include "cli/commands.h"

#include <CLI/CLI.hpp>

namespace hone::cli {

bool Command::parsed() const { return sub_ && sub_->parsed(); }

std::vector<std::unique_ptr<Command>> make_commands() {
  std::vector<std::unique_ptr<Command>> v;
  v.push_back(make_tune_command());
  v.push_back(make_worker_command());
  v.push_back(make_train_command());
  v.push_back(make_eval_command());
  v.push_back(make_predict_command());
  v.push_back(make_studies_command());
  v.push_back(make_dashboard_command());
  v.push_back(make_report_command());
  v.push_back(make_machine_command());
  v.push_back(make_estimate_command());
  v.push_back(make_profile_command());
  v.push_back(make_autotune_command());
  v.push_back(make_lr_find_command());
  v.push_back(make_batch_find_command());
  v.push_back(make_doctor_command());
  v.push_back(make_plan_command());
  return v;
}

}  // namespace hone::cli
