// Helpers shared by the CLI tests: run `hone` as a user types it, in the source directory
// (examples use relative paths), and start it in the background with its output in a log file.
// HONE_SOURCE_DIR and HONE_BINARY come from CMakeLists.txt.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace hone_cli_test {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

// Runs `hone ARGS` (a shell command line) in the source directory and waits for it.
inline Result hone(const std::string& args) {
  std::string cmd = "cd " HONE_SOURCE_DIR " && " HONE_BINARY " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// Starts `hone ARGS...` in the source directory with its output in `log`; returns the pid.
inline pid_t start(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, 1);
  dup2(fd, 2);
  if (chdir(HONE_SOURCE_DIR) != 0) _exit(126);
  std::vector<char*> argv{const_cast<char*>(HONE_BINARY)};
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(HONE_BINARY, argv.data());
  _exit(127);
}

// A fresh, empty directory under the system's temp dir, private to this process.
inline std::string tmpdir(const std::string& prefix, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / (prefix + "_" + std::to_string(getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

inline void write(const std::string& path, const std::string& s) { std::ofstream(path) << s; }

inline std::string read(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace hone_cli_test
