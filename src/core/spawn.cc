#include "core/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hone/error.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace hone::core_detail {

namespace {

enum Stage : int { kChdir = 1, kExec = 2 };

// Reports the failed stage and errno through the close-on-exec pipe, then exits.
[[noreturn]] void child_fail(int fd, int stage) {
  int msg[2] = {stage, errno};
  ssize_t w = ::write(fd, msg, sizeof msg);
  (void)w;
  _exit(127);
}

// The child's side, between fork and exec: async-signal-safe calls only.
[[noreturn]] void become_child(const ChildSpec& spec, pid_t parent, int exec_fd, int devnull, char* const* argv,
                               char* const* envp, const cpu_set_t* cpus) {
  ::setpgid(0, 0);                     // its own group: one kill(-pgid) reaches its children too
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with hone, even if hone is SIGKILLed
  if (::getppid() != parent) _exit(127);  // hone died before prctl
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &sa, nullptr);  // hone's handlers/ignores off
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::dup2(spec.stdout_fd >= 0 ? spec.stdout_fd : devnull, 1);
  ::dup2(spec.stderr_fd >= 0 ? spec.stderr_fd : devnull, 2);
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) child_fail(exec_fd, kChdir);
  if (cpus) ::sched_setaffinity(0, sizeof(cpu_set_t), cpus);
  ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);  // the exec pipe closes on exec too
  ::execve(spec.program.c_str(), argv, envp);
  child_fail(exec_fd, kExec);
}

}  // namespace

std::string resolve_program(const std::string& argv0, const std::string& path_value) {
  if (argv0.empty()) return "";
  if (argv0.find('/') != std::string::npos) return argv0;
  const std::string path = path_value.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_value;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(start, end - start);
    const std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + argv0;
    struct stat st;
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return "";
}

Spawned spawn_child(const ChildSpec& spec) {
  // Everything the child needs is built before fork: after it only syscalls are allowed.
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (!spec.inherit_env) {
    for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int c : spec.cpus) CPU_SET(c, &cpus);
  int p_exec[2];
  if (::pipe2(p_exec, O_CLOEXEC) != 0) throw_runtime(std::string("pipe: ") + std::strerror(errno));
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(p_exec[0]);
    ::close(p_exec[1]);
    if (devnull >= 0) ::close(devnull);
    throw_runtime(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0)
    become_child(spec, parent, p_exec[1], devnull, argv.data(), spec.inherit_env ? environ : envp.data(),
                 spec.cpus.empty() ? nullptr : &cpus);
  ::setpgid(pid, pid);  // also here, so the group exists before the caller may signal it
  ::close(p_exec[1]);
  if (devnull >= 0) ::close(devnull);
  // exec succeeded iff the close-on-exec pipe reaches EOF without a message
  int msg[2] = {0, 0};
  ssize_t n;
  do n = ::read(p_exec[0], msg, sizeof msg);
  while (n < 0 && errno == EINTR);
  ::close(p_exec[0]);
  Spawned s;
  if (n != static_cast<ssize_t>(sizeof msg)) {
    s.pid = pid;
    return s;
  }
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  s.error = msg[0] == kChdir ? "cannot change to directory \"" + spec.cwd + "\": " + std::strerror(msg[1])
                             : "cannot execute \"" + spec.program + "\": " + std::strerror(msg[1]);
  return s;
}

}  // namespace hone::core_detail
