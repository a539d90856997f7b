// Helpers of the dashboard tests: studies with the awkward shapes the issue names (NaN values, no
// trials, one trial, 100 parameters, conditional parameters), and a plain HTTP/1.0 client, so
// that the tests see exactly the bytes a browser would.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hone/tune/storage.h"

namespace hone_dash_test {

using hone::Distribution;
using hone::FrozenTrial;
using hone::Storage;
using hone::TrialState;

// A trial with `params` ({name: {internal value, distribution}}) and `steps` reported values.
inline int64_t add_trial(Storage& s, int64_t study, TrialState state, std::optional<double> value,
                         const std::map<std::string, std::pair<double, Distribution>>& params,
                         const std::map<int64_t, double>& steps = {}) {
  FrozenTrial t;
  t.state = state;
  t.value = value;
  for (auto& [name, pd] : params) {
    t.params[name] = pd.first;
    t.distributions[name] = pd.second;
  }
  t.intermediate_values = steps;
  t.datetime_start = hone::Clock::now() - std::chrono::seconds(2);
  if (hone::is_finished(state)) t.datetime_complete = hone::Clock::now();
  return s.create_new_trial(study, &t);
}

inline Distribution lr_dist() { return Distribution::real(1e-4, 1e-1, true); }
inline Distribution opt_dist() { return Distribution::categorical({"adam", "sgd"}); }

// The studies of the edge cases; returns {name: id}.
inline std::map<std::string, int64_t> make_edge_studies(Storage& s) {
  std::map<std::string, int64_t> ids;
  using hone::Direction;
  // NaN: a complete trial whose value is NaN, NaN intermediate values, an infinite one.
  int64_t id = ids["nan"] = s.create_new_study(Direction::kMinimize, "nan");
  add_trial(s, id, TrialState::kComplete, 0.5, {{"lr", {0.01, lr_dist()}}}, {{0, 1.0}, {1, 0.5}});
  add_trial(s, id, TrialState::kComplete, std::nan(""), {{"lr", {0.02, lr_dist()}}}, {{0, std::nan("")}});
  add_trial(s, id, TrialState::kComplete, 0.25, {{"lr", {0.03, lr_dist()}}}, {{0, 0.7}, {1, 0.25}});
  add_trial(s, id, TrialState::kPruned, std::nan(""), {{"lr", {0.04, lr_dist()}}}, {{0, std::nan("")}});
  add_trial(s, id, TrialState::kComplete, HUGE_VAL, {{"lr", {0.05, lr_dist()}}});
  add_trial(s, id, TrialState::kFail, std::nullopt, {{"lr", {0.06, lr_dist()}}});
  ids["empty"] = s.create_new_study(Direction::kMaximize, "empty");
  id = ids["one"] = s.create_new_study(Direction::kMaximize, "one");
  add_trial(s, id, TrialState::kComplete, 0.75, {{"lr", {0.001, lr_dist()}}, {"optimizer", {1, opt_dist()}}},
            {{0, 0.5}, {1, 0.75}});
  // 100 parameters, 12 trials.
  id = ids["wide"] = s.create_new_study(Direction::kMinimize, "wide");
  for (int t = 0; t < 12; ++t) {
    std::map<std::string, std::pair<double, Distribution>> p;
    double v = 0;
    for (int i = 0; i < 100; ++i) {
      const double x = std::fmod(0.37 * (t + 1) * (i + 3), 1.0);
      p["p" + std::to_string(100 + i)] = {x, Distribution::real(0, 1)};
      v += (i % 7 == 0) * x;
    }
    add_trial(s, id, TrialState::kComplete, v, p);
  }
  // Conditional: momentum only with sgd, beta2 only with adam.
  id = ids["conditional"] = s.create_new_study(Direction::kMinimize, "conditional");
  for (int t = 0; t < 10; ++t) {
    const bool sgd = t % 2;
    std::map<std::string, std::pair<double, Distribution>> p = {{"optimizer", {sgd ? 1.0 : 0.0, opt_dist()}},
                                                                {"lr", {0.001 * (t + 1), lr_dist()}}};
    if (sgd) p["momentum"] = {0.1 * t, Distribution::real(0, 1)};
    else p["beta2"] = {0.9 + 0.009 * t, Distribution::real(0.9, 0.999)};
    add_trial(s, id, TrialState::kComplete, 1.0 / (t + 1), p, {{0, 2.0 / (t + 1)}, {1, 1.0 / (t + 1)}});
  }
  return ids;
}

struct Response {
  int status = 0;
  std::string headers;  // the raw header block
  std::string body;
  std::string header(const std::string& name) const {  // first value, case-insensitive
    std::string lower_h = headers, lower_n = name + ":";
    for (auto& c : lower_h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : lower_n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t p = lower_h.find("\n" + lower_n);
    if (p == std::string::npos) return "";
    p += lower_n.size() + 1;
    size_t e = headers.find('\r', p);
    std::string v = headers.substr(p, e - p);
    return v.substr(v.find_first_not_of(' '));
  }
};

// One request to 127.0.0.1:port; `extra` are header lines ("Authorization: Bearer x\r\n").
inline Response http(int port, const std::string& target, const std::string& extra = "",
                     const std::string& method = "GET") {
  Response r;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return r;  // status 0: nothing listens
  }
  std::string req = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return r;
  }
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) all.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.headers = all.substr(0, end + 2);
  r.body = all.substr(end + 4);
  return r;
}

}  // namespace hone_dash_test
