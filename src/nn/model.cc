// Model: the sequential stack, its activation buffers and the forward/backward pass.
// (Model::save / Model::load live in model_io.cc.)
#include "hone/model.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "hone/config.h"
#include "hone/error.h"

namespace hone {

Model::Model() = default;
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model Model::from_config(const nlohmann::json& cfg, const std::string& where) {
  check_keys(cfg, {"input_shape", "layers", "seed"}, where);
  if (!cfg.contains("input_shape")) throw_invalid(where + ": missing \"input_shape\" (e.g. [1, 28, 28])");
  std::vector<int64_t> dims = get_ints(cfg, "input_shape", {}, where);
  if (dims.empty() || dims.size() > static_cast<size_t>(Shape::kMaxDims - 1))
    throw_invalid(where + ".input_shape: expected 1 to 4 dimensions, got " + cfg["input_shape"].dump());
  Shape in;
  for (int64_t d : dims) {
    require_positive(static_cast<double>(d), "input_shape", where);
    in.push_back(d);
  }
  auto it = cfg.find("layers");
  if (it == cfg.end() || !it->is_array() || it->empty())
    throw_invalid(where + ".layers: expected a non-empty array of layer tables");
  int64_t seed = get_int(cfg, "seed", 0, where);
  Model m;
  for (size_t i = 0; i < it->size(); ++i)
    m.add(make_layer((*it)[i], where + ".layers[" + std::to_string(i) + "]"));
  try {
    m.build(in, static_cast<uint64_t>(seed));
  } catch (const Error& e) {
    throw Error(e.kind(), where + ": " + e.what());
  }
  return m;
}

void Model::add(std::unique_ptr<Layer> layer) {
  HONE_CHECK(layer != nullptr, "Model::add(nullptr)");
  if (layer->name().empty()) {
    int same = 1;
    for (auto& l : layers_) same += l->type() == layer->type();
    layer->set_name(layer->type() + std::to_string(same));
  }
  layers_.push_back(std::move(layer));
  built_ = false;
  can_backward_ = false;
}

void Model::build(const Shape& in, uint64_t seed) {
  if (layers_.empty()) throw_invalid("model: no layers");
  Shape s = in;
  for (size_t i = 0; i < layers_.size(); ++i) {
    // One stream per layer, so inserting a layer does not change the others' initial weights.
    Rng rng(derive_seed(seed, i));
    s = layers_[i]->build(s, rng);
  }
  in_shape_ = in;
  out_shape_ = s;
  seed_ = seed;
  acts_.resize(layers_.size());
  grads_.resize(layers_.size());
  first_trainable_ = layers_.size();
  for (size_t i = layers_.size(); i-- > 0;)
    if (!layers_[i]->params().empty()) first_trainable_ = i;
  built_ = true;
  can_backward_ = false;
}

const Tensor& Model::forward(const Tensor& x, bool training) {
  if (!built_) throw_runtime("Model::forward: the model is not built");
  bool ok = x.ndim() == in_shape_.ndim() + 1;
  for (int i = 0; ok && i < in_shape_.ndim(); ++i) ok = x.dim(i + 1) == in_shape_[i];
  if (!ok)
    throw_invalid("model: input shape " + x.shape().str() + " does not match the model's input " +
                  in_shape_.with_batch(x.ndim() ? x.dim(0) : 0).str());
  const Tensor* cur = &x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->forward(*cur, acts_[i], training);
    cur = &acts_[i];
  }
  last_input_ = &x;
  can_backward_ = training;
  return acts_.back();
}

void Model::backward(const Tensor& dy) {
  if (!can_backward_)
    throw_runtime("Model::backward: needs a preceding forward(x, training=true)");
  if (dy.shape() != acts_.back().shape())
    throw_invalid("Model::backward: gradient shape " + dy.shape().str() + " does not match output " +
                  acts_.back().shape().str());
  // Layers below the lowest one with parameters need no gradient, and that layer needs none
  // for its input: torch skips the same work (its input does not require grad). For an MLP
  // behind a Flatten this drops dX of the first Dense, as large a product as its forward.
  const Tensor* g = &dy;
  for (size_t i = layers_.size(); i-- > first_trainable_;) {
    const Tensor& x = i == 0 ? *last_input_ : acts_[i - 1];
    Tensor* dx = i == first_trainable_ ? nullptr : &grads_[i - 1];
    layers_[i]->backward(x, acts_[i], *g, dx);
    g = dx;
  }
}

void Model::predict(const Tensor& x, Tensor& out, int64_t batch_size) {
  if (!built_) throw_runtime("Model::predict: the model is not built");
  if (batch_size <= 0) throw_invalid("Model::predict: batch_size must be > 0");
  if (x.ndim() < 1) throw_invalid("Model::predict: input has no batch dimension");
  const int64_t n = x.dim(0);
  out.resize(out_shape_.with_batch(n));
  can_backward_ = false;
  if (n == 0) return;
  const int64_t in_row = x.size() / n, out_row = out_shape_.numel();
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t b = std::min(batch_size, n - start);
    Shape s = x.shape();
    s[0] = b;
    input_copy_.resize(s);
    if (in_row > 0)  // zero-size samples: data() may be null
      std::memcpy(input_copy_.data(), x.data() + start * in_row, static_cast<size_t>(b * in_row) * sizeof(float));
    const Tensor& y = forward(input_copy_, false);
    if (out_row > 0) std::memcpy(out.data() + start * out_row, y.data(), static_cast<size_t>(b * out_row) * sizeof(float));
  }
}

std::vector<Param> Model::params() {
  std::vector<Param> all;
  for (auto& l : layers_)
    for (auto& p : l->params()) all.push_back(p);
  return all;
}

std::vector<Buffer> Model::buffers() {
  std::vector<Buffer> all;
  for (auto& l : layers_)
    for (auto& b : l->buffers()) all.push_back(b);
  return all;
}

int64_t Model::num_params() {
  int64_t n = 0;
  for (auto& p : params()) n += p.value->size();
  return n;
}

double Model::flops_per_sample() const {
  double f = 0.0;
  for (auto& l : layers_) f += l->flops_per_sample();
  return f;
}

nlohmann::json Model::config() const {
  nlohmann::json layers = nlohmann::json::array();
  for (auto& l : layers_) layers.push_back(l->config());
  nlohmann::json shape = nlohmann::json::array();
  for (int i = 0; i < in_shape_.ndim(); ++i) shape.push_back(in_shape_[i]);
  return {{"input_shape", shape}, {"layers", layers}, {"seed", seed_}};
}

Model Model::clone() const {
  Model m;
  for (auto& l : layers_) {
    auto c = make_layer(l->config(), "clone of " + l->name());
    c->set_name(l->name());
    m.add(std::move(c));
  }
  if (!built_) return m;
  m.build(in_shape_, seed_);
  // Same architecture, so params and buffers line up one to one.
  auto& self = const_cast<Model&>(*this);  // params() is non-const only because it hands out pointers
  auto src = self.params(), dst = m.params();
  for (size_t i = 0; i < src.size(); ++i) *dst[i].value = *src[i].value;
  auto sb = self.buffers(), db = m.buffers();
  for (size_t i = 0; i < sb.size(); ++i) *db[i].value = *sb[i].value;
  return m;
}

}  // namespace hone
