// `hone estimate`: the memory of a training run before it runs, broken down, and the ZeRO /
// data-parallel table. Layer shapes, parameters and FLOPs are walked from the config alone, so
// models far beyond this machine are answered without allocating them.
#include <algorithm>
#include <cmath>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/optimizer.h"
#include "hone/tensor.h"
#include "hw/hw_internal.h"

namespace hone {

namespace {

constexpr int64_t kF = sizeof(float);
// Eigen's GEMM packs blocks of both operands on the stack of each thread (the blocking is sized
// to the caches); the dense layers' small-batch kernel needs none. Measured with `hone estimate`
// against peak RSS (docs/BENCHMARKS.md): about 1 MiB of touched stack per thread.
constexpr int64_t kGemmPackBytesPerThread = 1 << 20;
// The dense layers' input-gradient scratch holds this many rows (src/nn/dense.cc).
constexpr int64_t kDenseScratchRows = 64;

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

void pair_of(const nlohmann::json& cfg, const std::string& key, int64_t def, const std::string& where,
             int64_t* h, int64_t* w) {
  if (!cfg.contains(key)) {
    *h = *w = def;
    return;
  }
  const auto& v = cfg[key];
  if (v.is_array() && v.size() == 2) {
    *h = v[0].get<int64_t>();
    *w = v[1].get<int64_t>();
  } else {
    *h = *w = get_int(cfg, key, def, where);
  }
  require_positive(static_cast<double>(*h), key, where);
  require_positive(static_cast<double>(*w), key, where);
}

// glibc malloc as far as a training run's RSS sees it: a block at or above the mmap threshold
// is mapped (and unmapped when freed, raising the threshold to its size up to 32 MiB); a smaller
// one comes from the heap, where a freed block stays resident as a hole that later blocks may
// reuse. The evaluation passes grow the layers' forward buffers from the batch to the
// validation and test rows, and the holes left behind are part of the measured peak.
class AllocSim {
 public:
  struct Block {
    int64_t size = 0;
    bool mapped = false;
  };
  explicit AllocSim(int64_t threshold) : threshold_(threshold) {}
  Block alloc(int64_t s) {
    Block b{s, s >= threshold_};
    if (!b.mapped)
      for (int64_t& h : holes_)
        if (h >= s) {
          h -= s;
          return b;
        }
    rss_ += s;
    peak_ = std::max(peak_, rss_);
    return b;
  }
  void free(const Block& b) {
    if (b.size == 0) return;
    if (!b.mapped) {
      holes_.push_back(b.size);
      return;
    }
    rss_ -= b.size;
    if (b.size > threshold_ && b.size <= kMaxThreshold) threshold_ = b.size;
  }
  int64_t peak() const { return peak_; }
  static constexpr int64_t kDefaultThreshold = 128 * 1024, kMaxThreshold = 32 * 1024 * 1024;

 private:
  int64_t threshold_, rss_ = 0, peak_ = 0;
  std::vector<int64_t> holes_;
};

}  // namespace

std::vector<LayerShape> walk_layers(const nlohmann::json& model_cfg) {
  const std::string where = "model";
  std::vector<int64_t> s = get_ints(model_cfg, "input_shape", {}, where);
  if (s.empty()) throw_invalid("model.input_shape: required to estimate without data (e.g. [1, 28, 28])");
  if (!model_cfg.contains("layers") || !model_cfg["layers"].is_array())
    throw_invalid("model.layers: expected an array of layer tables");
  std::vector<LayerShape> out;
  std::map<std::string, int> counts;
  for (size_t i = 0; i < model_cfg["layers"].size(); ++i) {
    const nlohmann::json& l = model_cfg["layers"][i];
    const std::string w = "model.layers[" + std::to_string(i) + "]";
    LayerShape ls;
    ls.type = get_string(l, "type", "", w);
    ls.name = ls.type + std::to_string(++counts[ls.type]);
    ls.in = s;
    const int64_t in_n = numel(s);
    if (ls.type == "dense") {
      const int64_t units = get_int(l, "units", 0, w);
      require_positive(static_cast<double>(units), "units", w);
      const int64_t fin = s.back();
      ls.params = fin * units + (get_bool(l, "bias", true, w) ? units : 0);
      ls.flops = 2.0 * static_cast<double>(in_n) * static_cast<double>(units);
      ls.fin = fin;
      ls.units = units;
      s.back() = units;
    } else if (ls.type == "conv2d") {
      if (s.size() != 3) throw_invalid(w + ": conv2d expects (C, H, W) inputs");
      const int64_t oc = get_int(l, "filters", 0, w);
      require_positive(static_cast<double>(oc), "filters", w);
      int64_t kh, kw, sh, sw, ph = 0, pw = 0;
      pair_of(l, "kernel_size", 3, w, &kh, &kw);
      pair_of(l, "stride", 1, w, &sh, &sw);
      if (l.contains("padding")) {
        if (l["padding"].is_string()) {
          if (l["padding"] == "same") ph = (kh - 1) / 2, pw = (kw - 1) / 2;
        } else {
          ph = pw = get_int(l, "padding", 0, w);
        }
      }
      const int64_t oh = (s[1] + 2 * ph - kh) / sh + 1, ow = (s[2] + 2 * pw - kw) / sw + 1;
      if (oh <= 0 || ow <= 0) throw_invalid(w + ": the kernel does not fit the input");
      const int64_t K = s[0] * kh * kw, P = oh * ow;
      ls.params = oc * K + (get_bool(l, "bias", true, w) ? oc : 0);
      ls.flops = 2.0 * static_cast<double>(oc) * static_cast<double>(K) * static_cast<double>(P);
      ls.conv_rows = K;
      ls.conv_cols = P;
      ls.units = oc;
      s = {oc, oh, ow};
    } else if (ls.type == "maxpool2d" || ls.type == "avgpool2d") {
      if (s.size() != 3) throw_invalid(w + ": " + ls.type + " expects (C, H, W) inputs");
      int64_t kh, kw, sh, sw;
      pair_of(l, "pool_size", 2, w, &kh, &kw);
      pair_of(l, "stride", 0, w, &sh, &sw);
      if (!l.contains("stride")) sh = kh, sw = kw;
      s = {s[0], (s[1] - kh) / sh + 1, (s[2] - kw) / sw + 1};
      if (ls.type == "maxpool2d") ls.cache_per_sample_out = 1;  // int32 argmax per output
    } else if (ls.type == "global_avg_pool") {
      s = {s[0]};
    } else if (ls.type == "flatten") {
      s = {in_n};
    } else if (ls.type == "dropout") {
      ls.train_cache_per_sample = in_n;  // the mask
    } else if (ls.type == "batchnorm") {
      ls.params = 2 * s[0];
      ls.buffers = 2 * s[0];
    } else if (ls.type == "layernorm") {
      ls.params = 2 * in_n;
      ls.per_row_cache = 2;  // mean, invstd per sample
    } else if (ls.type == "embedding") {
      const int64_t ne = get_int(l, "num_embeddings", 0, w), dim = get_int(l, "dim", 0, w);
      ls.params = ne * dim;
      s.push_back(dim);
    } else if (ls.type == "relu" || ls.type == "leaky_relu" || ls.type == "tanh" || ls.type == "sigmoid" ||
               ls.type == "gelu" || ls.type == "softmax") {
      // elementwise: output only
    } else {
      throw_invalid(w + ".type: unknown layer type \"" + ls.type + "\"");
    }
    ls.out = s;
    out.push_back(ls);
  }
  // Backward stops at the lowest layer with parameters (Model::backward).
  size_t first = out.size();
  for (size_t i = out.size(); i-- > 0;)
    if (out[i].params > 0) first = i;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].trainable_path = i >= first;
    out[i].needs_dx = i > first;
    const double f = out[i].flops;
    out[i].backward_flops = i < first ? 0.0 : out[i].params > 0 ? (out[i].needs_dx ? 2.0 * f : f) : 0.0;
  }
  return out;
}

double state_floats_per_param(Optimizer& opt) {
  Tensor w(Shape{64}, 0.5f), g(Shape{64}, 0.1f);
  std::vector<Param> ps{{"w", &w, &g, true}};
  const double lr = opt.lr();
  opt.step(ps);
  opt.set_lr(lr);
  return static_cast<double>(opt.state_bytes()) / (64.0 * kF);
}

std::vector<ShardingRow> zero_table(double params, int64_t devices, const std::string& precision,
                                    double optimizer_bytes_per_param) {
  if (devices < 1) throw_invalid("estimate.devices must be >= 1");
  double p, g;
  if (precision == "mixed") p = g = 2.0;
  else if (precision == "fp32") p = g = 4.0;
  else throw_invalid("estimate.precision: expected \"fp32\" or \"mixed\", got \"" + precision + "\"");
  const double P = p * params, G = g * params, O = optimizer_bytes_per_param * params, N = static_cast<double>(devices);
  auto row = [&](const char* name, double pp, double gg, double oo) {
    return ShardingRow{name, devices, pp, gg, oo, pp + gg + oo};
  };
  return {row("data parallel", P, G, O), row("ZeRO-1", P, G, O / N), row("ZeRO-2", P, G / N, O / N),
          row("ZeRO-3", P / N, G / N, O / N)};
}

MemoryEstimate estimate_memory(const nlohmann::json& config_in, const EstimateOptions& o) {
  MemoryEstimate e;
  e.runtime_bytes = current_rss_bytes();
  if (!config_in.is_object()) throw_invalid("config: expected a table");
  nlohmann::json config = config_in;
  nlohmann::json est = config.value("estimate", nlohmann::json::object());
  config.erase("estimate");
  const std::string ew = "estimate";
  check_keys(est, {"batch_size", "threads", "devices", "precision", "parameters", "classes", "data"}, ew);
  const double param_override = get_double(est, "parameters", 0.0, ew);
  if (!config.contains("model") && param_override > 0) config["model"] = nlohmann::json::object();
  TrainingParts parts = validate_run_config(config);
  const nlohmann::json train = config.value("train", nlohmann::json::object());

  e.batch_size = o.batch_size > 0 ? o.batch_size : get_int(est, "batch_size", 0, ew);
  if (e.batch_size <= 0) {
    e.batch_size = train.contains("batch_size") && train["batch_size"].is_number_integer()
                       ? train["batch_size"].get<int64_t>()
                       : 32;
  }
  require_positive(static_cast<double>(e.batch_size), "batch_size", ew);
  e.threads = o.threads > 0 ? o.threads : static_cast<int>(get_int(est, "threads", get_int(train, "threads", 1, "train"), ew));
  e.optimizer = parts.optimizer->type();
  e.optimizer_state_per_param = state_floats_per_param(*parts.optimizer);
  e.precision = !o.precision.empty() ? o.precision : get_string(est, "precision", "fp32", ew);
  const int64_t devices = o.devices > 0 ? o.devices : get_int(est, "devices", 64, ew);
  const int64_t eval_bs = get_int(train, "eval_batch_size", 1024, "train");

  // The data: loaded and measured as `hone train` loads it, or shapes only.
  const nlohmann::json& model = config["model"];
  const bool has_shape = model.is_object() && model.contains("input_shape");
  const bool want_data = o.load_data && get_bool(est, "data", true, ew) && param_override <= 0 &&
                         (config.contains("data") || !has_shape);
  DataSplits data;
  int64_t n_eval = 0, data_resident = 0, n_val_rows = 0, n_test_rows = 0, n_val_split = 0;
  if (want_data) {
    const int64_t rss0 = current_rss_bytes();
    data = load_data(config.value("data", nlohmann::json::object()),
                     static_cast<uint64_t>(get_int(config, "seed", 0, "config")));
    e.data_load_peak_bytes = std::max<int64_t>(0, peak_rss_bytes() - rss0);
    data_resident = std::max<int64_t>(0, current_rss_bytes() - rss0);
    for (const Dataset* d : {&data.train, &data.val, &data.test}) e.data_bytes += (d->x.size() + d->y.size()) * kF;
    e.data_measured = true;
    e.train_samples = data.train.size();
    n_eval = std::max(data.val.size(), data.test.size());
    n_val_rows = data.val.size();
    n_test_rows = data.test.size();
    n_val_split = data.val.size();  // split off the training tensor, which was then freed
  } else if (param_override <= 0) {
    if (!has_shape) throw_invalid("model.input_shape: required when the data are not loaded");
    std::vector<int64_t> shape = get_ints(model, "input_shape", {}, "model");
    Shape s;
    s.push_back(0);
    for (int64_t d : shape) s.push_back(d);
    data.train.x.resize(s);
    data.train.num_classes = static_cast<int>(get_int(est, "classes", 10, ew));
  }

  int64_t in_numel = 0, out_numel = 0;
  if (param_override <= 0) {
    const nlohmann::json model_cfg = expand_model_config(config, data);
    std::vector<LayerShape> shapes = walk_layers(model_cfg);
    in_numel = numel(shapes.front().in);
    out_numel = numel(shapes.back().out);
    const int64_t B = e.batch_size;
    e.eval_rows = n_eval > 0 ? std::min(eval_bs, n_eval) : 0;
    const int64_t fwd_rows = std::max(B, e.eval_rows);
    const int nt = std::max(1, e.threads);
    for (size_t i = 0; i < shapes.size(); ++i) {
      const LayerShape& s = shapes[i];
      LayerEstimate le;
      le.name = s.name;
      le.type = s.type;
      le.output_shape = s.out;
      le.params = s.params;
      le.param_bytes = (s.params + s.buffers) * kF;
      const int64_t on = numel(s.out);
      int64_t act = on * fwd_rows * kF;                                      // output buffer
      if (s.trainable_path && i + 1 < shapes.size()) act += on * B * kF;    // its gradient buffer
      act += s.train_cache_per_sample * B * kF + s.cache_per_sample_out * on * fwd_rows * 4 +
             s.per_row_cache * fwd_rows * kF;
      le.activation_bytes = act;
      le.forward_flops = s.flops;
      le.backward_flops = s.backward_flops;
      e.activation_bytes += act;
      e.num_params += s.params;
      e.param_bytes += le.param_bytes;
      e.flops_per_sample += s.flops + s.backward_flops;
      if (s.conv_rows > 0) {  // im2col columns and chunk outputs per thread, partial grads
        const int64_t chunk = std::max<int64_t>(1, (96 * 1024) / std::max<int64_t>(1, s.conv_rows * s.conv_cols));
        const int64_t t = std::min<int64_t>(nt, B);
        e.workspace_bytes += t * (s.conv_rows + s.units) * s.conv_cols * chunk * kF + (t - 1) * s.params * kF;
      }
      if (s.type == "dense" && s.needs_dx) e.workspace_bytes += (s.fin + s.units) * kDenseScratchRows * kF;
      e.layers.push_back(std::move(le));
    }
    // The layers' buffers through glibc: training at B, then evaluation at the validation and
    // test rows. The threshold starts where the data load left it (the pre-split training
    // tensor was freed).
    int64_t threshold = AllocSim::kDefaultThreshold;
    for (int64_t freed : {(e.train_samples + n_val_split) * in_numel * kF, (e.train_samples + n_val_split) * kF})
      if (freed > threshold && freed <= AllocSim::kMaxThreshold) threshold = freed;
    AllocSim sim(threshold);
    std::vector<AllocSim::Block> outs(shapes.size()), caches(shapes.size());
    auto grow = [&](int64_t rows) {
      for (size_t i = 0; i < shapes.size(); ++i) {
        const int64_t on = numel(shapes[i].out);
        AllocSim::Block b = sim.alloc(on * rows * kF);
        sim.free(outs[i]);
        outs[i] = b;
        if (shapes[i].cache_per_sample_out > 0) {
          AllocSim::Block c = sim.alloc(on * rows * 4);
          sim.free(caches[i]);
          caches[i] = c;
        }
        if (rows == B && shapes[i].train_cache_per_sample > 0) sim.alloc(shapes[i].train_cache_per_sample * B * kF);
      }
      if (rows == B)
        for (size_t i = shapes.size(); i-- > 0;)
          if (shapes[i].trainable_path && i + 1 < shapes.size()) sim.alloc(numel(shapes[i].out) * B * kF);
    };
    int64_t cap = B;
    grow(B);
    for (int64_t rows : {std::min(eval_bs, n_val_rows), std::min(eval_bs, n_test_rows)})
      if (rows > cap) grow(cap = rows);
    e.allocator_bytes = std::max<int64_t>(0, sim.peak() - e.activation_bytes);
    e.workspace_bytes += nt * kGemmPackBytesPerThread;
    e.grad_bytes = e.num_params * kF;
    e.optimizer_bytes = static_cast<int64_t>(std::llround(e.optimizer_state_per_param * static_cast<double>(e.num_params) * kF));
    // The mini-batch (x, y), the loss gradient, the evaluation batch and predictions, the
    // shuffled order.
    e.batch_bytes = (B * in_numel + B) * kF + B * out_numel * kF + (e.eval_rows * in_numel + e.eval_rows) * kF +
                    n_eval * out_numel * kF + e.train_samples * 8;
  } else {
    e.num_params = static_cast<int64_t>(param_override);
    e.param_bytes = e.num_params * kF;
    e.grad_bytes = e.num_params * kF;
    e.optimizer_bytes = static_cast<int64_t>(e.optimizer_state_per_param * param_override * kF);
  }
  const int64_t train_mem = e.param_bytes + e.grad_bytes + e.optimizer_bytes + e.activation_bytes + e.batch_bytes +
                            e.workspace_bytes + e.allocator_bytes;
  e.peak_bytes = e.runtime_bytes + std::max(e.data_load_peak_bytes, data_resident + train_mem);
  if (!e.data_measured) e.peak_bytes = e.runtime_bytes + e.data_bytes + train_mem;

  const double params_for_table = param_override > 0 ? param_override : static_cast<double>(e.num_params);
  const double opt_bytes = e.precision == "mixed" ? 4.0 + 4.0 * e.optimizer_state_per_param
                                                  : 4.0 * e.optimizer_state_per_param;
  e.sharding = zero_table(params_for_table, devices, e.precision, opt_bytes);

  if (o.machine && e.flops_per_sample > 0) {
    const double peak = o.machine->peak_gflops(e.threads) * 1e9;
    if (peak > 0) {
      e.step_seconds = e.flops_per_sample * static_cast<double>(e.batch_size) / peak;
      if (e.train_samples > 0) e.epoch_seconds = e.flops_per_sample * static_cast<double>(e.train_samples) / peak;
    }
  }
  return e;
}

nlohmann::json MemoryEstimate::to_json() const {
  nlohmann::json layers_j = nlohmann::json::array();
  for (const auto& l : layers)
    layers_j.push_back({{"name", l.name}, {"type", l.type}, {"output_shape", l.output_shape}, {"params", l.params},
                        {"param_bytes", l.param_bytes}, {"activation_bytes", l.activation_bytes},
                        {"forward_flops_per_sample", l.forward_flops}, {"backward_flops_per_sample", l.backward_flops}});
  nlohmann::json shard = nlohmann::json::array();
  for (const auto& r : sharding)
    shard.push_back({{"scheme", r.scheme}, {"devices", r.devices}, {"param_bytes", r.param_bytes},
                     {"grad_bytes", r.grad_bytes}, {"optimizer_bytes", r.optimizer_bytes},
                     {"total_bytes", r.total_bytes}});
  return {{"batch_size", batch_size},
          {"eval_rows", eval_rows},
          {"threads", threads},
          {"num_params", num_params},
          {"optimizer", optimizer},
          {"optimizer_state_floats_per_param", optimizer_state_per_param},
          {"param_bytes", param_bytes},
          {"grad_bytes", grad_bytes},
          {"optimizer_bytes", optimizer_bytes},
          {"activation_bytes", activation_bytes},
          {"batch_bytes", batch_bytes},
          {"workspace_bytes", workspace_bytes},
          {"allocator_bytes", allocator_bytes},
          {"data_bytes", data_bytes},
          {"data_load_peak_bytes", data_load_peak_bytes},
          {"data_measured", data_measured},
          {"runtime_bytes", runtime_bytes},
          {"peak_bytes", peak_bytes},
          {"train_samples", train_samples},
          {"flops_per_sample", flops_per_sample},
          {"epoch_seconds_at_peak", epoch_seconds},
          {"step_seconds_at_peak", step_seconds},
          {"precision", precision},
          {"layers", layers_j},
          {"sharding", shard}};
}

}  // namespace hone
