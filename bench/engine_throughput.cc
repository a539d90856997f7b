// engine_throughput — hone's training engine measured the way the PyTorch peer measures itself.
//
// Peer: bench/peers/torch_mlp_throughput.py (a copy of ../shared/peers/torch_mlp_throughput.py
// with per-row CLI flags); bench/run_engine.sh runs both side by side and prints ratios.
//
// Modes (each prints ONE JSON line on stdout; progress goes to stderr):
//   engine_throughput train --model mlp|cnn --batch N --threads T --epochs E --samples S
//       Fashion-MNIST (load_idx, pixels/255), the first S training images. Each epoch gets a fresh
//       shuffle and mini-batches are gathered from the in-memory tensor; the timed epoch is the
//       Trainer's (forward, loss, backward, Adam(lr 1e-3) step; no evaluation), exactly what the
//       torch script times. Steady state = median of the epochs after the first, in samples/s.
//       Also counts heap allocations (malloc & co., operator new) in every step after the first.
//   engine_throughput gemm [--threads T] [--sizes 1024,2048]
//       Eigen SGEMM peak with ../shared/peers/gemm_peak.cpp's method: square float matrices,
//       2 warm-up calls, max(5, 25e9/flops) timed calls, best and median GFLOP/s (2n^3/t).
//   engine_throughput dense [--threads T] [--batches 256,512]
//       hone's Dense layer (make_layer) forward, backward (dW, db, dx) GFLOP/s for the MLP's and
//       the CNN's dense shapes, beside a raw Eigen GEMM of the forward shape.
#include "nn/eigen.h"  // first: the same EIGEN_STACK_ALLOCATION_LIMIT as the library's kernels

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/dataset.h"
#include "hone/error.h"
#include "hone/layer.h"
#include "hone/loss.h"
#include "hone/model.h"
#include "hone/optimizer.h"
#include "hone/trainer.h"
#include "hone/threads.h"

// Replaces the global allocation functions in this binary (counting only while armed).
#define HONE_ALLOC_COUNTER_DEFINE
#include "../tests/nn/alloc_counter.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double loadavg1() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(std::stoll(s.substr(i, j - i)));
    i = j + 1;
  }
  return out;
}

struct Args {
  std::string mode = "train";
  std::string model = "mlp";
  int64_t batch = 128;
  int threads = 1;
  int epochs = 5;
  int64_t samples = 60000;
  uint64_t seed = 0;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string sizes = "1024,2048";
  std::string batches = "256,512";
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "engine_throughput: " << why << "\n"
            << "usage: engine_throughput train --model mlp|cnn --batch N --threads T --epochs E --samples S\n"
            << "       engine_throughput gemm [--threads T] [--sizes 1024,2048]\n"
            << "       engine_throughput dense [--threads T] [--batches 256,512]\n";
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  int i = 1;
  if (i < argc && argv[i][0] != '-') a.mode = argv[i++];
  for (; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage("missing value for " + k);
    std::string v = argv[++i];
    try {
      if (k == "--model") a.model = v;
      else if (k == "--batch") a.batch = std::stoll(v);
      else if (k == "--threads") a.threads = std::stoi(v);
      else if (k == "--epochs") a.epochs = std::stoi(v);
      else if (k == "--samples") a.samples = std::stoll(v);
      else if (k == "--seed") a.seed = std::stoull(v);
      else if (k == "--data-dir") a.data_dir = v;
      else if (k == "--sizes") a.sizes = v;
      else if (k == "--batches") a.batches = v;
      else usage("unknown option " + k);
    } catch (const std::logic_error&) {
      usage("bad value for " + k + ": " + v);
    }
  }
  if (a.mode != "train" && a.mode != "gemm" && a.mode != "dense") usage("unknown mode " + a.mode);
  if (a.model != "mlp" && a.model != "cnn") usage("--model must be mlp or cnn");
  if (a.batch < 1 || a.threads < 1 || a.epochs < 1 || a.samples < 1) usage("values must be >= 1");
  return a;
}

// The torch peer's models (torch_mlp_throughput.py: mlp() and cnn()).
json model_config(const std::string& kind) {
  if (kind == "mlp")
    return json::parse(R"({"input_shape": [1, 28, 28], "layers": [
      {"type": "flatten"},
      {"type": "dense", "units": 256}, {"type": "relu"},
      {"type": "dense", "units": 128}, {"type": "relu"},
      {"type": "dense", "units": 10}]})");
  return json::parse(R"({"input_shape": [1, 28, 28], "layers": [
    {"type": "conv2d", "filters": 32, "kernel_size": 3}, {"type": "relu"}, {"type": "maxpool2d", "pool_size": 2},
    {"type": "conv2d", "filters": 64, "kernel_size": 3}, {"type": "relu"}, {"type": "maxpool2d", "pool_size": 2},
    {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "relu"}, {"type": "dense", "units": 10}]})");
}

// Counts heap allocations inside the training steps after the very first one. The span between
// two consecutive on_batch_end calls of one epoch is exactly one step (gather the batch, forward,
// loss, backward, optimizer step); so is the span from on_epoch_begin to the first on_batch_end
// (the shuffle is in place). Epoch-end bookkeeping (history, logs) is outside both and not counted.
class StepAllocCounter : public hone::Callback {
 public:
  void on_epoch_begin(hone::Trainer&, int epoch) override {
    cpu0_ = cpu_s();
    if (epoch > 0) open();
  }
  bool on_epoch_end(hone::Trainer&, int, hone::Logs&) override {
    epoch_cpu_s_.push_back(cpu_s() - cpu0_);
    return false;
  }
  void on_batch_end(hone::Trainer&, int64_t b, int64_t batches, double) override {
    if (scope_) {
      scope_->stop();
      allocs_ += scope_->count();
      ++steps_;
      scope_.reset();
    }
    if (b + 1 < batches) open();  // the next step of this epoch
  }
  long allocs() const { return allocs_; }
  long steps() const { return steps_; }
  // Process CPU seconds (all threads) of each epoch: with one thread, a figure that time slices
  // lost to other processes on a busy machine do not inflate.
  const std::vector<double>& epoch_cpu_s() const { return epoch_cpu_s_; }

 private:
  static double cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  double cpu0_ = 0;
  std::vector<double> epoch_cpu_s_;
  void open() { scope_.emplace(); }
  std::optional<hone::testing::AllocScope> scope_;
  long allocs_ = 0;
  long steps_ = 0;
};

json run_train(const Args& a) {
  const double t_load = now_s();
  hone::Dataset full = hone::load_idx(a.data_dir + "/train-images-idx3-ubyte.gz",
                                      a.data_dir + "/train-labels-idx1-ubyte.gz");
  const double load_s = now_s() - t_load;
  hone::Dataset train;
  const int64_t n = std::min<int64_t>(a.samples, full.size());
  if (n < full.size()) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;  // Xtr[:n_samples], as torch
    train = full.subset(idx);
  } else {
    train = std::move(full);
  }

  json mc = model_config(a.model);
  mc["seed"] = a.seed;
  hone::Model model = hone::Model::from_config(mc);
  auto loss = hone::make_loss("cross_entropy");
  auto opt = hone::make_optimizer(json{{"type", "adam"}, {"lr", 1e-3}});
  hone::TrainOptions o;
  o.epochs = a.epochs;
  o.batch_size = a.batch;
  o.threads = a.threads;
  o.seed = a.seed;
  hone::Trainer trainer(model, *loss, *opt, nullptr, o);
  auto counter = std::make_shared<StepAllocCounter>();
  trainer.add_callback(counter);

  const double load0 = loadavg1();
  const double t0 = now_s();
  hone::History h = trainer.fit(train, nullptr);
  const double wall = now_s() - t0;

  std::vector<double> ep = h.values("time_s");
  std::vector<double> rest(ep.begin() + (ep.size() > 1 ? 1 : 0), ep.end());
  const double steady = median(rest);
  std::vector<double> ep_r;
  for (double t : ep) ep_r.push_back(std::round(t * 1000.0) / 1000.0);
  const std::vector<double> losses = h.values("loss");
  std::vector<double> cpu = counter->epoch_cpu_s(), cpu_r;
  for (double t : cpu) cpu_r.push_back(std::round(t * 1000.0) / 1000.0);
  const double cpu_steady = median(std::vector<double>(cpu.begin() + (cpu.size() > 1 ? 1 : 0), cpu.end()));
  json row{{"engine", "hone"},
           {"model", a.model},
           {"batch", a.batch},
           {"threads", a.threads},
           {"epoch_samples", n},
           {"epochs", a.epochs},
           {"epoch_s", ep_r},
           {"samples_per_s", std::round(static_cast<double>(n) / steady * 10.0) / 10.0},
           {"epoch_cpu_s", cpu_r},
           {"samples_per_cpu_s", std::round(static_cast<double>(n) / std::max(cpu_steady, 1e-9) * 10.0) / 10.0},
           {"first_epoch_samples_per_s", ep.empty() ? 0.0 : std::round(static_cast<double>(n) / ep[0] * 10.0) / 10.0},
           {"final_epoch_loss", losses.empty() ? 0.0 : losses.back()},
           {"train_accuracy_last_epoch", h.values("accuracy").empty() ? 0.0 : h.values("accuracy").back()},
           {"steps_counted", counter->steps()},
           {"allocs_after_first_step", counter->allocs()},
           {"counts_malloc", hone::testing::counts_malloc()},
           {"num_params", model.num_params()},
           {"load_s", std::round(load_s * 1000.0) / 1000.0},
           {"fit_wall_s", std::round(wall * 1000.0) / 1000.0},
           {"loadavg_before", load0},
           {"loadavg_after", loadavg1()}};
  return row;
}

template <class F>
std::vector<double> time_reps(F&& f, int reps) {
  std::vector<double> t;
  t.reserve(static_cast<size_t>(reps));
  for (int r = 0; r < reps; ++r) {
    double t0 = now_s();
    f();
    t.push_back(now_s() - t0);
  }
  return t;
}

// gemm_peak.cpp's Eigen branch, verbatim in method (same fill, warm-ups, repetitions, statistics).
json run_gemm(const Args& a) {
  hone::ThreadScope threads(a.threads);
  json rows = json::array();
  for (int64_t n : parse_list(a.sizes)) {
    const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    const int reps = std::max(5, static_cast<int>(25e9 / flops));
    Eigen::MatrixXf A(n, n), B(n, n), C(n, n);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < n; ++i) {
        size_t k = static_cast<size_t>(i * n + j);
        A(i, j) = static_cast<float>((k * 7919) % 1000) / 1000.f - 0.5f;
        B(i, j) = static_cast<float>((k * 104729) % 1000) / 1000.f - 0.5f;
      }
    for (int w = 0; w < 2; ++w) C.noalias() = A * B;
    std::vector<double> g;
    for (double t : time_reps([&] { C.noalias() = A * B; }, reps)) g.push_back(flops / t / 1e9);
    rows.push_back({{"n", n},
                    {"reps", reps},
                    {"best_gflops", std::round(*std::max_element(g.begin(), g.end()) * 10) / 10},
                    {"median_gflops", std::round(median(g) * 10) / 10},
                    {"checksum", static_cast<double>(C(0, 0)) + C(n - 1, n - 1)}});
  }
  return json{{"engine", "eigen"}, {"mode", "gemm"}, {"threads", a.threads},
              {"eigen_nb_threads", Eigen::nbThreads()}, {"rows", rows}, {"loadavg", loadavg1()}};
}

// Times f() in blocks of `inner` calls until ~min_s seconds have passed (at least 5 blocks);
// returns the best and the median seconds per call.
template <class F>
std::pair<double, double> per_call(F&& f, double min_s = 0.25) {
  f();
  f();  // warm-up: first-call resizes and Eigen's blocking
  double t0 = now_s();
  f();
  double one = std::max(now_s() - t0, 1e-7);
  const int inner = std::max(1, static_cast<int>(0.02 / one));
  std::vector<double> per;
  double start = now_s();
  while (per.size() < 5 || now_s() - start < min_s) {
    double s = now_s();
    for (int i = 0; i < inner; ++i) f();
    per.push_back((now_s() - s) / inner);
  }
  return {*std::min_element(per.begin(), per.end()), median(per)};
}

json run_dense(const Args& a) {
  hone::ThreadScope threads(a.threads);
  struct ShapeCase {
    int64_t in, out;
    const char* where;
  };
  const std::vector<ShapeCase> cases = {
      {784, 256, "mlp fc1"}, {256, 128, "mlp fc2"}, {128, 10, "mlp fc3"}, {1600, 128, "cnn fc1"}};
  json rows = json::array();
  hone::Rng rng(7);
  for (int64_t batch : parse_list(a.batches)) {
    for (const ShapeCase& c : cases) {
      auto layer = hone::make_layer(json{{"type", "dense"}, {"units", c.out}});
      layer->build(hone::Shape{c.in}, rng);
      hone::Tensor x(hone::Shape{batch, c.in}), y, dy(hone::Shape{batch, c.out}), dx;
      for (int64_t i = 0; i < x.size(); ++i) x[i] = hone::uniform01f(rng) - 0.5f;
      for (int64_t i = 0; i < dy.size(); ++i) dy[i] = (hone::uniform01f(rng) - 0.5f) * 0.01f;
      const double gemm = 2.0 * static_cast<double>(batch * c.in * c.out);  // one GEMM of this layer
      auto [fwd_best, fwd_med] = per_call([&] { layer->forward(x, y, true); });
      auto [bwd_best, bwd_med] = per_call([&] { layer->backward(x, y, dy, &dx); });
      auto [bnx_best, bnx_med] = per_call([&] { layer->backward(x, y, dy, nullptr); });
      auto [step_best, step_med] = per_call([&] {
        layer->forward(x, y, true);
        layer->backward(x, y, dy, &dx);
      });
      // The same forward product as a bare Eigen GEMM into a preallocated matrix: what Eigen
      // itself reaches at this shape (the layer adds the bias broadcast on top).
      hone::Tensor w(hone::Shape{c.in, c.out}, 0.01f), yr(hone::Shape{batch, c.out});
      auto [ref_best, ref_med] = per_call([&] {
        hone::nn::mat(yr.data(), batch, c.out).noalias() =
            hone::nn::mat(static_cast<const float*>(x.data()), batch, c.in) *
            hone::nn::mat(static_cast<const float*>(w.data()), c.in, c.out);
      });
      auto g = [](double f, double t) { return std::round(f / t / 1e9 * 10) / 10; };
      rows.push_back({{"layer", c.where},
                      {"in", c.in},
                      {"out", c.out},
                      {"batch", batch},
                      {"fwd_gflops", g(gemm, fwd_med)},
                      {"bwd_gflops", g(2 * gemm, bwd_med)},
                      {"bwd_no_dx_gflops", g(gemm, bnx_med)},
                      {"fwd_bwd_gflops", g(3 * gemm, step_med)},
                      {"fwd_bwd_best_gflops", g(3 * gemm, step_best)},
                      {"eigen_fwd_gemm_gflops", g(gemm, ref_med)},
                      {"fwd_bwd_us", std::round(step_med * 1e7) / 10}});
      std::cerr << rows.back().dump() << "\n";
    }
  }
  return json{{"engine", "hone"}, {"mode", "dense"}, {"threads", a.threads}, {"rows", rows},
              {"loadavg", loadavg1()}};
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse_args(argc, argv);
  try {
    json out;
    if (a.mode == "train") out = run_train(a);
    else if (a.mode == "gemm") out = run_gemm(a);
    else out = run_dense(a);
    out["mode"] = a.mode;
    std::cout << out.dump() << std::endl;
    return 0;
  } catch (const hone::Error& e) {
    std::cerr << "engine_throughput: " << e.what() << "\n";
    return 1;
  }
}
