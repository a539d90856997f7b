// Terminal progress for training runs: a redrawn bar on a terminal (epoch, batch, loss, samples/s,
// ETA), and one plain line per epoch when the output is not a terminal.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "hone/trainer.h"

namespace hone::cli {

class ProgressBar : public Callback {
 public:
  ProgressBar(int epochs, std::FILE* out, bool quiet);
  void on_epoch_begin(Trainer&, int epoch) override;
  void on_batch_end(Trainer&, int64_t batch, int64_t batches, double loss) override;
  bool on_epoch_end(Trainer&, int epoch, Logs& logs) override;
  void on_train_end(Trainer&) override;
  // Prints a message on its own line (clearing the bar first).
  void message(const std::string& msg);

 private:
  using Clock = std::chrono::steady_clock;
  int epochs_;
  std::FILE* out_;
  bool tty_, quiet_, bar_shown_ = false;
  int epoch_ = 0;
  int64_t batch_size_ = 0;
  double loss_avg_ = 0;
  Clock::time_point epoch_start_, last_draw_;
};

// "epoch 3/10  loss 0.4123  accuracy 0.8612  val_loss ..." from an epoch's logs.
std::string format_epoch(int epoch, int epochs, const Logs& logs);
std::string format_duration(double seconds);

}  // namespace hone::cli
