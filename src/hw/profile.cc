// `hone profile`: training steps with every layer timed, FLOPs, memory, process counters and an
// optional Chrome trace (trace-event JSON, X events in microseconds, C counters for memory).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/files.h"
#include "hone/hw.h"
#include "hone/threads.h"
#include "hw/hw_internal.h"

namespace hone {

namespace {

using Clock = std::chrono::steady_clock;

struct Event {
  const std::string* name;  // points into a stable list of names
  const char* cat;
  double ts, dur;           // microseconds since the profile began
};

int64_t config_batch(const nlohmann::json& config) {
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  if (train.contains("batch_size") && train["batch_size"].is_number_integer()) return train["batch_size"].get<int64_t>();
  return 32;
}

}  // namespace

ProfileResult profile_training(const nlohmann::json& config_in, const DataSplits& data, const ProfileOptions& o) {
  if (o.wait < 0 || o.warmup < 0 || o.active < 1)
    throw_invalid("profile schedule: wait and warmup must be >= 0 and active >= 1");
  nlohmann::json config = config_in;
  config.erase("estimate");
  TrainingParts parts = validate_run_config(config);
  if (!parts.loss) parts.loss = make_loss(data.train.is_classification() ? "cross_entropy" : "mse", "train.loss");
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  const int64_t n = data.train.size();
  if (n == 0) throw_invalid("profile: the training data set is empty");

  ProfileResult r;
  r.threads = o.threads > 0 ? o.threads : static_cast<int>(get_int(train, "threads", 1, "train"));
  if (r.threads < 1) throw_invalid("train.threads must be >= 1");
  r.batch_size = std::min<int64_t>(o.batch_size > 0 ? o.batch_size : config_batch(config), n);
  if (r.batch_size < 1) throw_invalid("train.batch_size must be > 0");
  r.active_steps = o.active;
  const int64_t B = r.batch_size;

  const nlohmann::json model_cfg = expand_model_config(config, data);
  const std::vector<LayerShape> shapes = walk_layers(model_cfg);
  Model model = Model::from_config(model_cfg, "model");
  const size_t L = shapes.size();
  size_t first = L;
  for (size_t i = L; i-- > 0;)
    if (!model.layer(i).params().empty()) first = i;
  const std::vector<Param> params = model.params();

  ThreadScope scope(r.threads);
  std::vector<Tensor> acts(L), grads(L);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(derive_seed(static_cast<uint64_t>(get_int(config, "seed", 0, "config")), 4242));
  std::shuffle(order.begin(), order.end(), rng);
  Tensor xb, yb, dlogits;

  std::vector<double> fwd(L, 0.0), bwd(L, 0.0);
  std::vector<std::string> names;
  for (size_t i = 0; i < L; ++i) {
    names.push_back(model.layer(i).name() + ".forward");
    names.push_back(model.layer(i).name() + ".backward");
  }
  const std::vector<std::string> phase = {"data", "forward", "loss", "backward", "optimizer", "step"};
  std::vector<Event> events;
  std::vector<std::pair<double, std::pair<int64_t, int64_t>>> mem;  // ts, (rss, tensor bytes)
  if (o.trace) events.reserve(static_cast<size_t>(o.active) * (2 * L + 6));

  const int total = o.wait + o.warmup + o.active;
  const auto origin = Clock::now();
  auto us = [&](Clock::time_point t) { return std::chrono::duration<double, std::micro>(t - origin).count(); };
  CounterSession counters;
  int64_t cursor = 0;
  for (int step = 0; step < total; ++step) {
    const bool record = step >= o.wait + o.warmup;
    if (step == o.wait + o.warmup) counters.start();
    auto t0 = Clock::now();
    if (cursor + B > n) cursor = 0;
    xb.copy_rows_from(data.train.x, order.data() + cursor, B);
    yb.copy_rows_from(data.train.y, order.data() + cursor, B);
    cursor += B;
    auto t1 = Clock::now();
    const Tensor* cur = &xb;
    for (size_t i = 0; i < L; ++i) {
      auto a = Clock::now();
      model.layer(i).forward(*cur, acts[i], true);
      auto b = Clock::now();
      if (record) {
        fwd[i] += std::chrono::duration<double>(b - a).count();
        if (o.trace) events.push_back({&names[2 * i], "layer", us(a), us(b) - us(a)});
      }
      cur = &acts[i];
    }
    auto t2 = Clock::now();
    parts.loss->compute(acts[L - 1], yb, &dlogits);
    auto t3 = Clock::now();
    const Tensor* g = &dlogits;
    for (size_t i = L; i-- > first;) {
      const Tensor& x = i == 0 ? xb : acts[i - 1];
      Tensor* dx = i == first ? nullptr : &grads[i - 1];
      auto a = Clock::now();
      model.layer(i).backward(x, acts[i], *g, dx);
      auto b = Clock::now();
      if (record) {
        bwd[i] += std::chrono::duration<double>(b - a).count();
        if (o.trace) events.push_back({&names[2 * i + 1], "layer", us(a), us(b) - us(a)});
      }
      g = dx;
    }
    auto t4 = Clock::now();
    parts.optimizer->step(params);
    auto t5 = Clock::now();
    if (!record) continue;
    auto sec = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
    r.data_s += sec(t0, t1);
    r.forward_s += sec(t1, t2);
    r.loss_s += sec(t2, t3);
    r.backward_s += sec(t3, t4);
    r.optimizer_s += sec(t4, t5);
    r.step_s += sec(t0, t5);
    if (o.trace) {
      const Clock::time_point ts[] = {t0, t1, t2, t3, t4, t5};
      for (int k = 0; k < 5; ++k) events.push_back({&phase[static_cast<size_t>(k)], "phase", us(ts[k]), us(ts[k + 1]) - us(ts[k])});
      events.push_back({&phase[5], "step", us(t0), us(t5) - us(t0)});
      mem.push_back({us(t5), {current_rss_bytes(), tensor_memory().current}});
    }
  }
  r.counters = counters.stop();
  const double a = static_cast<double>(o.active);
  for (double* v : {&r.data_s, &r.forward_s, &r.loss_s, &r.backward_s, &r.optimizer_s, &r.step_s}) *v /= a;

  r.peak_gflops = o.machine ? o.machine->peak_gflops(r.threads) : 0.0;
  const double Bd = static_cast<double>(B);
  for (size_t i = 0; i < L; ++i) {
    Layer& layer = model.layer(i);
    LayerProfile lp;
    lp.name = layer.name();
    lp.type = layer.type();
    lp.forward_s = fwd[i] / a;
    lp.backward_s = bwd[i] / a;
    const double f = layer.flops_per_sample() * Bd;
    lp.forward_flops = f;
    lp.backward_flops = i < first || layer.params().empty() ? 0.0 : (i > first ? 2.0 * f : f);
    const double t = lp.forward_s + lp.backward_s;
    lp.gflops = t > 0 ? (lp.forward_flops + lp.backward_flops) / t / 1e9 : 0.0;
    if (r.peak_gflops > 0 && lp.forward_flops > 0) lp.peak_percent = 100.0 * lp.gflops / r.peak_gflops;
    for (const Param& p : layer.params()) lp.param_bytes += p.value->size() * 4;
    lp.activation_bytes = (acts[i].size() + (i < L - 1 ? grads[i].size() : 0)) * 4;
    r.layer_flops += lp.forward_flops + lp.backward_flops;
    r.layers.push_back(std::move(lp));
  }
  for (const LayerShape& s : shapes) r.analytic_flops += (s.flops + s.backward_flops) * Bd;

  if (o.trace) {
    nlohmann::json ev = nlohmann::json::array();
    ev.push_back({{"ph", "M"}, {"pid", 1}, {"tid", 1}, {"name", "process_name"}, {"args", {{"name", "hone profile"}}}});
    ev.push_back({{"ph", "M"}, {"pid", 1}, {"tid", 1}, {"name", "thread_name"}, {"args", {{"name", "train step"}}}});
    // Start and end are floored to 1/1024 µs, a binary fraction, so that a viewer's ts + dur is
    // exact: with decimal microseconds, ts + dur of a phase can land a rounding error after the
    // next phase's ts, and viewers that pair begin/end events (speedscope; Perfetto drops such
    // slices) nest every later event inside it. Flooring keeps children inside their parents.
    // Parents come first (start, then the longer first), the order viewers expect.
    auto q = [](double us) { return std::floor(us * 1024.0) / 1024.0; };
    std::vector<const Event*> order;
    for (const Event& e : events) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [&](const Event* a, const Event* b) {
      const double ta = q(a->ts), tb = q(b->ts);
      return ta != tb ? ta < tb : q(a->ts + a->dur) > q(b->ts + b->dur);
    });
    for (const Event* e : order)
      ev.push_back({{"ph", "X"}, {"pid", 1}, {"tid", 1}, {"cat", e->cat}, {"name", *e->name}, {"ts", q(e->ts)},
                    {"dur", q(e->ts + e->dur) - q(e->ts)}});
    for (const auto& [ts, m] : mem)
      ev.push_back({{"ph", "C"}, {"pid", 1}, {"tid", 1}, {"name", "memory"}, {"ts", std::round(ts)},
                    {"args", {{"rss_bytes", m.first}, {"tensor_bytes", m.second}}}});
    r.trace = {{"traceEvents", ev},
               {"displayTimeUnit", "ms"},
               {"otherData", {{"schedule", {{"wait", o.wait}, {"warmup", o.warmup}, {"active", o.active}}},
                              {"batch_size", B}, {"threads", r.threads}}}};
  }
  return r;
}

std::string write_run_profile(const nlohmann::json& config, const DataSplits& data, const ProcessCounters& run,
                              const std::string& dir) {
  MachineInfo m = load_machine(false);
  ProfileOptions o;
  o.machine = &m;
  ProfileResult r = profile_training(config, data, o);
  nlohmann::json j = r.to_json();
  j["run_counters"] = run.to_json();
  j["machine"] = m.to_json();
  write_text((std::filesystem::path(dir) / "profile.json").string(), j.dump(2) + "\n");
  return format_profile(r);
}

void write_trace(const ProfileResult& r, const std::string& path) {
  if (r.trace.is_null()) throw_invalid("write_trace: the profile was taken without trace = true");
  write_text(path, r.trace.dump() + "\n");
}

nlohmann::json ProfileResult::to_json() const {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers)
    ls.push_back({{"name", l.name}, {"type", l.type}, {"forward_s", l.forward_s}, {"backward_s", l.backward_s},
                  {"forward_flops", l.forward_flops}, {"backward_flops", l.backward_flops}, {"gflops", l.gflops},
                  {"peak_percent", l.peak_percent}, {"param_bytes", l.param_bytes},
                  {"activation_bytes", l.activation_bytes}});
  return {{"batch_size", batch_size},   {"threads", threads},         {"active_steps", active_steps},
          {"data_s", data_s},           {"forward_s", forward_s},     {"loss_s", loss_s},
          {"backward_s", backward_s},   {"optimizer_s", optimizer_s}, {"step_s", step_s},
          {"compute_s", forward_s + loss_s + backward_s},
          {"layer_flops", layer_flops}, {"analytic_flops", analytic_flops}, {"peak_gflops", peak_gflops},
          {"layers", ls},               {"counters", counters.to_json()}};
}

std::string format_profile(const ProfileResult& r) {
  std::string s = fmt::format("profile: batch {}, {} thread{}, {} active steps; per step {:.3f} ms = data {:.3f} + "
                              "compute {:.3f} (forward {:.3f}, loss {:.3f}, backward {:.3f}) + optimizer {:.3f}\n",
                              r.batch_size, r.threads, r.threads > 1 ? "s" : "", r.active_steps, r.step_s * 1e3,
                              r.data_s * 1e3, (r.forward_s + r.loss_s + r.backward_s) * 1e3, r.forward_s * 1e3,
                              r.loss_s * 1e3, r.backward_s * 1e3, r.optimizer_s * 1e3);
  s += fmt::format("  {:<14} {:>10} {:>10} {:>12} {:>9} {:>7} {:>11} {:>11}\n", "layer", "fwd ms", "bwd ms", "MFLOP/step",
                   "GFLOP/s", "% peak", "params", "activations");
  auto mib = [](int64_t b) { return fmt::format("{:.2f} MiB", static_cast<double>(b) / (1024.0 * 1024.0)); };
  for (const auto& l : r.layers)
    s += fmt::format("  {:<14} {:>10.4f} {:>10.4f} {:>12.2f} {:>9.1f} {:>7} {:>11} {:>11}\n", l.name, l.forward_s * 1e3,
                     l.backward_s * 1e3, (l.forward_flops + l.backward_flops) / 1e6, l.gflops,
                     l.peak_percent >= 0 ? fmt::format("{:.0f}%", l.peak_percent) : std::string("-"),
                     mib(l.param_bytes), mib(l.activation_bytes));
  s += fmt::format("  FLOPs per step: layers {:.4g}, analytic {:.4g}", r.layer_flops, r.analytic_flops);
  if (r.peak_gflops > 0) s += fmt::format("; machine peak {:.1f} GFLOP/s at {} threads", r.peak_gflops, r.threads);
  s += "\n";
  for (const auto& l : r.layers)
    if (l.peak_percent > 110) {
      s += "  note: a layer runs above the probe's peak, so the probe was measured under load or at another "
           "setting; `hone machine --refresh` on a quiet machine\n";
      break;
    }
  const ProcessCounters& c = r.counters;
  s += fmt::format("process counters over the active steps ({}):\n", c.perf_event ? "perf_event + getrusage + /proc/self/io"
                                                                                  : "getrusage + /proc/self/io; perf_event did not open");
  s += fmt::format("  CPU time user {:.3f} s, system {:.3f} s (wall {:.3f} s)\n", c.user_s, c.system_s, c.wall_s);
  s += fmt::format("  context switches {} (voluntary {}, involuntary {}), CPU migrations {}\n", c.context_switches,
                   c.voluntary_switches, c.involuntary_switches,
                   c.cpu_migrations >= 0 ? std::to_string(c.cpu_migrations) : std::string("n/a"));
  s += fmt::format("  page faults minor {}, major {}; I/O read {} B, written {} B (storage), {} / {} B (all read/write "
                   "calls); peak RSS {}\n",
                   c.minor_faults, c.major_faults, c.read_bytes, c.write_bytes, c.read_chars, c.write_chars,
                   mib(c.peak_rss_bytes));
  return s;
}

}  // namespace hone
