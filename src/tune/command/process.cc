#include "tune/command/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "hone/error.h"
#include "hone/tune/command.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace hone {

using command_detail::ReportFn;
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
  StdoutParser(LogFile& log, RunOutcome& out, const ReportFn& on_report)
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
      if (!prune_ && on_report_ && on_report_(step, m->value)) prune_ = true;
    } else if (m) {
      out_.result = m->value;
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
  const ReportFn& on_report_;
  std::string line_;
  bool overlong_ = false, prune_ = false;
  int64_t next_step_ = 0;
};

using SteadyClock = std::chrono::steady_clock;

int ms_until(SteadyClock::time_point t) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(d + 1, 0, 1 << 30));
}

// The child, between fork and exec: async-signal-safe calls only (hone is multithreaded).
[[noreturn]] void child_fail(int fd, int stage) {
  int msg[2] = {stage, errno};
  ssize_t w = ::write(fd, msg, sizeof msg);
  (void)w;
  _exit(127);
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
  if (argv0.empty()) return "";
  if (argv0.find('/') != std::string::npos) return argv0;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + argv0;
    struct stat st;
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return "";
}

RunOutcome run_process(const SpawnRequest& req, const RunLimits& limits, const ReportFn& on_report) {
  RunOutcome out;
  const auto t0 = SteadyClock::now();
  if (req.argv.empty()) {
    out.cause = EndCause::kSpawnFailed;
    out.error = "empty command";
    return out;
  }
  const std::string program = resolve_program(req.argv[0], req.env);
  if (program.empty()) {
    out.cause = EndCause::kSpawnFailed;
    out.error = "cannot run \"" + req.argv[0] + "\": not found in PATH";
    return out;
  }
  LogFile out_log(req.stdout_log, req.log_limit_bytes), err_log(req.stderr_log, req.log_limit_bytes);

  // Everything the child needs is built before fork: after it only syscalls are allowed.
  std::vector<char*> argv, envp;
  for (const auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : req.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  // O_CLOEXEC everywhere: trials started by other threads must not inherit our pipe ends.
  int p_out[2], p_err[2], p_exec[2];
  if (::pipe2(p_out, O_CLOEXEC) != 0) throw_runtime(std::string("pipe: ") + std::strerror(errno));
  Fd out_r(p_out[0]), out_w(p_out[1]);
  if (::pipe2(p_err, O_CLOEXEC) != 0) throw_runtime(std::string("pipe: ") + std::strerror(errno));
  Fd err_r(p_err[0]), err_w(p_err[1]);
  if (::pipe2(p_exec, O_CLOEXEC) != 0) throw_runtime(std::string("pipe: ") + std::strerror(errno));
  Fd exec_r(p_exec[0]), exec_w(p_exec[1]);
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const pid_t parent = ::getpid();
  const char* cwd = req.cwd.empty() ? nullptr : req.cwd.c_str();

  const pid_t pid = ::fork();
  if (pid < 0) throw_runtime(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group: one kill(-pgid) reaches its children too
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // backstop: dies with hone even if hone is SIGKILLed
    if (::getppid() != parent) _exit(127);
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &sa, nullptr);  // hone's handlers/ignores off
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (devnull.get() >= 0) ::dup2(devnull.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    if (cwd && ::chdir(cwd) != 0) child_fail(exec_w.get(), 1);
    ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    ::execve(program.c_str(), argv.data(), envp.data());
    child_fail(exec_w.get(), 2);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before we may signal it
  const int slot = register_group(pid);
  out_w.reset();
  err_w.reset();
  exec_w.reset();
  devnull.reset();

  // Whatever happens from here on (an exception from the pruner or the storage included), the
  // group is killed and the child reaped before we return.
  struct Reaper {
    pid_t pid;
    int slot;
    bool done = false;
    void reap(int* status) {
      while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
      }
      if (slot >= 0) g_groups[slot].store(0);
      done = true;
    }
    ~Reaper() {
      if (done) return;
      ::kill(-pid, SIGKILL);
      int status;
      reap(&status);
    }
  } reaper{pid, slot};
  auto reap = [&](int* status) { reaper.reap(status); };
  {  // exec succeeded iff the close-on-exec pipe reaches EOF without a message
    int msg[2] = {0, 0};
    ssize_t n;
    do n = ::read(exec_r.get(), msg, sizeof msg);
    while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof msg)) {
      int status;
      reap(&status);
      out.cause = EndCause::kSpawnFailed;
      out.error = msg[0] == 1 ? "cannot change to directory \"" + req.cwd + "\": " + std::strerror(msg[1])
                              : "cannot execute \"" + program + "\": " + std::strerror(msg[1]);
      out.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
      return out;
    }
  }
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
  // A pidfd turns "the child exited" into a poll event; without one (kernel < 5.3) we poll
  // with a short timeout and ask waitid.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  StdoutParser parser(out_log, out, on_report);
  std::string& tail = out.stderr_tail;
  char buf[64 << 10];
  // Reads what is there now; returns false at EOF.
  auto read_some = [&](Fd& fd, bool is_stdout) {
    while (true) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n > 0) {
        if (is_stdout) {
          parser.feed(buf, static_cast<size_t>(n));
        } else {
          err_log.write(buf, static_cast<size_t>(n));
          tail.append(buf, static_cast<size_t>(n));
          if (tail.size() > (16 << 10)) tail.erase(0, tail.size() - (8 << 10));
        }
        if (static_cast<size_t>(n) < sizeof buf) return true;
        continue;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return true;  // EAGAIN
    }
  };

  const bool has_timeout = limits.timeout_s > 0;
  const auto deadline = t0 + std::chrono::microseconds(static_cast<int64_t>(limits.timeout_s * 1e6));
  bool term_sent = false, kill_sent = false, exited = false;
  EndCause kill_cause = EndCause::kExited;
  SteadyClock::time_point kill_at;
  auto start_kill = [&](EndCause why) {
    kill_cause = why;
    term_sent = true;
    ::kill(-pid, SIGTERM);
    kill_at = SteadyClock::now() + std::chrono::microseconds(static_cast<int64_t>(limits.kill_grace_s * 1e6));
  };
  while (!exited) {
    const auto now = SteadyClock::now();
    if (!term_sent) {
      if (parser.prune_requested()) start_kill(EndCause::kPruned);
      else if (limits.stop && limits.stop->load()) start_kill(EndCause::kInterrupted);
      else if (has_timeout && now >= deadline) start_kill(EndCause::kTimedOut);
    }
    if (term_sent && !kill_sent && SteadyClock::now() >= kill_at) {
      ::kill(-pid, SIGKILL);
      kill_sent = true;
    }
    int ms = -1;
    auto cap = [&](int v) { ms = ms < 0 ? v : std::min(ms, v); };
    if (has_timeout && !term_sent) cap(ms_until(deadline));
    if (term_sent && !kill_sent) cap(ms_until(kill_at));
    if (limits.stop && !term_sent) cap(100);  // the stop flag has no fd: look at it 10x a second
    if (pidfd.get() < 0) cap(20);
    pollfd fds[3];
    int nfds = 0, i_out = -1, i_err = -1, i_pid = -1;
    if (out_r.get() >= 0) fds[i_out = nfds++] = {out_r.get(), POLLIN, 0};
    if (err_r.get() >= 0) fds[i_err = nfds++] = {err_r.get(), POLLIN, 0};
    if (pidfd.get() >= 0) fds[i_pid = nfds++] = {pidfd.get(), POLLIN, 0};
    int r = ::poll(fds, static_cast<nfds_t>(nfds), ms);
    if (r < 0 && errno != EINTR) throw_runtime(std::string("poll: ") + std::strerror(errno));
    if (r > 0) {
      if (i_out >= 0 && fds[i_out].revents && !read_some(out_r, true)) out_r.reset();
      if (i_err >= 0 && fds[i_err].revents && !read_some(err_r, false)) err_r.reset();
    }
    if (i_pid < 0 || (r > 0 && fds[i_pid].revents)) {
      siginfo_t info;
      info.si_pid = 0;
      // WNOWAIT: the exited leader stays a zombie, so its pid (= the group id) cannot be reused
      // before we have killed the rest of its group below.
      exited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
    }
  }
  ::kill(-pid, SIGKILL);  // children that outlived it
  if (out_r.get() >= 0) read_some(out_r, true);
  if (err_r.get() >= 0) read_some(err_r, false);
  parser.finish();
  int status = 0;
  reap(&status);
  out.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  if (term_sent) out.cause = kill_cause;
  else out.cause = WIFSIGNALED(status) ? EndCause::kSignaled : EndCause::kExited;
  if (tail.size() > (8 << 10)) tail.erase(0, tail.size() - (8 << 10));
  return out;
}

}  // namespace command_detail
}  // namespace hone
