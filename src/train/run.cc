#include "hone/run.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "hone/augment.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/metrics.h"
#include "hone/threads.h"
#include "hone/loss.h"
#include "hone/optimizer.h"
#include "hone/scheduler.h"

namespace hone {

namespace {

using Clock = std::chrono::steady_clock;

std::string join(const std::string& a, const std::string& b) {
  return (std::filesystem::path(a) / b).string();
}

nlohmann::json scaler_json(const Scaler& s) {
  return {{"kind", s.kind()}, {"shift", s.a()}, {"scale", s.b()}};
}

// Holds out `fraction` of `d` as a second set (stratified for classification).
void hold_out(Dataset& d, Dataset& held, double fraction, uint64_t seed, const std::string& key) {
  if (fraction <= 0) return;
  if (d.size() < 2)
    throw_invalid(key + " = " + std::to_string(fraction) + ": the data have " + std::to_string(d.size()) +
                  " sample(s), too few to hold any out (set it to 0, or give more data)");
  auto [a, b] = [&] {
    try {
      return train_val_split(d, fraction, seed, true);
    } catch (const Error& e) {
      throw_invalid(key + ": " + e.what());
    }
  }();
  d = std::move(a);
  held = std::move(b);
}

// A data file named by [data] `key`: a missing one is an error naming the key as well as the path.
std::string data_file(const std::string& path, const std::string& key) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw_io(key + ": no such file \"" + path + "\"");
  return path;
}

// train.optimizer with the train.lr shorthand folded in.
nlohmann::json optimizer_config(const nlohmann::json& train) {
  nlohmann::json opt_cfg = typed_table(train.value("optimizer", nlohmann::json("adam")));
  if (!opt_cfg.is_object())
    throw_invalid("train.optimizer: expected a name or a table such as {type = \"adam\"}, got " + opt_cfg.dump());
  if (train.contains("lr")) {
    if (opt_cfg.contains("lr")) throw_invalid("train.lr and train.optimizer.lr are both set; keep one");
    opt_cfg["lr"] = train["lr"];
  }
  return opt_cfg;
}

// The model shorthands: {type = "mlp", hidden_layers = [...]} and {type = "cnn", conv_filters =
// [...]} expand into a layer list whose input and output sizes come from the data. They exist so
// that a search space can choose depth and widths with one categorical parameter.
nlohmann::json expand_model(const nlohmann::json& m, const DataSplits& data) {
  if (!m.is_object() || m.contains("layers") || !m.contains("type")) return m;
  const std::string w = "model";
  const std::string type = get_string(m, "type", "", w);
  const int64_t outputs = data.train.is_classification() ? data.train.num_classes
                          : data.train.y.ndim() > 1      ? data.train.y.dim(1)
                                                         : 1;
  nlohmann::json layers = nlohmann::json::array();
  const std::string act = get_string(m, "activation", "relu", w);
  const double dropout = get_double(m, "dropout", 0.0, w);
  require_in_range(dropout, 0.0, 0.95, "dropout", w);
  const bool bn = get_bool(m, "batchnorm", false, w);
  auto block = [&](nlohmann::json layer) {
    layers.push_back(std::move(layer));
    if (bn) layers.push_back({{"type", "batchnorm"}});
    layers.push_back({{"type", act}});
  };
  if (type == "mlp") {
    check_keys(m, {"type", "hidden_layers", "activation", "dropout", "batchnorm", "init", "seed", "input_shape"}, w);
    const std::string init = get_string(m, "init", act == "relu" || act == "leaky_relu" ? "he_uniform" : "xavier_uniform", w);
    if (data.train.x.ndim() > 2) layers.push_back({{"type", "flatten"}});
    for (int64_t h : get_ints(m, "hidden_layers", {128}, w)) {
      require_positive(static_cast<double>(h), "hidden_layers", w);
      block({{"type", "dense"}, {"units", h}, {"init", init}});
      if (dropout > 0) layers.push_back({{"type", "dropout"}, {"rate", dropout}});
    }
  } else if (type == "cnn") {
    check_keys(m, {"type", "conv_filters", "kernel_size", "dense_units", "activation", "dropout", "batchnorm",
                   "padding", "seed", "input_shape"}, w);
    if (data.train.x.ndim() != 4) throw_invalid("model.type \"cnn\" needs image data (N, C, H, W)");
    const int64_t k = get_int(m, "kernel_size", 3, w);
    nlohmann::json pad = m.value("padding", nlohmann::json(0));
    for (int64_t f : get_ints(m, "conv_filters", {32, 64}, w)) {
      block({{"type", "conv2d"}, {"filters", f}, {"kernel_size", k}, {"padding", pad}});
      layers.push_back({{"type", "maxpool2d"}, {"pool_size", 2}});
    }
    layers.push_back({{"type", "flatten"}});
    for (int64_t h : get_ints(m, "dense_units", {128}, w)) {
      block({{"type", "dense"}, {"units", h}});
      if (dropout > 0) layers.push_back({{"type", "dropout"}, {"rate", dropout}});
    }
  } else {
    throw_invalid("model.type: expected \"mlp\" or \"cnn\" (or give model.layers), got \"" + type + "\"");
  }
  layers.push_back({{"type", "dense"}, {"units", outputs}});
  nlohmann::json out = {{"layers", layers}};
  if (m.contains("seed")) out["seed"] = m["seed"];
  if (m.contains("input_shape")) out["input_shape"] = m["input_shape"];
  return out;
}

// [train]'s scalar options, each checked (type and range) and named in errors.
TrainOptions train_options(const nlohmann::json& train, uint64_t seed) {
  const std::string w = "train";
  TrainOptions o;
  o.epochs = get_int_in(train, "epochs", 10, 0, 1000000, w);
  if (train.contains("batch_size") && train["batch_size"].is_string()) {
    if (train["batch_size"] != "full") throw_invalid("train.batch_size: expected a number or \"full\"");
    o.batch_size = 0;
  } else {
    o.batch_size = get_int(train, "batch_size", 32, w);
    if (o.batch_size <= 0) throw_invalid("train.batch_size must be > 0 (or \"full\"), got " +
                                         std::to_string(o.batch_size));
  }
  o.shuffle = get_bool(train, "shuffle", true, w);
  o.seed = seed;
  const int64_t threads = get_int_at_least(train, "threads", 1, 1, w);
  o.threads = static_cast<int>(std::min<int64_t>(threads, 1 << 20));  // clamped to the cores when the run starts
  o.l2 = get_nonnegative(train, "l2", 0.0, w);
  o.clip_norm = get_nonnegative(train, "clip_norm", 0.0, w);
  o.clip_value = get_nonnegative(train, "clip_value", 0.0, w);
  o.eval_batch_size = get_int_at_least(train, "eval_batch_size", 1024, 1, w);
  if (train.contains("metrics")) {
    if (!train["metrics"].is_array()) throw_invalid("train.metrics: expected a list of metric names");
    const std::vector<std::string> known = metric_names();
    for (auto& m : train["metrics"]) {
      if (!m.is_string()) throw_invalid("train.metrics: expected a list of metric names, got " + m.dump());
      const std::string name = m.get<std::string>();
      if (std::find(known.begin(), known.end(), name) == known.end() && name != "acc" && name != "macro_f1") {
        std::string names;
        for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
        throw_invalid("train.metrics: unknown metric \"" + name + "\" (known: " + names + ")");
      }
      o.metrics.push_back(name);
    }
  }
  get_bool(train, "checkpoint", false, w);
  if (train.contains("augment")) o.augment = parse_augment(train["augment"], "train.augment");
  o.time_limit_s = get_double(train, "time_limit", 0.0, w);
  require_finite_nonnegative(o.time_limit_s, "time_limit", w);
  return o;
}

// train.early_stopping: true (val_loss, patience 5), false, or a table; null when off.
std::shared_ptr<EarlyStopping> early_stopping(const nlohmann::json& train) {
  if (!train.contains("early_stopping")) return nullptr;
  const auto& e = train["early_stopping"];
  if (e.is_boolean()) {
    if (e.get<bool>()) return std::make_shared<EarlyStopping>("val_loss", 5, 0.0, "auto", true);
    return nullptr;
  }
  const std::string ew = "train.early_stopping";
  check_keys(e, {"monitor", "patience", "min_delta", "mode", "restore_best_weights"}, ew);
  const int64_t patience = get_int_at_least(e, "patience", 5, 0, ew);
  return std::make_shared<EarlyStopping>(get_string(e, "monitor", "val_loss", ew),
                                         static_cast<int>(std::min<int64_t>(patience, 1 << 30)),
                                         get_nonnegative(e, "min_delta", 0.0, ew), get_string(e, "mode", "auto", ew),
                                         get_bool(e, "restore_best_weights", true, ew));
}

}  // namespace

DataSplits load_data(const nlohmann::json& cfg, uint64_t seed, const std::string& where) {
  if (!cfg.is_object()) throw_invalid(where + ": expected a [data] table");
  check_keys(cfg,
             {"source", "dir", "train", "test", "train_images", "train_labels", "test_images",
              "test_labels", "target", "task", "drop", "n_features", "test_fraction",
              "validation_fraction", "scale", "limit", "delimiter"},
             where);
  const std::string source = get_string(cfg, "source", "fashion-mnist", where);
  DataSplits out;
  bool have_test = false;
  if (source == "fashion-mnist" || source == "mnist" || source == "idx") {
    std::string train_images, train_labels, test_images, test_labels;
    if (source == "idx") {
      train_images = get_string(cfg, "train_images", "", where);
      train_labels = get_string(cfg, "train_labels", "", where);
      test_images = get_string(cfg, "test_images", "", where);
      test_labels = get_string(cfg, "test_labels", "", where);
      if (train_images.empty() || train_labels.empty())
        throw_invalid(where + ": source \"idx\" needs train_images and train_labels");
    } else {
      std::string dir = get_string(
          cfg, "dir",
          source == "mnist" ? "/usr/share/datasets/mnist" : "/usr/share/datasets/fashion-mnist", where);
      train_images = join(dir, "train-images-idx3-ubyte.gz");
      train_labels = join(dir, "train-labels-idx1-ubyte.gz");
      test_images = join(dir, "t10k-images-idx3-ubyte.gz");
      test_labels = join(dir, "t10k-labels-idx1-ubyte.gz");
    }
    const std::string k = where + (source == "idx" ? "." : ".dir (");
    const auto idx_key = [&](const char* key) { return source == "idx" ? k + key : k + key + ")"; };
    out.train = load_idx(data_file(train_images, idx_key("train_images")), data_file(train_labels, idx_key("train_labels")));
    if (!test_images.empty() && !test_labels.empty()) {
      out.test = load_idx(data_file(test_images, idx_key("test_images")), data_file(test_labels, idx_key("test_labels")));
      have_test = true;
    }
  } else if (source == "csv") {
    CsvOptions o;
    o.target = get_string(cfg, "target", "", where);
    if (o.target.empty()) throw_invalid(where + ".target: required for source \"csv\" (the target column)");
    o.task = get_string(cfg, "task", "auto", where);
    std::string delim = get_string(cfg, "delimiter", ",", where);
    if (delim.size() != 1) throw_invalid(where + ".delimiter: expected one character");
    o.delimiter = delim[0];
    if (cfg.contains("drop")) {
      if (!cfg["drop"].is_array()) throw_invalid(where + ".drop: expected a list of column names");
      for (auto& c : cfg["drop"]) {
        if (!c.is_string()) throw_invalid(where + ".drop: expected a list of column names, got " + c.dump());
        o.drop.push_back(c.get<std::string>());
      }
    }
    std::string train = get_string(cfg, "train", "", where);
    if (train.empty()) throw_invalid(where + ".train: required (path of the training CSV)");
    out.train = load_csv(data_file(train, where + ".train"), o);
    std::string test = get_string(cfg, "test", "", where);
    if (!test.empty()) {
      o.classes = out.train.class_names;  // the test file's labels get the training file's numbers
      out.test = load_csv(data_file(test, where + ".test"), o);
      have_test = true;
    }
  } else if (source == "libsvm") {
    int64_t nf = get_int(cfg, "n_features", 0, where);
    std::string task = get_string(cfg, "task", "auto", where);
    std::string train = get_string(cfg, "train", "", where);
    if (train.empty()) throw_invalid(where + ".train: required (path of the training file)");
    out.train = load_libsvm(data_file(train, where + ".train"), nf, task);
    std::string test = get_string(cfg, "test", "", where);
    if (!test.empty()) {
      out.test = load_libsvm(data_file(test, where + ".test"), out.train.x.dim(1), task);
      have_test = true;
    }
  } else {
    throw_invalid(where + ".source: unknown source \"" + source +
                  "\" (known: fashion-mnist, mnist, idx, csv, libsvm)");
  }

  const int64_t limit = get_int(cfg, "limit", 0, where);
  if (limit < 0) throw_invalid(where + ".limit must be >= 0");
  if (limit > 0 && limit < out.train.size()) {
    std::vector<int64_t> idx(static_cast<size_t>(limit));
    for (int64_t i = 0; i < limit; ++i) idx[static_cast<size_t>(i)] = i;
    out.train = out.train.subset(idx);
  }
  const double test_fraction = get_double(cfg, "test_fraction", have_test ? 0.0 : 0.2, where);
  const double val_fraction = get_double(cfg, "validation_fraction", 0.1, where);
  require_in_range(test_fraction, 0.0, 0.9, "test_fraction", where);
  require_in_range(val_fraction, 0.0, 0.9, "validation_fraction", where);
  if (!have_test) hold_out(out.train, out.test, test_fraction, derive_seed(seed, 17), where + ".test_fraction");
  hold_out(out.train, out.val, val_fraction, derive_seed(seed, 29), where + ".validation_fraction");

  const std::string scale = get_string(cfg, "scale", "none", where);
  out.meta["data"] = cfg;
  if (scale != "none") {
    if (scale != "standard" && scale != "minmax")
      throw_invalid(where + ".scale: expected \"none\", \"standard\" or \"minmax\", got \"" + scale + "\"");
    Scaler s(scale);
    s.fit(out.train.x);
    s.transform(out.train.x);
    if (out.val.size()) s.transform(out.val.x);
    if (out.test.size()) s.transform(out.test.x);
    out.meta["scaler"] = scaler_json(s);
  }
  out.meta["class_names"] = out.train.class_names;
  out.meta["feature_names"] = out.train.feature_names;
  out.meta["num_classes"] = out.train.num_classes;
  return out;
}

TrainingParts make_training_parts(const nlohmann::json& train) {
  TrainingParts p;
  if (train.contains("loss")) p.loss = make_loss(typed_table(train["loss"]), "train.loss");
  p.optimizer = make_optimizer(optimizer_config(train), "train.optimizer");
  if (train.contains("scheduler")) {
    const nlohmann::json s = typed_table(train["scheduler"]);
    if (!s.is_object() || get_string(s, "type", "", "train.scheduler") != "none") p.scheduler = make_scheduler(s, "train.scheduler");
  }
  return p;
}

TrainingParts validate_run_config(const nlohmann::json& config) {
  if (!config.is_object()) throw_invalid("config: expected a table");
  check_keys(config, {"seed", "name", "data", "model", "train", "output", "study", "search", "objective", "estimate"},
             "config");
  if (!config.contains("model")) throw_invalid("config: the [model] table is missing");
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  check_keys(train,
             {"epochs", "batch_size", "loss", "optimizer", "lr", "scheduler", "l2", "clip_norm",
              "clip_value", "threads", "metrics", "shuffle", "early_stopping", "checkpoint", "eval_batch_size",
              "augment", "time_limit"},
             "train");
  // The cheap parts are built here, so that a bad value fails before any data is loaded, and
  // kept for the run.
  train_options(train, 0);
  early_stopping(train);
  get_int(config, "seed", 0, "config");
  if (config.contains("output")) get_string(config["output"], "dir", "", "output");
  return make_training_parts(train);
}

nlohmann::json expand_model_config(const nlohmann::json& config, const DataSplits& data) {
  const uint64_t seed = static_cast<uint64_t>(get_int(config, "seed", 0, "config"));
  nlohmann::json model_cfg = expand_model(config.at("model"), data);
  if (model_cfg.is_object() && !model_cfg.contains("seed")) model_cfg["seed"] = seed;
  if (model_cfg.is_object() && !model_cfg.contains("input_shape")) {  // inferred from the data
    std::vector<int64_t> in;
    Shape s = data.train.x.shape().tail();
    for (int i = 0; i < s.ndim(); ++i) in.push_back(s[i]);
    model_cfg["input_shape"] = in;
  }
  return model_cfg;
}

std::vector<std::string> check_run_on_data(const nlohmann::json& config, const DataSplits& data) {
  TrainingParts parts = validate_run_config(config);
  if (data.train.size() == 0) throw_invalid("data: the training set is empty");
  const uint64_t seed = static_cast<uint64_t>(get_int(config, "seed", 0, "config"));
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  const TrainOptions o = train_options(train, seed);
  if (!parts.loss) parts.loss = make_loss(data.train.is_classification() ? "cross_entropy" : "mse", "train.loss");
  if (parts.loss->is_classification() && !data.train.is_classification())
    throw_invalid("train.loss: \"" + parts.loss->type() + "\" needs class labels, but the data set is a regression one");
  Model model = Model::from_config(expand_model_config(config, data), "model");
  if (!model.built()) model.build(data.train.x.shape().tail(), seed);
  if (data.train.x.shape().tail() != model.input_shape())
    throw_invalid("model: the data have samples of shape " + data.train.x.shape().tail().str() +
                  " but the model expects " + model.input_shape().str());
  Augmenter(o.augment, seed).reserve(data.train.x.shape().tail(), 1);  // image options need images
  const int64_t outputs = model.output_shape().numel();
  if (parts.loss->is_classification() && outputs < data.train.num_classes &&
      !(outputs == 1 && data.train.num_classes <= 2))
    throw_invalid("model: the last layer has " + std::to_string(outputs) + " output(s) but the data have " +
                  std::to_string(data.train.num_classes) + " classes (set its units to " +
                  std::to_string(data.train.num_classes) + ")");
  // One sample through the model and the loss: outputs that do not fit the targets fail here.
  const int64_t first = 0;
  Tensor xb, yb;
  xb.copy_rows_from(data.train.x, &first, 1);
  yb.copy_rows_from(data.train.y, &first, 1);
  try {
    parts.loss->compute(model.forward(xb, false), yb, nullptr);
  } catch (const Error& e) {
    throw_invalid(std::string("model: its outputs do not fit the data's targets: ") + e.what());
  }
  std::vector<std::string> keys = {"epoch", "loss", "lr", "time_s", "samples_per_s"};
  if (data.train.is_classification()) keys.push_back("accuracy");
  if (data.val.size() > 0) {
    keys.push_back("val_loss");
    std::vector<std::string> names = o.metrics;
    if (names.empty() && data.val.is_classification()) names = {"accuracy"};
    for (const auto& n : names) keys.push_back("val_" + n);
  }
  return keys;
}

RunResult train_model(const nlohmann::json& config, const DataSplits& data, const RunHooks& hooks) {
  return train_model(config, data, hooks, validate_run_config(config));
}

RunResult train_model(const nlohmann::json& config, const DataSplits& data, const RunHooks& hooks,
                      TrainingParts parts) {
  const uint64_t seed = static_cast<uint64_t>(get_int(config, "seed", 0, "config"));
  const nlohmann::json train = config.value("train", nlohmann::json::object());
  const std::string w = "train";

  TrainOptions o = train_options(train, seed);
  if (const std::string note = threads_note(o.threads, "train.threads"); !note.empty() && hooks.log) hooks.log(note);
  o.threads = clamp_threads(o.threads);

  // The loss: default by task.
  if (!parts.loss) parts.loss = make_loss(data.train.is_classification() ? "cross_entropy" : "mse", "train.loss");
  if (parts.optimizer->type() == "gd") o.batch_size = 0;  // GD is full-batch by definition

  RunResult r;
  const nlohmann::json model_cfg = expand_model_config(config, data);
  const int64_t peak_before = tensor_memory().current;
  reset_tensor_memory_peak();
  r.model = Model::from_config(model_cfg, "model");
  if (!r.model.built()) r.model.build(data.train.x.shape().tail(), seed);

  Trainer trainer(r.model, *parts.loss, *parts.optimizer, parts.scheduler.get(), o);
  trainer.set_log(hooks.log);
  trainer.set_stop_flag(hooks.stop);
  for (auto& cb : hooks.callbacks) trainer.add_callback(cb);
  std::shared_ptr<EarlyStopping> es = early_stopping(train);
  if (es) trainer.add_callback(es);
  if (get_bool(train, "checkpoint", false, w) && !hooks.checkpoint_path.empty())
    trainer.add_callback(std::make_shared<ModelCheckpoint>(
        hooks.checkpoint_path, data.val.size() ? "val_loss" : "loss", "auto"));

  auto t0 = Clock::now();
  r.history = trainer.fit(data.train, data.val.size() ? &data.val : nullptr);
  r.train_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.diverged = trainer.diverged();
  r.interrupted = trainer.interrupted();
  if (r.diverged) r.stop_reason = "diverged";
  else if (r.interrupted) r.stop_reason = "interrupted";
  else if (trainer.timed_out()) r.stop_reason = "time_limit";
  else if (es && es->stopped_epoch() >= 0) r.stop_reason = "early_stopping";
  else if (static_cast<int>(r.history.rows.size()) < o.epochs) r.stop_reason = "callback";
  // After divergence the model's weights are NaN, unless early stopping put the best ones back.
  r.restored_best = es && es->restored();
  if (r.restored_best) r.best_epoch = es->best_epoch();
  if ((!r.diverged || r.restored_best) && data.test.size()) r.test = trainer.evaluate(data.test);
  r.num_params = r.model.num_params();
  // fit() restarts the thread's peak per epoch: the run's is the larger of fit's and what followed.
  r.peak_tensor_bytes = std::max(tensor_memory().peak, trainer.fit_tensor_peak()) - peak_before;
  return r;
}

}  // namespace hone
