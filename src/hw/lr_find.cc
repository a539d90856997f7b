// `hone lr-find`: the learning-rate range test. An exponential sweep of the rate, one mini-batch
// step per rate, from the config's initial weights; the loss is smoothed, the sweep stops when it
// diverges, and a rate is suggested from the valley of the curve (see LrCurve in hone/hw.h).
//
// Why the half-drop rule and not the steepest gradient (Lightning's default): the gradient of a
// noisy curve is the difference of two noisy numbers, so its argmin jumps to wherever the noise
// happens to dip (Lightning issues #21141, #14167); a level crossing of a smoothed curve moves
// only as far as the noise moves the level. The EMA the stop rule needs is causal and lags the
// sweep by about beta / (1 - beta) steps (49 at 0.98: several decades of rate); the suggestion is
// offline, so it reads the same EMA run forwards and backwards, which has no lag.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "hone/config.h"
#include "hone/error.h"
#include "hone/hw.h"
#include "hone/threads.h"

namespace hone {

namespace {

// Bias-corrected EMA of `v` in the given direction (forward: index order).
std::vector<double> ema(const std::vector<double>& v, double beta, bool forward) {
  const size_t n = v.size();
  std::vector<double> out(n);
  double avg = 0, corr = 1;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = forward ? k : n - 1 - k;
    avg = beta * avg + (1 - beta) * v[i];
    corr *= beta;
    out[i] = avg / (1 - corr);
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The first tenth of the sweep neither stops it nor sets the best loss: a bias-corrected EMA of a
// handful of steps is as noisy as the steps (one lucky low first batch made a 4x "divergence").
int warmup_steps(const LrFindOptions& o) { return std::max(3, o.steps / 10); }

void check_options(const LrFindOptions& o) {
  const std::string w = "lr-find";
  require_finite_positive(o.start_lr, "start_lr", w);
  require_finite_positive(o.end_lr, "end_lr", w);
  if (!(o.end_lr > o.start_lr)) throw_invalid("lr-find: end_lr must be larger than start_lr");
  if (o.steps < 10 || o.steps > 100000) throw_invalid("lr-find: steps must be in [10, 100000], got " + std::to_string(o.steps));
  if (!(o.beta >= 0 && o.beta < 1)) throw_invalid("lr-find: beta must be in [0, 1)");
  if (!(o.diverge_factor > 1) || !std::isfinite(o.diverge_factor)) throw_invalid("lr-find: diverge_factor must be > 1");
}

}  // namespace

LrCurve analyze_lr_curve(const std::vector<double>& lrs, const std::vector<double>& losses, const LrFindOptions& o) {
  check_options(o);
  if (lrs.size() != losses.size()) throw_invalid("lr-find: as many rates as losses are needed");
  LrCurve c;
  // The stop rule on the causal EMA: NaN, or the smoothed loss above diverge_factor x its best.
  double avg = 0, corr = 1, best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < lrs.size(); ++i) {
    if (!std::isfinite(losses[i])) {
      c.diverged = true;
      break;
    }
    avg = o.beta * avg + (1 - o.beta) * losses[i];
    corr *= o.beta;
    const double s = avg / (1 - corr);
    c.lrs.push_back(lrs[i]);
    c.losses.push_back(losses[i]);
    c.smoothed.push_back(s);
    if (static_cast<int>(i) < warmup_steps(o)) continue;
    best = std::min(best, s);
    if (s > o.diverge_factor * best) {
      c.diverged = true;
      break;
    }
  }
  const int n = static_cast<int>(c.lrs.size());
  if (n < 5) {
    c.note = "the loss diverged within the first steps: lower start_lr";
    return c;
  }
  // Lightning's rule (the baseline): steepest negative gradient of the causal EMA.
  {
    const int lo = std::min(10, n - 2), hi = n - 1;
    int arg = lo;
    double g_min = std::numeric_limits<double>::infinity();
    for (int i = lo; i < hi; ++i) {
      const double g = i == 0 ? c.smoothed[1] - c.smoothed[0]
                              : 0.5 * (c.smoothed[static_cast<size_t>(i + 1)] - c.smoothed[static_cast<size_t>(i - 1)]);
      if (g < g_min) {
        g_min = g;
        arg = i;
      }
    }
    c.steepest_lr = c.lrs[static_cast<size_t>(arg)];
  }
  // The starting loss: the median of the first tenth of the sweep (robust to a noisy first step).
  const int head = std::max(3, n / 10);
  const double start = median(std::vector<double>(c.losses.begin(), c.losses.begin() + std::min(head, n)));
  // Zero-lag smoothing: a bias-corrected EMA with a time constant of 1/20 of the sweep, forwards
  // and then backwards. Losses above the starting one are clipped to it first: the blow-up at the
  // end (up to diverge_factor x and beyond) would otherwise leak back into the valley.
  std::vector<double> clipped(c.losses);
  for (double& v : clipped) v = std::min(v, start);
  const double tau = std::max(2.0, o.steps / 20.0), beta_c = tau / (tau + 1);
  c.centred = ema(ema(clipped, beta_c, true), beta_c, false);
  const int m = static_cast<int>(std::min_element(c.centred.begin(), c.centred.end()) - c.centred.begin());
  c.min_loss_lr = c.lrs[static_cast<size_t>(m)];
  const double lowest = c.centred[static_cast<size_t>(m)];
  if (!(start - lowest > 0.02 * std::fabs(start))) {
    c.note = "the loss never fell clearly (2%) below its starting value: raise end_lr or check the model";
    return c;
  }
  const double level = 0.5 * (start + lowest);
  int j = m;
  while (j > 0 && c.centred[static_cast<size_t>(j - 1)] < level) --j;
  // j is the first index of the run below the level that ends at the minimum; interpolate the
  // crossing between j - 1 and j in log rate.
  if (j == 0) {
    c.suggested_index = 0;
    c.suggested_lr = c.lrs[0];
    c.note = "the loss was already falling at start_lr: lower start_lr for a better suggestion";
    return c;
  }
  const double a = c.centred[static_cast<size_t>(j - 1)], b = c.centred[static_cast<size_t>(j)];
  const double t = a > b ? std::clamp((a - level) / (a - b), 0.0, 1.0) : 0.0;
  c.suggested_index = j;
  c.suggested_lr = std::exp((1 - t) * std::log(c.lrs[static_cast<size_t>(j - 1)]) + t * std::log(c.lrs[static_cast<size_t>(j)]));
  return c;
}

LrCurve lr_find(const nlohmann::json& config_in, const DataSplits& data, const LrFindOptions& o) {
  check_options(o);
  nlohmann::json config = config_in;
  config.erase("estimate");
  config.erase("study");
  TrainingParts parts = validate_run_config(config);
  if (data.train.size() == 0) throw_invalid("lr-find: the training set is empty");
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  if (!parts.loss) parts.loss = make_loss(data.train.is_classification() ? "cross_entropy" : "mse", "train.loss");
  const uint64_t seed = static_cast<uint64_t>(get_int(config, "seed", 0, "config"));
  Model model = Model::from_config(expand_model_config(config, data), "model");
  if (!model.built()) model.build(data.train.x.shape().tail(), seed);
  const std::vector<Param> params = model.params();
  const int64_t n = data.train.size();
  int64_t batch = o.batch_size > 0 ? o.batch_size
                  : train.contains("batch_size") && train["batch_size"].is_number_integer() ? train["batch_size"].get<int64_t>()
                                                                                             : 32;
  batch = std::clamp<int64_t>(batch, 1, n);
  const int threads = clamp_threads(o.threads > 0 ? o.threads
                                                  : static_cast<int>(get_int(train, "threads", 1, "train")));
  ThreadScope scope(threads);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(derive_seed(seed, 0x1F1D));
  std::shuffle(order.begin(), order.end(), rng);
  const double l2 = get_double(train, "l2", 0.0, "train");
  Tensor xb, yb, dl;
  std::vector<double> lrs, losses;
  int64_t cursor = 0;
  double avg = 0, corr = 1, best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < o.steps; ++i) {
    const double lr = o.start_lr * std::pow(o.end_lr / o.start_lr, static_cast<double>(i) / (o.steps - 1));
    if (cursor + batch > n) {
      std::shuffle(order.begin(), order.end(), rng);
      cursor = 0;
    }
    xb.copy_rows_from(data.train.x, order.data() + cursor, batch);
    yb.copy_rows_from(data.train.y, order.data() + cursor, batch);
    cursor += batch;
    const Tensor& out = model.forward(xb, true);
    const double loss = parts.loss->compute(out, yb, &dl);
    lrs.push_back(lr);
    losses.push_back(loss);
    if (!std::isfinite(loss)) break;
    avg = o.beta * avg + (1 - o.beta) * loss;
    corr *= o.beta;
    if (i >= warmup_steps(o)) {  // the rule analyze_lr_curve applies
      best = std::min(best, avg / (1 - corr));
      if (avg / (1 - corr) > o.diverge_factor * best) break;
    }
    model.backward(dl);
    if (l2 > 0)
      for (const Param& p : params)
        if (p.decay)
          for (int64_t k = 0; k < p.value->size(); ++k) (*p.grad)[k] += static_cast<float>(l2) * (*p.value)[k];
    parts.optimizer->set_lr(lr);
    parts.optimizer->step(params);
  }
  return analyze_lr_curve(lrs, losses, o);
}

std::string lr_curve_csv(const LrCurve& c) {
  std::ostringstream os;
  os.precision(9);
  os << "lr,loss,smoothed,centred\n";
  for (size_t i = 0; i < c.lrs.size(); ++i)
    os << c.lrs[i] << "," << c.losses[i] << "," << c.smoothed[i] << "," << (i < c.centred.size() ? c.centred[i] : c.smoothed[i])
       << "\n";
  return os.str();
}

std::string lr_curve_svg(const LrCurve& c) {
  const double W = 640, H = 400, L = 70, R = 20, T = 30, B = 50;
  std::ostringstream os;
  os << fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
                    "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
                    W, H, W, H);
  if (c.lrs.size() < 2) return os.str() + "<text x=\"20\" y=\"40\">no curve</text>\n</svg>\n";
  const double x0 = std::log10(c.lrs.front()), x1 = std::log10(c.lrs.back());
  // The y range: the raw losses up to 1.5x the starting level (the blow-up would squash the plot).
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : c.losses) lo = std::min(lo, v);
  for (double v : c.smoothed) hi = std::max(hi, std::min(v, 1.5 * c.smoothed.front()));
  hi = std::max(hi, c.losses.front());
  if (!(hi > lo)) hi = lo + 1;
  auto px = [&](double lr) { return L + (std::log10(lr) - x0) / std::max(x1 - x0, 1e-12) * (W - L - R); };
  auto py = [&](double v) { return T + (1 - (std::clamp(v, lo, hi) - lo) / (hi - lo)) * (H - T - B); };
  os << fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
  os << fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, T, L, H - B);
  for (int d = static_cast<int>(std::ceil(x0)); d <= static_cast<int>(std::floor(x1)); ++d) {
    const double x = px(std::pow(10.0, d));
    os << fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/>"
                      "<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">1e{}</text>\n",
                      x, T, x, H - B, x, H - B + 16, d);
  }
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4.0;
    os << fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n", L - 6, py(v) + 4, v);
  }
  auto path = [&](const std::vector<double>& v, const char* colour, double width) {
    os << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"" << width << "\" points=\"";
    for (size_t i = 0; i < v.size() && i < c.lrs.size(); ++i) os << fmt::format("{:.1f},{:.1f} ", px(c.lrs[i]), py(v[i]));
    os << "\"/>\n";
  };
  path(c.losses, "#bbb", 1);
  path(c.smoothed, "#1f77b4", 1.5);
  if (!c.centred.empty()) path(c.centred, "#2ca02c", 2);
  if (c.suggested_lr > 0) {
    const double x = px(c.suggested_lr);
    os << fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>"
                      "<text x=\"{:.1f}\" y=\"{}\" fill=\"#d62728\">suggested {:.3g}</text>\n",
                      x, T, x, H - B, x + 4, T + 12, c.suggested_lr);
  }
  os << fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">learning rate (log scale)</text>\n", (L + W - R) / 2, H - 12);
  os << fmt::format("<text x=\"{}\" y=\"18\">LR range test: raw loss (grey), EMA (blue), zero-lag EMA (green)</text>\n", L);
  os << "</svg>\n";
  return os.str();
}

}  // namespace hone
