#include "tune/command/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "hone/error.h"
#include "core/spawn.h"
#include "hone/tune/command.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace hone {

using command_detail::ReportFn;
using command_detail::VectorReportFn;
using command_detail::RunOutcome;

namespace {

// Process groups of running trials, for kill_running_commands(): plain atomics in a fixed table
// so that a signal handler may walk it.
constexpr int kSlots = 1024;
std::atomic<pid_t> g_groups[kSlots];

int register_group(pid_t pg) {
  for (int i = 0; i < kSlots; ++i) {
    pid_t expected = 0;
    if (g_groups[i].compare_exchange_strong(expected, pg)) return i;
  }
  return -1;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A log file with a size cap: past the cap, output is dropped and one note says so.
class LogFile {
 public:
  LogFile(const std::string& path, int64_t limit) : limit_(limit) {
    if (!path.empty()) {
      f_ = std::fopen(path.c_str(), "we");
      if (!f_) throw_io("cannot write " + path + ": " + std::strerror(errno));
    }
  }
  ~LogFile() {
    if (f_) std::fclose(f_);
  }
  void write(const char* p, size_t n) {
    if (!f_ || truncated_) return;
    if (written_ + static_cast<int64_t>(n) > limit_) {
      const size_t keep = static_cast<size_t>(std::max<int64_t>(0, limit_ - written_));
      std::fwrite(p, 1, keep, f_);
      std::fprintf(f_, "\n[hone] log truncated at %lld bytes (objective.log_limit)\n", static_cast<long long>(limit_));
      truncated_ = true;
      return;
    }
    std::fwrite(p, 1, n, f_);
    written_ += static_cast<int64_t>(n);
  }
  void write(const std::string& s) { write(s.data(), s.size()); }

 private:
  std::FILE* f_ = nullptr;
  int64_t limit_, written_ = 0;
  bool truncated_ = false;
};

// Splits stdout into lines, applies the metric protocol, logs every other line. Memory is
// bounded: a line longer than kMaxLine is logged in pieces and never parsed.
class StdoutParser {
 public:
  static constexpr size_t kMaxLine = 64 << 10;
  StdoutParser(LogFile& log, RunOutcome& out, const VectorReportFn& on_report)
      : log_(log), out_(out), on_report_(on_report) {}

  void feed(const char* p, size_t n) {
    while (n > 0) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', n));
      const size_t len = nl ? static_cast<size_t>(nl - p) : n;
      if (overlong_) {
        log_.write(p, nl ? len + 1 : len);
        if (nl) overlong_ = false;
      } else {
        line_.append(p, len);
        if (nl) {
          line_done();
        } else if (line_.size() > kMaxLine) {
          log_.write(line_);
          line_.clear();
          overlong_ = true;
        }
      }
      if (!nl) break;
      p += len + 1;
      n -= len + 1;
    }
  }
  // End of output: a last line without '\n' still counts.
  void finish() {
    if (!line_.empty() && !overlong_) line_done();
  }
  bool prune_requested() const { return prune_; }

 private:
  void line_done() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    bool malformed = false;
    auto m = parse_metric_line(line_, &malformed);
    if (m && m->kind == MetricLine::Kind::kReport) {
      const int64_t step = m->step.value_or(next_step_);
      next_step_ = step + 1;
      ++out_.reports;
      if (!prune_ && on_report_ && on_report_(step, m->values.empty() ? std::vector<double>{m->value} : m->values))
        prune_ = true;
    } else if (m && m->kind == MetricLine::Kind::kResult) {
      out_.result = m->values;
    } else if (m && m->kind == MetricLine::Kind::kConstraints) {
      out_.constraints = m->values;
    } else if (m) {
      out_.metrics[m->name] = m->value;
    } else {
      if (malformed) {
        out_.malformed = line_.substr(0, 200);
        log_.write("[hone] ignored malformed protocol line: ");
      }
      line_.push_back('\n');
      log_.write(line_);
    }
    line_.clear();
  }

  LogFile& log_;
  RunOutcome& out_;
  const VectorReportFn& on_report_;
  std::string line_;
  bool overlong_ = false, prune_ = false;
  int64_t next_step_ = 0;
};

using SteadyClock = std::chrono::steady_clock;

int ms_until(SteadyClock::time_point t) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(d + 1, 0, 1 << 30));
}

}  // namespace

void kill_running_commands() {
  for (auto& g : g_groups) {
    pid_t pg = g.load();
    if (pg > 0) ::kill(-pg, SIGKILL);
  }
}

namespace command_detail {

std::string resolve_program(const std::string& argv0, const std::vector<std::string>& env) {
  std::string path;
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  return core_detail::resolve_program(argv0, path);
}

namespace {

// Kills the child's group and reaps the child, whatever happens (an exception from the pruner
// or the storage included), and takes it out of kill_running_commands' table.
class Reaper {
 public:
  explicit Reaper(pid_t pid) : pid_(pid), slot_(register_group(pid)) {}
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;
  ~Reaper() {
    if (done_) return;
    ::kill(-pid_, SIGKILL);
    int status;
    reap(&status);
  }
  void reap(int* status) {
    while (::waitpid(pid_, status, 0) < 0 && errno == EINTR) {
    }
    if (slot_ >= 0) g_groups[slot_].store(0);
    done_ = true;
  }

 private:
  pid_t pid_;
  int slot_;
  bool done_ = false;
};

// Both output pipes of a running child, read without blocking: stdout through the protocol
// parser into its log, stderr into its log and a bounded tail.
class ChildOutput {
 public:
  ChildOutput(Fd out, Fd err, StdoutParser& parser, LogFile& err_log, std::string& tail)
      : out_(std::move(out)), err_(std::move(err)), parser_(parser), err_log_(err_log), tail_(tail) {
    ::fcntl(out_.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(err_.get(), F_SETFL, O_NONBLOCK);
  }
  // Adds the open pipes to `fds`; returns their indexes (-1: closed).
  std::pair<int, int> add_to(pollfd* fds, int& nfds) const {
    int i_out = -1, i_err = -1;
    if (out_.get() >= 0) fds[i_out = nfds++] = {out_.get(), POLLIN, 0};
    if (err_.get() >= 0) fds[i_err = nfds++] = {err_.get(), POLLIN, 0};
    return {i_out, i_err};
  }
  void on_ready(bool out_ready, bool err_ready) {
    if (out_ready && !read_some(out_, true)) out_.reset();
    if (err_ready && !read_some(err_, false)) err_.reset();
  }
  // What is left in the pipes once the child is gone.
  void drain() {
    if (out_.get() >= 0) read_some(out_, true);
    if (err_.get() >= 0) read_some(err_, false);
    parser_.finish();
  }

 private:
  // Reads what is there now; returns false at EOF.
  bool read_some(Fd& fd, bool is_stdout) {
    while (true) {
      ssize_t n = ::read(fd.get(), buf_, sizeof buf_);
      if (n > 0) {
        if (is_stdout) {
          parser_.feed(buf_, static_cast<size_t>(n));
        } else {
          err_log_.write(buf_, static_cast<size_t>(n));
          tail_.append(buf_, static_cast<size_t>(n));
          if (tail_.size() > (16 << 10)) tail_.erase(0, tail_.size() - (8 << 10));
        }
        if (static_cast<size_t>(n) < sizeof buf_) return true;
        continue;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return true;  // EAGAIN
    }
  }

  Fd out_, err_;
  StdoutParser& parser_;
  LogFile& err_log_;
  std::string& tail_;
  char buf_[64 << 10];
};

// The escalation of a stop: SIGTERM to the group, SIGKILL kill_grace_s later.
struct KillPlan {
  bool term_sent = false, kill_sent = false;
  EndCause cause = EndCause::kExited;
  SteadyClock::time_point kill_at;
};

// Watches the child until it exits: reads its output, and starts killing its group when the
// pruner, the stop flag or the timeout says so. Returns how the kill went (nothing sent: it
// ended by itself).
KillPlan watch_child(pid_t pid, ChildOutput& output, const StdoutParser& parser, const RunLimits& limits,
                     SteadyClock::time_point t0) {
  // A pidfd turns "the child exited" into a poll event; without one (kernel < 5.3) we poll
  // with a short timeout and ask waitid.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  const bool has_timeout = limits.timeout_s > 0;
  const auto deadline = t0 + std::chrono::microseconds(static_cast<int64_t>(limits.timeout_s * 1e6));
  KillPlan k;
  auto start_kill = [&](EndCause why) {
    k.cause = why;
    k.term_sent = true;
    ::kill(-pid, SIGTERM);
    k.kill_at = SteadyClock::now() + std::chrono::microseconds(static_cast<int64_t>(limits.kill_grace_s * 1e6));
  };
  bool exited = false;
  while (!exited) {
    const auto now = SteadyClock::now();
    if (!k.term_sent) {
      if (parser.prune_requested()) start_kill(EndCause::kPruned);
      else if (limits.stop && limits.stop->load()) start_kill(EndCause::kInterrupted);
      else if (has_timeout && now >= deadline) start_kill(EndCause::kTimedOut);
    }
    if (k.term_sent && !k.kill_sent && SteadyClock::now() >= k.kill_at) {
      ::kill(-pid, SIGKILL);
      k.kill_sent = true;
    }
    int ms = -1;
    auto cap = [&](int v) { ms = ms < 0 ? v : std::min(ms, v); };
    if (has_timeout && !k.term_sent) cap(ms_until(deadline));
    if (k.term_sent && !k.kill_sent) cap(ms_until(k.kill_at));
    if (limits.stop && !k.term_sent) cap(100);  // the stop flag has no fd: look at it 10x a second
    if (pidfd.get() < 0) cap(20);
    pollfd fds[3];
    int nfds = 0;
    const auto [i_out, i_err] = output.add_to(fds, nfds);
    const int i_pid = pidfd.get() >= 0 ? nfds++ : -1;
    if (i_pid >= 0) fds[i_pid] = {pidfd.get(), POLLIN, 0};
    const int r = ::poll(fds, static_cast<nfds_t>(nfds), ms);
    if (r < 0 && errno != EINTR) throw_runtime(std::string("poll: ") + std::strerror(errno));
    if (r > 0) output.on_ready(i_out >= 0 && fds[i_out].revents, i_err >= 0 && fds[i_err].revents);
    if (i_pid < 0 || (r > 0 && fds[i_pid].revents)) {
      siginfo_t info;
      info.si_pid = 0;
      // WNOWAIT: the exited leader stays a zombie, so its pid (= the group id) cannot be reused
      // before we have killed the rest of its group.
      exited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
    }
  }
  return k;
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

}  // namespace

RunOutcome run_process(const SpawnRequest& req, const RunLimits& limits, const ReportFn& on_report) {
  if (!on_report) return run_process(req, limits, VectorReportFn{});
  return run_process(req, limits, VectorReportFn([&](int64_t step, const std::vector<double>& v) {
                       return on_report(step, v.front());
                     }));
}

RunOutcome run_process(const SpawnRequest& req, const RunLimits& limits, const VectorReportFn& on_report) {
  RunOutcome out;
  const auto t0 = SteadyClock::now();
  auto spawn_failed = [&](std::string why) {
    out.cause = EndCause::kSpawnFailed;
    out.error = std::move(why);
    out.seconds = seconds_since(t0);
    return out;
  };
  if (req.argv.empty()) return spawn_failed("empty command");
  core_detail::ChildSpec spec;
  spec.program = resolve_program(req.argv[0], req.env);
  if (spec.program.empty()) return spawn_failed("cannot run \"" + req.argv[0] + "\": not found in PATH");
  LogFile out_log(req.stdout_log, req.log_limit_bytes), err_log(req.stderr_log, req.log_limit_bytes);
  // O_CLOEXEC everywhere: trials started by other threads must not inherit our pipe ends.
  int p_out[2], p_err[2];
  if (::pipe2(p_out, O_CLOEXEC) != 0) throw_runtime(std::string("pipe: ") + std::strerror(errno));
  Fd out_r(p_out[0]), out_w(p_out[1]);
  if (::pipe2(p_err, O_CLOEXEC) != 0) throw_runtime(std::string("pipe: ") + std::strerror(errno));
  Fd err_r(p_err[0]), err_w(p_err[1]);
  spec.argv = req.argv;
  spec.inherit_env = false;
  spec.env = req.env;
  spec.cwd = req.cwd;
  spec.stdout_fd = out_w.get();
  spec.stderr_fd = err_w.get();
  const core_detail::Spawned child = core_detail::spawn_child(spec);
  if (child.pid < 0) return spawn_failed(child.error);
  Reaper reaper(child.pid);
  out_w.reset();
  err_w.reset();

  StdoutParser parser(out_log, out, on_report);
  ChildOutput output(std::move(out_r), std::move(err_r), parser, err_log, out.stderr_tail);
  const KillPlan k = watch_child(child.pid, output, parser, limits, t0);
  ::kill(-child.pid, SIGKILL);  // children that outlived it
  output.drain();
  int status = 0;
  reaper.reap(&status);
  out.seconds = seconds_since(t0);
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  if (k.term_sent) out.cause = k.cause;
  else out.cause = WIFSIGNALED(status) ? EndCause::kSignaled : EndCause::kExited;
  std::string& tail = out.stderr_tail;
  if (tail.size() > (8 << 10)) tail.erase(0, tail.size() - (8 << 10));
  return out;
}

}  // namespace command_detail
}  // namespace hone
