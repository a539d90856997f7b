#include "cli/progress.h"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

namespace hone::cli {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string format_epoch(int epoch, int epochs, const Logs& logs) {
  std::string s = fmt::format("epoch {}/{}", epoch + 1, epochs);
  static const char* order[] = {"loss", "accuracy", "val_loss", "val_accuracy"};
  for (const char* k : order) {
    auto it = logs.find(k);
    if (it != logs.end()) s += fmt::format("  {} {:.4f}", k, it->second);
  }
  for (const auto& [k, v] : logs) {
    bool skip = k == "epoch" || k == "lr" || k == "time_s" || k == "samples_per_s";
    for (const char* o : order) skip = skip || k == o;
    if (!skip) s += fmt::format("  {} {:.4f}", k, v);
  }
  if (logs.count("lr")) s += fmt::format("  lr {:.3g}", logs.at("lr"));
  if (logs.count("samples_per_s")) s += fmt::format("  {:.0f} samples/s", logs.at("samples_per_s"));
  if (logs.count("time_s")) s += fmt::format("  {:.1f}s", logs.at("time_s"));
  return s;
}

ProgressBar::ProgressBar(int epochs, std::FILE* out, bool quiet)
    : epochs_(epochs), out_(out), tty_(isatty(fileno(out)) != 0), quiet_(quiet) {}

void ProgressBar::on_epoch_begin(Trainer& t, int epoch) {
  epoch_ = epoch;
  loss_avg_ = 0;
  batch_size_ = t.options().batch_size;
  epoch_start_ = last_draw_ = Clock::now();
}

void ProgressBar::on_batch_end(Trainer& t, int64_t batch, int64_t batches, double loss) {
  loss_avg_ += (loss - loss_avg_) / static_cast<double>(batch + 1);
  if (!tty_ || quiet_) return;
  auto now = Clock::now();
  if (batch + 1 < batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double el = std::chrono::duration<double>(now - epoch_start_).count();
  const double frac = static_cast<double>(batch + 1) / static_cast<double>(batches);
  const int width = 24;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  const double rate = batch_size_ > 0 ? static_cast<double>((batch + 1) * batch_size_) / std::max(el, 1e-9) : 0;
  const double eta = el / frac * (1 - frac);
  std::fprintf(out_, "\r\033[Kepoch %d/%d [%s] %lld/%lld  loss %.4f  %.0f samples/s  ETA %s", epoch_ + 1,
               epochs_, bar.c_str(), static_cast<long long>(batch + 1), static_cast<long long>(batches),
               loss_avg_, rate, format_duration(eta).c_str());
  std::fflush(out_);
  bar_shown_ = true;
}

void ProgressBar::message(const std::string& msg) {
  if (bar_shown_) std::fputs("\r\033[K", out_);
  bar_shown_ = false;
  std::fprintf(out_, "%s\n", msg.c_str());
  std::fflush(out_);
}

bool ProgressBar::on_epoch_end(Trainer&, int epoch, Logs& logs) {
  if (!quiet_) message(format_epoch(epoch, epochs_, logs));
  return false;
}

void ProgressBar::on_train_end(Trainer&) {
  if (bar_shown_) std::fputs("\r\033[K", out_);
  bar_shown_ = false;
}

}  // namespace hone::cli
