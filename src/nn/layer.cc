// Layer factory, shared layer helpers and initialisers.
#include <cmath>
#include <functional>
#include <utility>

#include "hone/config.h"
#include "nn/layers.h"

namespace hone {

nlohmann::json Layer::config() const { return nlohmann::json{{"type", type()}}; }

namespace {
using Factory = std::function<std::unique_ptr<Layer>(const nn::json&, const std::string&)>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  auto act = [](const char* t) {
    return [t](const nn::json& c, const std::string& w) { return nn::make_activation(t, c, w); };
  };
  static const std::vector<std::pair<std::string, Factory>> r = {
      {"dense", nn::make_dense},
      {"conv2d", nn::make_conv2d},
      {"maxpool2d", nn::make_maxpool2d},
      {"avgpool2d", nn::make_avgpool2d},
      {"global_avg_pool", nn::make_global_avg_pool},
      {"flatten", nn::make_flatten},
      {"dropout", nn::make_dropout},
      {"batchnorm", nn::make_batchnorm},
      {"layernorm", nn::make_layernorm},
      {"embedding", nn::make_embedding},
      {"relu", act("relu")},
      {"leaky_relu", act("leaky_relu")},
      {"tanh", act("tanh")},
      {"sigmoid", act("sigmoid")},
      {"gelu", act("gelu")},
      {"softmax", act("softmax")},
  };
  return r;
}
}  // namespace

std::vector<std::string> layer_types() {
  std::vector<std::string> names;
  for (auto& [n, f] : registry()) names.push_back(n);
  return names;
}

std::unique_ptr<Layer> make_layer(const nlohmann::json& config, const std::string& where) {
  if (!config.is_object()) throw_invalid(where + ": a layer must be a table like {type = \"dense\", ...}");
  auto it = config.find("type");
  if (it == config.end()) throw_invalid(where + ": missing \"type\"");
  if (!it->is_string()) throw_invalid(where + ".type: expected a string, got " + it->dump());
  std::string type = it->get<std::string>();
  for (auto& [n, f] : registry())
    if (n == type) return f(config, where);
  std::string known;
  for (auto& [n, f] : registry()) known += (known.empty() ? "" : ", ") + n;
  throw_invalid(where + ": unknown layer type \"" + type + "\" (known: " + known + ")");
}

namespace nn {

std::string LayerBase::label() const {
  return name_.empty() ? type() : name_ + " (" + type() + ")";
}

void LayerBase::bad_input(const Tensor& x) const {
  throw_invalid(label() + ": expected input of shape " + in_.with_batch(x.ndim() ? x.dim(0) : 0).str() +
                ", got " + x.shape().str());
}

std::string get_init(const json& cfg, const std::string& where) {
  std::string s = get_string(cfg, "init", "he_uniform", where);
  if (s != "he_uniform" && s != "he_normal" && s != "xavier_uniform" && s != "xavier_normal")
    throw_invalid(where + ".init: unknown initialiser \"" + s +
                  "\" (known: he_uniform, he_normal, xavier_uniform, xavier_normal)");
  return s;
}

void init_weights(Tensor& w, const std::string& scheme, int64_t fan_in, int64_t fan_out, Rng& rng) {
  const bool he = scheme.rfind("he_", 0) == 0;
  const bool uniform = scheme.find("uniform") != std::string::npos;
  // Variance 2/fan_in (He, gain sqrt(2)) or 2/(fan_in+fan_out) (Glorot).
  const double var = he ? 2.0 / static_cast<double>(std::max<int64_t>(1, fan_in))
                        : 2.0 / static_cast<double>(std::max<int64_t>(1, fan_in + fan_out));
  if (uniform) {
    const double b = std::sqrt(3.0 * var);  // U(-b, b) has variance b^2/3
    std::uniform_real_distribution<double> d(-b, b);
    for (int64_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(d(rng));
  } else {
    std::normal_distribution<double> d(0.0, std::sqrt(var));
    for (int64_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(d(rng));
  }
}

void get_pair(const json& cfg, const std::string& key, int64_t def, const std::string& where,
              int64_t* h, int64_t* w) {
  auto it = cfg.find(key);
  if (it != cfg.end() && it->is_array()) {
    std::vector<int64_t> v = get_ints(cfg, key, {}, where);
    if (v.size() != 2) throw_invalid(where + "." + key + ": expected an integer or [h, w], got " + it->dump());
    *h = v[0];
    *w = v[1];
  } else {
    *h = *w = get_int(cfg, key, def, where);
  }
  require_positive(static_cast<double>(*h), key, where);
  require_positive(static_cast<double>(*w), key, where);
}

}  // namespace nn
}  // namespace hone
