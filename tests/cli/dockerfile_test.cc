// The Dockerfile cannot drift from scripts/install-deps.sh or from the libraries hone links:
//   - its build stage installs exactly install-deps.sh's BUILD_PKGS, less the ones listed below
//     that an image build does not need;
//   - its runtime stage installs a runtime package for every library hone links (by name below,
//     and by asking dpkg which package owns each library the built binary needs), plus the data;
//   - the binary in the image is built for any CPU, without tests or benchmarks.
// The files are read as text and the built binary through readelf and dpkg -S; docker is not needed.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Packages = std::set<std::string>;

// install-deps.sh's build packages that the image's build stage leaves out, and why.
const std::map<std::string, std::string> kNotInBuildStage = {
    {"libgtest-dev", "tests are off in the image"},
    {"libgmock-dev", "tests are off in the image"},
    {"libbenchmark-dev", "benchmarks are off in the image"},
    {"ccache", "one build per image: nothing to cache"},
    {"dataset-fashion-mnist", "data, installed in the runtime stage instead"},
};

struct Library {
  const char* name;         // what hone links
  const char* dev_package;  // in BUILD_PKGS
  const char* runtime_package;
};
const Library kLinked[] = {
    {"sqlite", "libsqlite3-dev", "libsqlite3-0"},   {"pq", "libpq-dev", "libpq5"},
    {"fmt", "libfmt-dev", "libfmt9"},               {"toml++", "libtomlplusplus-dev", "libtomlplusplus3"},
    {"gomp (OpenMP)", "g++", "libgomp1"},           {"zlib", "zlib1g-dev", "zlib1g"},
    {"libstdc++", "g++", "libstdc++6"},
};

// Packages every debian:bookworm-slim image has, and the sanitizer runtimes of the asan preset's
// binary (never in the image, which is a Release build).
const Packages kInBaseImage = {"libc6", "libgcc-s1"};
const Packages kSanitizerRuntimes = {"libasan8", "libubsan1"};

std::string read_source(const std::string& rel) {
  std::ifstream f(std::string(HONE_SOURCE_DIR) + "/" + rel);
  EXPECT_TRUE(f) << rel << " is missing";
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The packages in install-deps.sh's `BUILD_PKGS=( ... )`, comments dropped.
Packages install_deps_build_packages() {
  std::istringstream in(read_source("scripts/install-deps.sh"));
  Packages pkgs;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    if (!inside) {
      auto at = line.find("BUILD_PKGS=(");
      if (at == std::string::npos) continue;
      inside = true;
      line = line.substr(at + 12);
    }
    auto close = line.find(')');
    for (auto& w : words(line.substr(0, close))) pkgs.insert(w);
    if (close != std::string::npos) break;
  }
  return pkgs;
}

struct Stage {
  std::string text;   // every instruction of the stage, continuation lines joined
  Packages packages;  // what its `apt-get install` commands install
};

// The Dockerfile's stages by name (`FROM image AS name`).
std::map<std::string, Stage> dockerfile_stages() {
  std::istringstream in(read_source("Dockerfile"));
  std::string joined;  // comment lines dropped, `\` + newline joined
  for (std::string line; std::getline(in, line);) {
    auto first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] == '#') continue;
    if (!line.empty() && line.back() == '\\') {
      joined += line.substr(0, line.size() - 1) + " ";
    } else {
      joined += line + "\n";
    }
  }
  std::map<std::string, Stage> stages;
  Stage* stage = nullptr;
  std::istringstream instructions(joined);
  for (std::string line; std::getline(instructions, line);) {
    auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "FROM") {
      stage = &stages[w.size() >= 4 && (w[2] == "AS" || w[2] == "as") ? w[3] : w[1]];
      continue;
    }
    if (!stage) continue;
    stage->text += line + "\n";
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      if (w[i] != "apt-get" || w[i + 1] != "install") continue;
      for (size_t j = i + 2; j < w.size() && w[j] != "&&" && w[j] != ";" && w[j] != "||"; ++j) {
        if (w[j][0] != '-') stage->packages.insert(w[j]);
      }
    }
  }
  return stages;
}

std::string joined(const Packages& p) {
  std::string s;
  for (auto& x : p) s += (s.empty() ? "" : " ") + x;
  return s.empty() ? "(none)" : s;
}

Packages minus(const Packages& a, const Packages& b) {
  Packages d;
  for (auto& x : a) {
    if (!b.count(x)) d.insert(x);
  }
  return d;
}

// Runs a shell command; its stdout goes to `out`. False when it fails.
bool capture(const std::string& cmd, std::string& out) {
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return false;
  char buf[4096];
  out.clear();
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  return pclose(p) == 0;
}

TEST(Dockerfile, HasABuildAndARuntimeStage) {
  auto stages = dockerfile_stages();
  ASSERT_TRUE(stages.count("build")) << "Dockerfile: no `FROM debian:12 AS build` stage";
  ASSERT_TRUE(stages.count("runtime")) << "Dockerfile: no `FROM debian:bookworm-slim AS runtime` stage";
  EXPECT_NE(stages["runtime"].text.find("COPY --from=build"), std::string::npos) << "the runtime stage copies no binary";
  EXPECT_NE(stages["runtime"].text.find("COPY examples"), std::string::npos)
      << "the example configs (examples/distributed/ runs them) are not in the image";
}

TEST(Dockerfile, BuildStageInstallsTheBuildPackagesOfInstallDeps) {
  Packages deps = install_deps_build_packages();
  ASSERT_FALSE(deps.empty()) << "no BUILD_PKGS=( ... ) in scripts/install-deps.sh";
  Packages expected = deps;
  for (auto& [pkg, why] : kNotInBuildStage) {
    // An exception for a package install-deps.sh no longer has is stale: drop it here.
    EXPECT_TRUE(deps.count(pkg)) << pkg << " is listed as left out of the image (" << why
                                 << ") but is not in install-deps.sh's BUILD_PKGS";
    expected.erase(pkg);
  }
  Packages got = dockerfile_stages()["build"].packages;
  EXPECT_EQ(got, expected) << "the Dockerfile's build stage and install-deps.sh's BUILD_PKGS differ:\n"
                           << "  missing from the Dockerfile: " << joined(minus(expected, got)) << "\n"
                           << "  only in the Dockerfile:      " << joined(minus(got, expected)) << "\n"
                           << "Install the same packages in both, or list a deliberate omission in "
                           << "kNotInBuildStage (tests/cli/dockerfile_test.cc).";
}

TEST(Dockerfile, BuildStageBuildsAPortableReleaseBinaryOnly) {
  const std::string build = dockerfile_stages()["build"].text;  // a copy: the map is a temporary
  for (const char* flag : {"-DCMAKE_BUILD_TYPE=Release", "-DHONE_NATIVE=OFF", "-DHONE_BUILD_TESTS=OFF",
                           "-DHONE_BUILD_BENCH=OFF", "--target hone_cli"}) {
    EXPECT_NE(build.find(flag), std::string::npos) << "the build stage lacks " << flag;
  }
}

TEST(Dockerfile, RuntimeStageHasEveryLinkedLibraryAndTheData) {
  Packages deps = install_deps_build_packages();
  Packages runtime = dockerfile_stages()["runtime"].packages;
  for (const Library& lib : kLinked) {
    EXPECT_TRUE(deps.count(lib.dev_package)) << lib.dev_package << " (" << lib.name << ") is not in BUILD_PKGS";
    EXPECT_TRUE(runtime.count(lib.runtime_package))
        << "hone links " << lib.name << ": the runtime stage must install " << lib.runtime_package;
  }
  EXPECT_TRUE(runtime.count("dataset-fashion-mnist")) << "the runtime stage must install dataset-fashion-mnist";
  for (auto& p : runtime) {
    bool dev = p.size() > 4 && p.compare(p.size() - 4, 4, "-dev") == 0;
    EXPECT_FALSE(dev || p == "g++" || p == "cmake") << "the runtime stage installs the build package " << p;
  }
}

// The same question asked of the binary itself: every library it needs (readelf) belongs to a
// Debian package (dpkg -S) that the runtime stage installs, so a new dependency cannot be forgotten.
TEST(Dockerfile, RuntimeStageOwnsEveryLibraryTheBinaryNeeds) {
  std::string dynamic, version;
  if (!capture("readelf -d " HONE_BINARY, dynamic) || !capture("dpkg --version", version)) {
    GTEST_SKIP() << "needs readelf and dpkg (Debian) and a built " HONE_BINARY;
  }
  std::vector<std::string> needed;  // sonames, from lines "0x... (NEEDED) Shared library: [libz.so.1]"
  std::string patterns;
  std::istringstream in(dynamic);
  for (std::string line; std::getline(in, line);) {
    auto lb = line.find('['), rb = line.rfind(']');
    if (line.find("(NEEDED)") == std::string::npos || lb == std::string::npos || rb < lb) continue;
    needed.push_back(line.substr(lb + 1, rb - lb - 1));
    patterns += " '*/" + needed.back() + "'";
  }
  ASSERT_GT(needed.size(), 3u) << "readelf listed no libraries for " HONE_BINARY;

  // One dpkg query for all (each scans every package's file list). Its lines read
  // "pkg[:arch][, pkg2...]: /path/soname"; lib32 variants of the same file may be listed too.
  std::string owners_text;
  capture("dpkg -S" + patterns, owners_text);  // exits 1 when any soname has no owner: checked below
  std::map<std::string, Packages> owners;      // soname -> packages
  std::istringstream lines(owners_text);
  for (std::string o; std::getline(lines, o);) {
    auto colon = o.find(": ");
    if (colon == std::string::npos) continue;
    std::string soname = o.substr(o.rfind('/') + 1);
    std::istringstream names(o.substr(0, colon));
    for (std::string n; std::getline(names >> std::ws, n, ',');) owners[soname].insert(n.substr(0, n.find(':')));
  }

  Packages allowed = dockerfile_stages()["runtime"].packages;
  allowed.insert(kInBaseImage.begin(), kInBaseImage.end());
  allowed.insert(kSanitizerRuntimes.begin(), kSanitizerRuntimes.end());
  for (auto& soname : needed) {
    bool covered = false;
    for (auto& p : owners[soname]) covered = covered || allowed.count(p);
    EXPECT_TRUE(covered) << "hone needs " << soname << " (Debian package: " << joined(owners[soname])
                         << "), which the Dockerfile's runtime stage does not install";
  }
}

}  // namespace
