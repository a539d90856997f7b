#include "objective/worker_pool.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/spawn.h"
#include "hone/error.h"

namespace hone::objective_detail {

std::string WorkerPool::Exit::describe() const {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

bool WorkerPool::Exit::clean() const {
  return WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 130);
}

WorkerPool::WorkerPool(const std::string& exe, int count, const std::vector<std::string>& args,
                       const std::string& log_dir, const std::vector<std::string>& env) {
  cpu_set_t all;
  CPU_ZERO(&all);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(all), &all) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &all)) cpus.push_back(c);
  share_ = cpus.empty() ? 1 : std::max(1, static_cast<int>(cpus.size()) / count);
  core_detail::ChildSpec spec;
  spec.program = exe;
  spec.argv = {"hone"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  if (!env.empty()) {  // this process's environment, `env` overriding it
    spec.inherit_env = false;
    for (char** e = environ; e && *e; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('=') + 1);
      if (std::none_of(env.begin(), env.end(), [&](const std::string& x) { return x.rfind(key, 0) == 0; }))
        spec.env.push_back(kv);
    }
    spec.env.insert(spec.env.end(), env.begin(), env.end());
  }
  for (int i = 0; i < count; ++i) {
    const std::string log = log_dir + "/worker-" + std::to_string(i) + ".log";
    spec.cpus.clear();
    if (static_cast<int>(cpus.size()) >= count) {  // worker i: cores [i*share, (i+1)*share), the last the rest
      const size_t lo = static_cast<size_t>(i * share_);
      const size_t hi = i == count - 1 ? cpus.size() : lo + static_cast<size_t>(share_);
      spec.cpus.assign(cpus.begin() + static_cast<std::ptrdiff_t>(lo), cpus.begin() + static_cast<std::ptrdiff_t>(hi));
    }
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    spec.stdout_fd = spec.stderr_fd = fd;
    core_detail::Spawned child;
    std::string error;
    try {
      child = core_detail::spawn_child(spec);
      error = child.error;
    } catch (const Error& e) {
      error = e.what();
    }
    if (fd >= 0) ::close(fd);
    if (child.pid < 0) {
      signal_all(SIGKILL);
      while (!all_exited()) reap();
      throw_runtime("cannot start a worker process: " + error);
    }
    pids_.push_back(child.pid);
    done_.push_back(false);
    logs_.push_back(log);
    ++running_;
  }
}

WorkerPool::~WorkerPool() {
  signal_all(SIGKILL);
  for (size_t i = 0; i < pids_.size(); ++i)
    if (!done_[i]) {
      int st;
      while (waitpid(pids_[i], &st, 0) < 0 && errno == EINTR) {
      }
    }
}

std::vector<WorkerPool::Exit> WorkerPool::reap() {
  std::vector<Exit> out;
  for (size_t i = 0; i < pids_.size(); ++i) {
    if (done_[i]) continue;
    int st = 0;
    pid_t r = waitpid(pids_[i], &st, WNOHANG);
    if (r == pids_[i]) {
      done_[i] = true;
      --running_;
      out.push_back(Exit{static_cast<int>(i), pids_[i], st, logs_[i]});
    }
  }
  return out;
}

void WorkerPool::signal_all(int sig) {
  for (size_t i = 0; i < pids_.size(); ++i)
    if (!done_[i]) kill(pids_[i], sig);
}

std::string last_line(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line)) {
    // A terminal status line may hold carriage returns: keep the text after the last one.
    auto cr = line.rfind('\r');
    if (cr != std::string::npos) line = line.substr(cr + 1);
    if (line.find_first_not_of(" \t") != std::string::npos) last = line;
  }
  return last;
}

}  // namespace hone::objective_detail
