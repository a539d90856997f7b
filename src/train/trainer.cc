#include "hone/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/threads.h"

namespace hone {

namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// Number of rows of `pred` whose argmax equals the label (classification accuracy numerator).
int64_t count_correct(const Tensor& pred, const Tensor& y) {
  int64_t n = pred.dim(0);
  int64_t k = pred.size() / std::max<int64_t>(1, n);
  int64_t correct = 0;
  const float* p = pred.data();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * k;
    int64_t best = 0;
    if (k == 1) {
      best = row[0] > 0.0f ? 1 : 0;
    } else {
      for (int64_t j = 1; j < k; ++j)
        if (row[j] > row[best]) best = j;
    }
    correct += (best == static_cast<int64_t>(y[i]));
  }
  return correct;
}

// 0.5 * sum(w^2) over decayed params, and grad += l2 * w.
double apply_l2(const std::vector<Param>& params, double l2) {
  double sq = 0.0;
  const float c = static_cast<float>(l2);
  for (const Param& p : params) {
    if (!p.decay) continue;
    float* w = p.value->data();
    float* g = p.grad->data();
    int64_t n = p.value->size();
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      s += w[i] * w[i];
      g[i] += c * w[i];
    }
    sq += s;
  }
  return 0.5 * l2 * sq;
}

// Asks the memory system for the rows of the next mini-batch while this step computes: the
// rows are scattered over the whole data set (hundreds of MB for Fashion-MNIST), so gathering
// them is otherwise a chain of cache misses to DRAM at the start of every step (measured ~15 us
// of a ~300 us MLP step at batch 32). The lines land in L2 and, when the step's own data pushes
// them out, in L3, from where the next gather reads them. A hint only: no effect on results.
void prefetch_rows(const Tensor& src, const int64_t* rows, int64_t count) {
  if (src.ndim() < 1 || src.dim(0) == 0) return;
  const int64_t row = src.size() / src.dim(0);
  const char* base = reinterpret_cast<const char*>(src.data());
  const int64_t bytes = row * static_cast<int64_t>(sizeof(float));
  for (int64_t i = 0; i < count; ++i) {
    const char* p = base + rows[i] * bytes;
    for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 2);
  }
}

}  // namespace

Trainer::Trainer(Model& model, const Loss& loss, Optimizer& opt, LrScheduler* scheduler,
                 TrainOptions opts)
    : model_(model), loss_(loss), opt_(opt), sched_(scheduler), opts_(std::move(opts)) {
  if (opts_.epochs < 0) throw_invalid("train.epochs must be >= 0, got " + std::to_string(opts_.epochs));
  if (opts_.threads < 1) throw_invalid("train.threads must be >= 1, got " + std::to_string(opts_.threads));
  if (opts_.l2 < 0) throw_invalid("train.l2 must be >= 0");
  if (!(opts_.time_limit_s >= 0)) throw_invalid("train.time_limit must be >= 0");
}

namespace {

// The process's resident set now (Linux /proc/self/statm, pages); 0 where it cannot be read.
int64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace

History Trainer::fit(const Dataset& train, const Dataset* val) {
  const int64_t n = train.size();
  if (n == 0) throw_invalid("training data set is empty");
  if (!model_.built()) model_.build(train.x.shape().tail(), opts_.seed);
  if (train.x.shape().tail() != model_.input_shape())
    throw_invalid("training data has samples of shape " + train.x.shape().tail().str() +
                  " but the model expects " + model_.input_shape().str());
  if (loss_.is_classification() && !train.is_classification())
    throw_invalid("loss \"" + loss_.type() + "\" needs class labels, but the data set is a regression one");

  ThreadScope threads(opts_.threads);
  const int64_t bs = opts_.batch_size <= 0 ? n : std::min<int64_t>(opts_.batch_size, n);
  const int64_t batches = (n + bs - 1) / bs;
  const bool classify = train.is_classification();

  // The scheduler writes the optimizer's rate from begin() to end(); end() puts the base rate back,
  // also when a callback or the data throws out of fit().
  struct SchedulerScope {
    LrScheduler* s;
    ~SchedulerScope() {
      if (s) s->end();
    }
  } sched_scope{sched_};
  if (sched_) {
    sched_->set_log(log_);
    sched_->begin(opt_, batches, opts_.epochs);
  }
  const std::vector<Param> params = model_.params();  // built once: no allocation per step

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Tensor xb, yb, dlogits;
  Tensor y_mix, dlogits_mix;  // mixup: the partner rows' targets and their loss gradient
  Augmenter augmenter(opts_.augment, opts_.seed);
  augmenter.reserve(train.x.shape().tail(), bs);
  history_ = History{};
  interrupted_ = false;
  diverged_ = false;
  timed_out_ = false;
  const auto fit_start = SteadyClock::now();
  int64_t step = 0;

  for (auto& cb : callbacks_) cb->on_train_begin(*this);
  fit_tensor_peak_ = tensor_memory().peak;
  for (int epoch = 0; epoch < opts_.epochs; ++epoch) {
    // Each epoch's own tensor high-water mark: the thread's peak restarts here; fit_tensor_peak_
    // keeps the maximum over the whole fit.
    fit_tensor_peak_ = std::max(fit_tensor_peak_, tensor_memory().peak);
    reset_tensor_memory_peak();
    for (auto& cb : callbacks_) cb->on_epoch_begin(*this, epoch);
    auto t0 = SteadyClock::now();
    if (opts_.shuffle) {
      Rng rng(derive_seed(opts_.seed, 1000003ull + static_cast<uint64_t>(epoch)));
      std::shuffle(order.begin(), order.end(), rng);
    }
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0;
    double lr = opt_.lr();
    for (int64_t b = 0; b < batches; ++b) {
      if (stop_flag_ && stop_flag_->load(std::memory_order_relaxed)) {
        interrupted_ = true;
        break;
      }
      if (opts_.time_limit_s > 0 && seconds_since(fit_start) > opts_.time_limit_s) {
        timed_out_ = true;
        break;
      }
      const int64_t start = b * bs;
      const int64_t m = std::min(bs, n - start);
      xb.copy_rows_from(train.x, order.data() + start, m);
      yb.copy_rows_from(train.y, order.data() + start, m);
      if (b + 1 < batches) prefetch_rows(train.x, order.data() + start + m, std::min(bs, n - start - m));

      const double lam = augmenter.apply(xb, yb, y_mix, epoch, b);

      const Tensor& out = model_.forward(xb, /*training=*/true);
      double loss = loss_.compute(out, yb, &dlogits);
      if (lam < 1.0) {  // mixup: lam * L(y) + (1 - lam) * L(y[perm]), and the same for the gradient
        loss = lam * loss + (1.0 - lam) * loss_.compute(out, y_mix, &dlogits_mix);
        const float a = static_cast<float>(lam), c = 1.0f - a;
        float* g = dlogits.data();
        const float* g2 = dlogits_mix.data();
        for (int64_t i = 0; i < dlogits.size(); ++i) g[i] = a * g[i] + c * g2[i];
      }
      if (classify) correct += count_correct(out, lam >= 0.5 ? yb : y_mix);
      model_.backward(dlogits);
      if (opts_.l2 > 0) loss += apply_l2(params, opts_.l2);
      if (!std::isfinite(loss)) {
        diverged_ = true;
        break;
      }
      if (opts_.clip_value > 0) clip_grad_value(params, opts_.clip_value);
      if (opts_.clip_norm > 0) clip_grad_norm(params, opts_.clip_norm);
      if (sched_) sched_->step(step, epoch);
      lr = opt_.lr();
      opt_.step(params);
      ++step;
      loss_sum += loss * static_cast<double>(m);
      seen += m;
      for (auto& cb : callbacks_) cb->on_batch_end(*this, b, batches, loss);
    }
    if (diverged_) {
      log("epoch " + std::to_string(epoch + 1) + ": the loss is not finite (training diverged); stopping");
      break;
    }
    if (timed_out_) log("epoch " + std::to_string(epoch + 1) + ": the time limit of train.time_limit = " +
                        std::to_string(opts_.time_limit_s) + " s ran out; stopping");
    if (interrupted_ || timed_out_ || seen == 0) break;  // keep only complete epochs in the history

    Logs logs;
    logs["epoch"] = epoch + 1;
    logs["loss"] = loss_sum / static_cast<double>(seen);
    if (classify) logs["accuracy"] = static_cast<double>(correct) / static_cast<double>(seen);
    logs["lr"] = lr;
    const double train_s = seconds_since(t0);
    logs["time_s"] = train_s;
    logs["samples_per_s"] = static_cast<double>(seen) / std::max(train_s, 1e-9);
    if (val && val->size() > 0) {
      Logs v = evaluate(*val);
      for (auto& [k, x] : v) logs["val_" + k] = x;
    }
    if (sched_) sched_->end_epoch(epoch, logs);
    bool stop = false;
    for (auto& cb : callbacks_) stop = cb->on_epoch_end(*this, epoch, logs) || stop;
    // Memory of the epoch, after its callbacks (what they keep counts): recorded in the history,
    // not shown to the callbacks (progress lines print every metric they get).
    logs["mem_peak_bytes"] = static_cast<double>(tensor_memory().peak);
    if (const int64_t rss = resident_bytes(); rss > 0) logs["mem_rss_bytes"] = static_cast<double>(rss);
    history_.rows.push_back(logs);
    if (stop) break;
  }
  fit_tensor_peak_ = std::max(fit_tensor_peak_, tensor_memory().peak);
  for (auto& cb : callbacks_) cb->on_train_end(*this);
  return history_;
}

Logs Trainer::evaluate(const Dataset& d) {
  return hone::evaluate(model_, loss_, d, {opts_.threads, opts_.eval_batch_size, opts_.metrics},
                        &eval_pred_);
}

Logs evaluate(Model& model, const Loss& loss, const Dataset& d, const EvalOptions& o,
              Tensor* predictions) {
  Logs out;
  const int64_t n = d.size();
  if (n == 0) return out;
  Tensor own;
  Tensor& pred = predictions ? *predictions : own;
  ThreadScope threads(o.threads);
  const int64_t bs = std::max<int64_t>(1, o.batch_size);
  std::vector<int64_t> idx(static_cast<size_t>(std::min(bs, n)));
  Tensor xb, yb;
  double loss_sum = 0.0;
  for (int64_t start = 0; start < n; start += bs) {
    const int64_t m = std::min(bs, n - start);
    for (int64_t i = 0; i < m; ++i) idx[static_cast<size_t>(i)] = start + i;
    xb.copy_rows_from(d.x, idx.data(), m);
    yb.copy_rows_from(d.y, idx.data(), m);
    const Tensor& p = model.forward(xb, /*training=*/false);
    loss_sum += loss.compute(p, yb, nullptr) * static_cast<double>(m);
    if (start == 0) {
      Shape s = p.shape();
      s[0] = n;
      pred.resize(s);
    }
    std::copy(p.data(), p.data() + p.size(), pred.data() + start * (p.size() / m));
  }
  out["loss"] = loss_sum / static_cast<double>(n);
  std::vector<std::string> names = o.metrics;
  if (names.empty() && d.is_classification()) names = {"accuracy"};
  for (const auto& name : names) out[name] = compute_metric(name, pred, d.y, d.num_classes);
  return out;
}

}  // namespace hone
