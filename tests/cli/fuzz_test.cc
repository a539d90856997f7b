// The hard-edges fuzz suite (issue 15): malformed run configs, study configs, CSV, IDX and LibSVM
// files, model files and command lines, generated from a fixed seed by mutating small valid
// inputs, each run through the built `hone` binary with a per-process timeout. Every input must
// end with exit 0, 1 or 2 (never a signal, a hang or sanitizer text); a rejection is one
// "hone: error:" line at the end of stderr that names the file or the key (exit 2: the only line,
// bar "note:" lines), and a rejected study creates no database.
//
// HONE_FUZZ_SEED=N runs another seed; HONE_FUZZ_VERBOSE=1 prints every input and its outcome.
// Under `make test-asan` (-fno-sanitize-recover=undefined) undefined behaviour aborts the process,
// which this test reports as a signal with the sanitizer's text.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Rng = std::mt19937_64;

constexpr int kParallel = 4;            // processes at once
constexpr double kTimeoutS = 10.0;      // per input: longer is a hang
constexpr double kBudgetS = 240.0;      // the whole suite (ASan); Release takes ~15 s

// ------------------------------------------------------------------------------ inputs

struct Input {
  std::string kind;               // "run config", "csv", ...
  std::string what;               // the mutation, for the failure report
  std::vector<std::string> args;  // after `hone`
  std::string file;               // the mutated file: a rejection must name it (or `key`)
  std::string key;                // the mutated key, if any
  std::string db;                 // a SQLite file a rejected study must not create
};

struct Outcome {
  int code = -1;
  int signal = 0;
  bool timed_out = false;
  std::string err;
};

size_t pick(Rng& rng, size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
template <class T>
const T& pick(Rng& rng, const std::vector<T>& v) {
  return v[pick(rng, v.size())];
}
bool coin(Rng& rng, double p = 0.5) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

std::string read(const std::string& path) { return hone_cli_test::read(path); }
void write(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(s.data(), static_cast<std::streamsize>(s.size()));
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::string line;
  std::istringstream in(s);
  while (std::getline(in, line)) out.push_back(line);
  return out;
}
std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Values a config key may be given instead of its own: wrong types, out of range, non-finite,
// overflowing, distributions with bad domains.
const std::vector<std::string> kTomlJunk = {
    "\"ten\"", "-1", "0", "nan", "inf", "-inf", "1e308", "9223372036854775807", "-9223372036854775808",
    "[]", "{}", "true", "\"\"", "\"../x\"", "3.5", "1000", "[1, \"a\"]", "{ type = 3 }", "\"bogus\"", "\"yes\"",
    "-0.0", "1e-320", "{ int = [-9223372036854775808, 9223372036854775807] }", "{ float = [-1e308, 1e308] }",
    "{ choice = [] }", "{ choice = [1, \"a\", true] }", "{ float = [1, 0] }", "{ int = [0, 10], step = 0 }",
    "{ float = [0, 1], log = true }", "{ int = [1, 4], step = 9223372036854775807 }", "[[1, 2], [3]]",
    "{ choice = [{ type = \"sgd\" }, { type = \"bogus\" }] }", "\"\\u0000\"", "\"a\\nb\"", "2", "{ float = [0, 1e-300] }"};

const std::vector<std::string> kUnknown = {"lrr = 1", "[trian]\nepochs = 1", "bogus = \"x\"", "[study.bogus]", "x.y.z = 1",
                                           "[[model.layers]]\ntype = \"bogus\"", "[[model.layers]]\nunits = 4",
                                           "[objective]\nthreads = 2", "[output]\ndir = 3"};

// The key of a "key = value" line, with its table ("train.lr"), or "" for other lines.
std::string key_of_line(const std::vector<std::string>& lines, size_t i) {
  const std::string& l = lines[i];
  const size_t eq = l.find('=');
  if (eq == std::string::npos || l.empty() || l[0] == '#' || l[0] == '[') return "";
  std::string k = l.substr(0, eq);
  k.erase(std::remove(k.begin(), k.end(), ' '), k.end());
  k.erase(std::remove(k.begin(), k.end(), '"'), k.end());
  return k;
}

// One random edit of a TOML text; `key` gets the key it touched.
std::string mutate_toml(Rng& rng, const std::string& text, std::string& what, std::string& key) {
  std::vector<std::string> lines = split_lines(text);
  std::vector<size_t> kv;
  for (size_t i = 0; i < lines.size(); ++i)
    if (!key_of_line(lines, i).empty()) kv.push_back(i);
  switch (pick(rng, 10)) {
    case 0: case 1: case 2: case 3: {  // a value replaced
      const size_t i = pick(rng, kv);
      key = key_of_line(lines, i);
      const std::string v = pick(rng, kTomlJunk);
      lines[i] = lines[i].substr(0, lines[i].find('=')) + "= " + v;
      what = key + " = " + v;
      break;
    }
    case 4: {  // a line deleted
      const size_t i = pick(rng, lines.size());
      key = key_of_line(lines, i);
      what = "deleted line \"" + lines[i] + "\"";
      lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
    case 5: {  // a line repeated (a duplicate key or table)
      const size_t i = pick(rng, lines.size());
      key = key_of_line(lines, i);
      what = "repeated line \"" + lines[i] + "\"";
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), lines[i]);
      break;
    }
    case 6: {  // an unknown key or table
      const size_t i = pick(rng, lines.size() + 1);
      const std::string u = pick(rng, kUnknown);
      what = "inserted \"" + u + "\" at line " + std::to_string(i + 1);
      key = u.substr(0, u.find_first_of(" =\n"));
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), u);
      break;
    }
    case 7: {  // truncated
      std::string s = join_lines(lines);
      const size_t at = pick(rng, s.size());
      what = "truncated at byte " + std::to_string(at);
      return s.substr(0, at);
    }
    default: {  // a byte replaced
      std::string s = join_lines(lines);
      const size_t at = pick(rng, s.size());
      const char c = pick(rng, std::vector<char>{'"', '=', '[', ']', '{', '\n', '\0', '\xff', 'x', '.', ','});
      s[at] = c;
      what = "byte " + std::to_string(at) + " replaced";
      return s;
    }
  }
  return join_lines(lines);
}

const std::vector<std::string> kCellJunk = {"", "nan", "inf", "-inf", "1e999", "abc", "\"", "\"x\"\"", "\"a,b\"", " ",
                                            "1e-999", "0x10", "--1", "1,2", "class_9", "\xff\xfe", "\"\n\""};

std::string mutate_csv(Rng& rng, const std::string& text, std::string& what) {
  std::vector<std::string> lines = split_lines(text);
  switch (pick(rng, 9)) {
    case 0: case 1: case 2: {  // a cell replaced
      const size_t i = pick(rng, lines.size());
      std::vector<std::string> cells;
      std::string c;
      std::istringstream in(lines[i]);
      while (std::getline(in, c, ',')) cells.push_back(c);
      if (cells.empty()) cells.push_back("");
      const size_t j = pick(rng, cells.size());
      cells[j] = pick(rng, kCellJunk);
      std::string l;
      for (size_t k = 0; k < cells.size(); ++k) l += (k ? "," : "") + cells[k];
      lines[i] = l;
      what = "line " + std::to_string(i + 1) + " cell " + std::to_string(j + 1) + " = \"" + cells[j] + "\"";
      break;
    }
    case 3: {  // a field dropped or added
      const size_t i = pick(rng, lines.size());
      if (coin(rng)) lines[i] = lines[i].substr(0, lines[i].rfind(','));
      else lines[i] += ",7";
      what = "line " + std::to_string(i + 1) + " has another field count";
      break;
    }
    case 4: {  // the header: a duplicate or renamed column
      lines[0] = coin(rng) ? "alcohol," + lines[0].substr(lines[0].find(',') + 1) : lines[0] + ",extra";
      what = "header changed";
      break;
    }
    case 5: {
      what = coin(rng) ? "header only" : "empty file";
      return what == "header only" ? lines[0] + "\n" : std::string();
    }
    case 6: {
      std::string s = join_lines(lines);
      const size_t at = pick(rng, s.size());
      what = "truncated at byte " + std::to_string(at);
      return s.substr(0, at);
    }
    case 7: {
      std::string s = join_lines(lines);
      s[pick(rng, s.size())] = pick(rng, std::vector<char>{'"', ',', '\n', '\r', '\0', '\xff'});
      what = "a byte replaced";
      return s;
    }
    default: {  // every row labelled the same, or a blank/CRLF/BOM variant
      what = "BOM, CRLF and blank lines";
      std::string s = "\xEF\xBB\xBF";
      for (const auto& l : lines) s += l + (coin(rng) ? "\r\n" : "\n\n");
      return s;
    }
  }
  return join_lines(lines);
}

void put_be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string idx_file(const std::vector<uint32_t>& dims, const std::string& values) {
  std::string s = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims) put_be32(s, d);
  return s + values;
}

std::string mutate_idx(Rng& rng, std::string s, std::string& what) {
  switch (pick(rng, 7)) {
    case 0: {  // a dimension: 0, huge or off by one
      const int ndim = static_cast<unsigned char>(s[3]);
      const size_t at = 4 + 4 * pick(rng, static_cast<size_t>(std::max(1, ndim)));
      const uint32_t v = pick(rng, std::vector<uint32_t>{0, 1, 0xffffffffu, 0x7fffffffu, 31, 65536});
      std::string b;
      put_be32(b, v);
      s.replace(at, 4, b);
      what = "dimension at byte " + std::to_string(at) + " = " + std::to_string(v);
      break;
    }
    case 1: s[2] = pick(rng, std::vector<char>{0x09, 0x0d, 0x0e, 0x00}); what = "element type"; break;
    case 2: s[3] = pick(rng, std::vector<char>{0, 5, 2, 3, 1, '\xff'}); what = "dimension count"; break;
    case 3: s[pick(rng, 2)] = 1; what = "magic"; break;
    case 4: { const size_t at = pick(rng, s.size()); s = s.substr(0, at); what = "truncated at " + std::to_string(at); break; }
    case 5: s += std::string(pick(rng, 64) + 1, '\x07'); what = "trailing bytes"; break;
    default: s = ""; what = "empty"; break;
  }
  return s;
}

const std::vector<std::string> kSvmJunk = {"0:1", "-1:2", "99999999999:1", "3:nan", "3:inf", "2:", ":", "x", "qid:x",
                                           "1:1e999", "4294967297:1", "2:1 1:1", "#", "1.5", "nan", "1:2:3", ""};

std::string mutate_libsvm(Rng& rng, const std::string& text, std::string& what) {
  std::vector<std::string> lines = split_lines(text);
  const size_t i = pick(rng, lines.size());
  switch (pick(rng, 4)) {
    case 0: case 1: {
      const std::string t = pick(rng, kSvmJunk);
      const size_t sp = lines[i].find(' ');
      lines[i] = coin(rng) || sp == std::string::npos ? t + lines[i].substr(std::min(sp, lines[i].size()))
                                                      : lines[i] + " " + t;
      what = "line " + std::to_string(i + 1) + ": \"" + t + "\"";
      break;
    }
    case 2: {
      std::string s = join_lines(lines);
      const size_t at = pick(rng, s.size());
      what = "truncated at " + std::to_string(at);
      return s.substr(0, at);
    }
    default: lines.assign(1, pick(rng, kSvmJunk)); what = "one junk line"; break;
  }
  return join_lines(lines);
}

// zlib's crc32 (the model file's checksum), so that header edits reach the parser.
uint32_t crc32(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

template <class T>
void put_le(std::string& s, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) s.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

const std::vector<json> kJsonJunk = {json(-1), json(0), json(1e300), json("bogus"), json(nullptr), json::array(),
                                     json::object(), json(true), json(9223372036854775807LL), json({1, 2}),
                                     json(std::numeric_limits<uint64_t>::max()), json("../x")};

// A model file whose JSON header (or raw bytes) were edited; the checksum is recomputed for
// header edits, so they reach the checks behind it.
std::string mutate_model(Rng& rng, const std::string& file, std::string& what, std::string& key) {
  if (coin(rng, 0.2)) {
    std::string s = file;
    if (coin(rng)) {
      s = s.substr(0, pick(rng, s.size()));
      what = "truncated";
    } else {
      s[pick(rng, s.size())] ^= 0x5a;
      what = "a byte flipped (checksum left)";
    }
    return s;
  }
  uint64_t hlen = 0;
  std::memcpy(&hlen, file.data() + 12, 8);
  json header = json::parse(file.substr(20, hlen));
  const std::string body = file.substr(20 + hlen, file.size() - 4 - 20 - hlen);
  switch (pick(rng, 4)) {
    case 0: {
      const size_t i = pick(rng, header["tensors"].size());
      header["tensors"][i]["kind"] = pick(rng, std::vector<std::string>{"bogus", "buffer", "param", ""});
      what = "tensors[" + std::to_string(i) + "].kind = " + header["tensors"][i]["kind"].dump();
      key = "kind";
      break;
    }
    case 1: {
      json& names = header["metadata"]["class_names"];
      if (!names.empty()) names.erase(names.size() - 1);
      what = "one class name fewer";
      key = "class_names";
      break;
    }
    default: {  // any leaf replaced by junk
      const json flat = header.flatten();
      std::vector<std::string> paths;
      for (auto& [p, v] : flat.items()) paths.push_back(p);
      const std::string p = pick(rng, paths);
      const json v = pick(rng, kJsonJunk);
      header[json::json_pointer(p)] = v;
      what = p + " = " + v.dump();
      key = p.substr(p.rfind('/') + 1);
      break;
    }
  }
  const std::string h = header.dump();
  std::string out = file.substr(0, 8);
  put_le<uint32_t>(out, 1);
  put_le<uint64_t>(out, h.size());
  out += h + body;
  put_le<uint32_t>(out, crc32(out));
  return out;
}

// ------------------------------------------------------------------------------ running

class Runner {
 public:
  explicit Runner(std::string cwd) : cwd_(std::move(cwd)) {}

  // Runs every input, kParallel at once; outcome[i] for input[i].
  std::vector<Outcome> run(const std::vector<Input>& inputs, double budget_s, size_t& ran) {
    std::vector<Outcome> out(inputs.size());
    struct Live {
      pid_t pid;
      size_t index;
      std::chrono::steady_clock::time_point t0;
    };
    std::vector<Live> live;
    size_t next = 0;
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [](auto t0) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    while (next < inputs.size() || !live.empty()) {
      while (live.size() < kParallel && next < inputs.size() && elapsed(start) < budget_s) {
        live.push_back({spawn(inputs[next], next), next, std::chrono::steady_clock::now()});
        ++next;
      }
      if (next < inputs.size() && elapsed(start) >= budget_s && live.empty()) break;
      bool reaped = false;
      for (size_t k = 0; k < live.size(); ++k) {
        int st = 0;
        const pid_t r = waitpid(live[k].pid, &st, WNOHANG);
        Outcome& o = out[live[k].index];
        if (r == 0 && elapsed(live[k].t0) > kTimeoutS) {
          kill(-live[k].pid, SIGKILL);
          waitpid(live[k].pid, &st, 0);
          o.timed_out = true;
        } else if (r == 0) {
          continue;
        }
        if (WIFEXITED(st)) o.code = WEXITSTATUS(st);
        if (WIFSIGNALED(st) && !o.timed_out) o.signal = WTERMSIG(st);
        o.err = read(err_path(live[k].index));
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
        reaped = true;
        break;
      }
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ran = next;
    return out;
  }

 private:
  std::string err_path(size_t i) const { return cwd_ + "/stderr-" + std::to_string(i) + ".txt"; }

  pid_t spawn(const Input& in, size_t i) {
    const std::string err = err_path(i);
    const pid_t pid = fork();
    if (pid != 0) return pid;
    setpgid(0, 0);  // a hang is killed with everything it started
    const int null = open("/dev/null", O_RDWR);
    const int fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null, 0);
    dup2(null, 1);
    dup2(fd, 2);
    if (chdir(cwd_.c_str()) != 0) _exit(126);
    std::vector<char*> argv{const_cast<char*>(HONE_BINARY)};
    for (auto& a : in.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(HONE_BINARY, argv.data());
    _exit(127);
  }

  std::string cwd_;
};

// Does an error line say where: the file's name, the mutated key, an argument of the command, a
// file path, a command-line flag or a config key ("train.lr", "model.layers[0]", "study:")?
bool names_where(const std::string& line, const Input& in) {
  if (!in.file.empty() && line.find(fs::path(in.file).filename().string()) != std::string::npos) return true;
  for (const auto& a : in.args)
    if ((a.size() >= 2 && line.find(a) != std::string::npos) || line.rfind("hone: error: " + a + ":", 0) == 0)
      return true;
  if (!in.key.empty()) {
    std::string leaf = in.key.substr(in.key.find_last_of(".[/") == std::string::npos ? 0 : in.key.find_last_of(".[/") + 1);
    leaf.erase(std::remove(leaf.begin(), leaf.end(), ']'), leaf.end());
    if (!leaf.empty() && line.find(leaf) != std::string::npos) return true;
  }
  static const std::regex where(
      R"((/[^ :/]+)+:|(--[a-z][a-z-]+)|(model|config) file's path|\b(config|data|model|train|study|objective|sampler|pruner|optimizer|scheduler|loss|output|search)(\.[A-Za-z_]|\[|:| "))");
  return std::regex_search(line, where);
}

// What is wrong with an outcome ("" when nothing).
std::string problem(const Input& in, const Outcome& o) {
  if (o.timed_out) return "hang: still running after " + std::to_string(static_cast<int>(kTimeoutS)) + " s";
  if (o.signal) return "killed by signal " + std::to_string(o.signal) + " (" + strsignal(o.signal) + ")";
  for (const char* bad : {"AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
                          "terminate called", "Segmentation fault", "core dumped"})
    if (o.err.find(bad) != std::string::npos) return std::string("\"") + bad + "\" in stderr";
  if (o.code != 0 && o.code != 1 && o.code != 2) return "exit code " + std::to_string(o.code);
  if (o.code == 0) return "";
  std::vector<std::string> lines, errors, others;
  for (auto& l : split_lines(o.err)) {
    if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
    lines.push_back(l);
    if (l.rfind("hone: error: ", 0) == 0) errors.push_back(l);
    else if (l.rfind("note: ", 0) != 0) others.push_back(l);
  }
  if (errors.size() != 1 || lines.back() != errors[0])
    return "the rejection is not one \"hone: error:\" line at the end of stderr";
  if (errors[0].size() <= std::strlen("hone: error: ") + 3) return "an empty error message";
  if (o.code == 2 && !others.empty()) return "a rejection (exit 2) printed more than its one line";
  if (!names_where(errors[0], in)) return "the error names neither the file nor the key";
  if (o.code == 2 && !in.db.empty() && fs::exists(in.db)) return "a rejected study created its database " + in.db;
  return "";
}

// ------------------------------------------------------------------------------ the suite

class Fuzz : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hone_cli_test::tmpdir("hone_fuzz", "work");
    const char* s = std::getenv("HONE_FUZZ_SEED");
    seed_ = s ? std::strtoull(s, nullptr, 10) : 20261202;
    rng_.seed(seed_);
    verbose_ = std::getenv("HONE_FUZZ_VERBOSE") != nullptr;
    make_bases();
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Small valid inputs: a third of the wine CSV, a run config and two study configs on it, IDX and
  // LibSVM files with configs, and models trained from them (the model-file and predict inputs).
  void make_bases() {
    std::vector<std::string> wine = split_lines(read(std::string(HONE_SOURCE_DIR) + "/examples/data/wine.csv"));
    ASSERT_GT(wine.size(), 100u);
    std::vector<std::string> small{wine[0]};
    for (size_t i = 1; i < wine.size(); i += 3) small.push_back(wine[i]);
    csv_ = join_lines(small);
    write(path("wine.csv"), csv_);
    run_toml_ = run_toml(path("wine.csv"));
    write(path("run.toml"), run_toml_);
    study_toml_ = study_toml(false);
    study_cv_toml_ = study_toml(true);

    Rng v(7);
    std::string images, labels;
    for (int i = 0; i < 30; ++i) {
      for (int p = 0; p < 16; ++p) images.push_back(static_cast<char>(pick(v, 256)));
      labels.push_back(static_cast<char>(i % 3));
    }
    idx_images_ = idx_file({30, 4, 4}, images);
    idx_labels_ = idx_file({30}, labels);
    write(path("images.idx"), idx_images_);
    write(path("labels.idx"), idx_labels_);
    for (int i = 0; i < 40; ++i) {
      libsvm_ += std::to_string(1 + i % 3);
      for (int f = 1; f <= 5; ++f)
        if (coin(v, 0.7)) {
          libsvm_ += ' ';
          libsvm_ += std::to_string(f);
          libsvm_ += ':';
          libsvm_ += std::to_string(static_cast<double>(pick(v, 100)) / 10);
        }
      libsvm_ += "\n";
    }
    write(path("train.svm"), libsvm_);

    train_ok({"train", path("run.toml"), "--out", path("model"), "-q"});
    write(path("idx.toml"), idx_toml(path("images.idx"), path("labels.idx")));
    train_ok({"train", path("idx.toml"), "--out", path("idx_model"), "-q"});
    model_ = read(path("model/model.hone"));
    ASSERT_GT(model_.size(), 24u);
  }

  void train_ok(const std::vector<std::string>& args) {
    std::string cmd = std::string(HONE_BINARY);
    for (auto& a : args) cmd += " '" + a + "'";
    ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
  }

  static std::string model_and_train() {
    return "[model]\n[[model.layers]]\ntype = \"dense\"\nunits = 8\n[[model.layers]]\ntype = \"relu\"\n"
           "[[model.layers]]\ntype = \"dense\"\nunits = 3\n\n[train]\nepochs = 1\nbatch_size = 16\n"
           "optimizer = { type = \"adam\" }\nlr = 3e-3\nl2 = 1e-4\nclip_norm = 1.0\nmetrics = [\"accuracy\"]\n"
           "early_stopping = { monitor = \"val_loss\", patience = 2 }\n";
  }
  static std::string run_toml(const std::string& csv) {
    return "seed = 0\n\n[data]\nsource = \"csv\"\ntrain = \"" + csv +
           "\"\ntarget = \"class\"\ntest_fraction = 0.25\nvalidation_fraction = 0.2\nscale = \"standard\"\n\n" +
           model_and_train();
  }
  std::string study_toml(bool cv) const {
    std::string s = run_toml(path("wine.csv"));
    s.replace(s.find("units = 8"), 9, "units = { choice = [4, 8] }");
    s.replace(s.find("lr = 3e-3"), 9, "lr = { float = [1e-4, 1e-2], log = true }");
    s += "\n[study]\nn_trials = 2\nsampler = \"tpe\"\npruner = { type = \"median\" }\n";
    s += cv ? "metric = \"accuracy\"\ncv = { folds = 3 }\nrefit = true\n" : "metric = \"val_loss\"\nbaseline = { \"train.lr\" = 3e-3 }\n";
    return s;
  }
  static std::string idx_toml(const std::string& images, const std::string& labels) {
    return "seed = 1\n[data]\nsource = \"idx\"\ntrain_images = \"" + images + "\"\ntrain_labels = \"" + labels +
           "\"\nvalidation_fraction = 0.2\n[model]\ntype = \"mlp\"\nhidden_layers = [4]\n[train]\nepochs = 1\n";
  }
  static std::string libsvm_toml(const std::string& file) {
    return "seed = 1\n[data]\nsource = \"libsvm\"\ntrain = \"" + file +
           "\"\nvalidation_fraction = 0.2\n[model]\ntype = \"mlp\"\nhidden_layers = [4]\n[train]\nepochs = 1\n";
  }

  Input next(const std::string& kind, size_t i) {
    Input in;
    in.kind = kind;
    const std::string n = std::to_string(i);
    if (kind == "run config") {
      in.file = path("run-" + n + ".toml");
      write(in.file, mutate_toml(rng_, run_toml_, in.what, in.key));
      in.args = {"train", in.file, "--out", path("out-" + n), "-q"};
    } else if (kind == "study config") {
      in.file = path("study-" + n + ".toml");
      write(in.file, mutate_toml(rng_, coin(rng_, 0.3) ? study_cv_toml_ : study_toml_, in.what, in.key));
      in.db = path("study-" + n + ".db");
      // --timeout: a config without n_trials runs until stopped, by design
      in.args = {"tune", in.file, "--storage", "sqlite:///" + in.db, "--out", path("out-" + n), "--timeout", "3"};
    } else if (kind == "csv") {
      in.file = path("data-" + n + ".csv");
      write(in.file, mutate_csv(rng_, csv_, in.what));
      if (coin(rng_)) {
        write(path("run-" + n + ".toml"), run_toml(in.file));
        in.args = {"train", path("run-" + n + ".toml"), "--out", path("out-" + n), "-q"};
      } else {
        in.args = {"predict", path("model"), in.file, "--out", path("pred-" + n + ".csv")};
      }
    } else if (kind == "idx") {
      const bool images = coin(rng_);
      in.file = path("idx-" + n + (images ? "-images.idx" : "-labels.idx"));
      write(in.file, mutate_idx(rng_, images ? idx_images_ : idx_labels_, in.what));
      if (images && coin(rng_, 0.3)) {
        in.args = {"predict", path("idx_model"), in.file};
      } else {
        write(path("idx-" + n + ".toml"), idx_toml(images ? in.file : path("images.idx"), images ? path("labels.idx") : in.file));
        in.args = {"train", path("idx-" + n + ".toml"), "--out", path("out-" + n), "-q"};
      }
    } else if (kind == "libsvm") {
      in.file = path("data-" + n + ".svm");
      write(in.file, mutate_libsvm(rng_, libsvm_, in.what));
      write(path("svm-" + n + ".toml"), libsvm_toml(in.file));
      in.args = {"train", path("svm-" + n + ".toml"), "--out", path("out-" + n), "-q"};
    } else if (kind == "model file") {
      in.file = path("model-" + n + ".hone");
      write(in.file, mutate_model(rng_, model_, in.what, in.key));
      if (coin(rng_)) in.args = {"predict", in.file, path("wine.csv")};
      else in.args = {"eval", in.file};
    } else {
      command_line(in, n);
    }
    return in;
  }

  // A command line of a real subcommand with wrong, missing or extreme arguments.
  void command_line(Input& in, const std::string& n) {
    const std::vector<std::string> numbers = {"0", "-1", "nan", "inf", "-inf", "1e309", "abc", "", "99999999999999999999",
                                              "1", "2", "0.5", "1e-300", "-0", "0x10"};
    in.db = path("cli-" + n + ".db");
    const std::string storage = "sqlite:///" + in.db;
    std::vector<std::string> a;
    switch (pick(rng_, 6)) {
      case 0: {
        write(path("cli-" + n + ".toml"), study_toml_);
        a = {"tune", path("cli-" + n + ".toml"), "--storage", storage, "--out", path("out-" + n), "--timeout", "3"};
        for (int k = 0, m = 1 + static_cast<int>(pick(rng_, 3)); k < m; ++k) {
          const std::string flag = pick(rng_, std::vector<std::string>{"--n-trials", "--more", "--jobs", "--set"});
          a.push_back(flag);
          a.push_back(flag == "--set" ? pick(rng_, std::vector<std::string>{"study.sampler=3", "study.n_trials=-1", "train=1",
                                                                               "=", "a..b=1", "study.timeout=nan", "x"})
                                      : pick(rng_, numbers));
        }
        break;
      }
      case 1:
        a = {"train", pick(rng_, std::vector<std::string>{path("run.toml"), path("none.toml"), dir_, "", "/dev/null"}),
             "--out", path("out-" + n), "-q"};
        if (coin(rng_)) a.insert(a.end(), {"--threads", pick(rng_, numbers)});
        if (coin(rng_)) a.insert(a.end(), {"--set", pick(rng_, std::vector<std::string>{"train.epochs=ten", "train.threads=0",
                                                                                         "model=3", "data.train=", "=1"})});
        break;
      case 2:
        a = {"predict", pick(rng_, std::vector<std::string>{path("model"), path("none"), path("wine.csv")}),
             pick(rng_, std::vector<std::string>{path("wine.csv"), path("none.csv"), path("run.toml"), path("images.idx")})};
        break;
      case 3:
        a = {"eval", pick(rng_, std::vector<std::string>{path("model"), path("run.toml"), ""})};
        if (coin(rng_)) a.insert(a.end(), {"--split", pick(rng_, std::vector<std::string>{"val", "bogus", ""})});
        if (coin(rng_)) a.insert(a.end(), {"--data", pick(rng_, std::vector<std::string>{path("run.toml"), path("none.toml"), path("wine.csv")})});
        break;
      case 4:
        a = {"worker", "--study", pick(rng_, std::vector<std::string>{"x", "", "../x"}), "--storage",
             pick(rng_, std::vector<std::string>{storage, "memory", "bogus://x", "sqlite:///"})};
        if (coin(rng_)) a.insert(a.end(), {"--timeout", pick(rng_, numbers)});
        break;
      default:
        a = {pick(rng_, std::vector<std::string>{"tune", "train", "predict", "eval", "bogus", "--bogus", ""})};
        for (int k = 0, m = static_cast<int>(pick(rng_, 3)); k < m; ++k) a.push_back(pick(rng_, numbers));
        break;
    }
    in.args = a;
    for (auto& s : a) in.what += (in.what.empty() ? "" : " ") + s;
  }

  std::string dir_;
  uint64_t seed_ = 0;
  Rng rng_;
  bool verbose_ = false;
  std::string csv_, run_toml_, study_toml_, study_cv_toml_, idx_images_, idx_labels_, libsvm_, model_;
};

TEST_F(Fuzz, MalformedInputsEndInOneLineErrors) {
  const std::vector<std::pair<std::string, int>> plan = {{"run config", 130}, {"study config", 90}, {"csv", 80},
                                                         {"idx", 50},         {"libsvm", 50},       {"model file", 70},
                                                         {"command line", 60}};
  std::vector<Input> inputs;
  for (const auto& [kind, count] : plan)
    for (int i = 0; i < count; ++i) inputs.push_back(next(kind, inputs.size()));
  ASSERT_GE(inputs.size(), 500u);

  const auto t0 = std::chrono::steady_clock::now();
  size_t ran = 0;
  const std::vector<Outcome> out = Runner(dir_).run(inputs, kBudgetS, ran);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::map<std::string, std::array<int, 3>> by_kind;  // exit 0 / 1 / 2
  int failures = 0;
  for (size_t i = 0; i < ran; ++i) {
    const Input& in = inputs[i];
    const Outcome& o = out[i];
    if (o.code >= 0 && o.code <= 2) ++by_kind[in.kind][static_cast<size_t>(o.code)];
    std::string args;
    for (auto& a : in.args) args += " '" + a + "'";
    const std::string p = problem(in, o);
    if (verbose_) std::printf("[%zu] %s: %s -> %d %s\n", i, in.kind.c_str(), in.what.c_str(), o.code, o.err.c_str());
    if (p.empty()) continue;
    if (++failures <= 25)
      ADD_FAILURE() << "input " << i << " (" << in.kind << ": " << in.what << "): " << p << "\n  hone" << args
                    << "\n  exit " << o.code << ", stderr:\n" << o.err;
  }
  EXPECT_EQ(failures, 0) << "of " << ran << " inputs (seed " << seed_ << ")";
  EXPECT_EQ(ran, inputs.size()) << "the time budget of " << kBudgetS << " s ran out";
  std::printf("fuzz: %zu inputs in %.1f s (seed %llu)\n", ran, seconds, static_cast<unsigned long long>(seed_));
  for (const auto& [kind, c] : by_kind)
    std::printf("  %-13s exit 0: %3d  exit 1: %3d  exit 2: %3d\n", kind.c_str(), c[0], c[1], c[2]);
}

}  // namespace
