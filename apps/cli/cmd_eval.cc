// hone eval MODEL [--data CONFIG] [--split test|val|train]
// hone predict MODEL INPUT [--out FILE]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/util.h"
#include "hone/config.h"
#include "hone/error.h"
#include "hone/run.h"

namespace hone::cli {

namespace {

// A run directory or a model file.
std::string model_path(const std::string& p) {
  if (std::filesystem::is_directory(p)) return (std::filesystem::path(p) / "model.hone").string();
  return p;
}

std::unique_ptr<Loss> loss_from_meta(const nlohmann::json& meta, bool classification) {
  nlohmann::json l = classification ? nlohmann::json("cross_entropy") : nlohmann::json("mse");
  if (meta.contains("config") && meta["config"].contains("train") && meta["config"]["train"].contains("loss"))
    l = meta["config"]["train"]["loss"];
  l = typed_table(l);
  return make_loss(l, "train.loss");
}

Logs evaluate_on(Model& model, const Dataset& d, const nlohmann::json& meta) {
  auto loss = loss_from_meta(meta, d.is_classification());
  EvalOptions o;
  if (d.is_classification()) o.metrics = {"accuracy", "balanced_accuracy", "f1_macro", "log_loss"};
  else o.metrics = {"mse", "mae", "r2"};
  return evaluate(model, *loss, d, o);
}

class EvalCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("eval", "Evaluate a saved model on its data set's test split (or other data)");
    sub_->add_option("model", model_, "Model file (model.hone) or run directory")->required();
    sub_->add_option("--data", data_, "A config whose [data] table names other data to evaluate on");
    sub_->add_option("--split", split_, "Which split: test (default), val or train")
        ->check(CLI::IsMember({"test", "val", "train"}));
    sub_->add_flag("--json", json_, "Print the metrics as one JSON object");
  }

  int run() override {
    nlohmann::json meta;
    Model model = Model::load(model_path(model_), &meta);
    nlohmann::json data_cfg = meta.value("data", nlohmann::json::object());
    if (!data_.empty()) data_cfg = load_config(data_, {}).value("data", nlohmann::json::object());
    data_cfg["scale"] = "none";  // the saved scaler (fitted on the training data) is applied below
    DataSplits d = load_data(data_cfg, meta.value("seed", uint64_t{0}));
    Dataset& s = split_ == "train" ? d.train : split_ == "val" ? d.val : d.test;
    if (s.size() == 0) throw_invalid("eval: the " + split_ + " split is empty");
    if (s.x.shape().tail() != model.input_shape())
      throw_invalid("eval: the data have samples of shape " + s.x.shape().tail().str() +
                    " but the model expects " + model.input_shape().str());
    apply_saved_scaler(meta, s.x);
    Logs m = evaluate_on(model, s, meta);
    if (json_) {
      std::printf("%s\n", nlohmann::json(m).dump().c_str());
    } else {
      std::printf("%s split, %lld samples:\n", split_.c_str(), static_cast<long long>(s.size()));
      for (auto& [k, v] : m) std::printf("  %-18s %.4f\n", k.c_str(), v);
    }
    return 0;
  }

 private:
  std::string model_, data_, split_ = "test";
  bool json_ = false;
};

class PredictCommand : public Command {
 public:
  void add_to(CLI::App& app) override {
    sub_ = app.add_subcommand("predict", "Predict with a saved model: CSV rows or IDX images in, CSV out");
    sub_->add_option("model", model_, "Model file (model.hone) or run directory")->required();
    sub_->add_option("input", input_, "A CSV with the model's feature columns, or an IDX images file (.gz)")
        ->required()
        ->check(CLI::ExistingFile);
    sub_->add_option("--out,-o", out_, "Write predictions here (default: standard output)");
  }

  int run() override {
    nlohmann::json meta;
    Model model = Model::load(model_path(model_), &meta);
    std::vector<std::string> class_names = meta.value("class_names", std::vector<std::string>{});
    Tensor x = load_input(meta);
    if (x.shape().tail() != model.input_shape())  // before the saved scaler, which expects the model's shape
      throw_invalid(input_ + ": samples have shape " + x.shape().tail().str() + " but the model expects " +
                    model.input_shape().str());
    apply_saved_scaler(meta, x);
    Tensor out;
    model.predict(x, out);
    const int64_t n = out.dim(0), k = out.size() / std::max<int64_t>(1, n);
    const bool classify = meta.value("num_classes", 0) > 0;
    std::string csv;
    if (classify) {
      csv = "row,prediction";
      for (int64_t j = 0; j < k; ++j)
        csv += ",p_" + (j < static_cast<int64_t>(class_names.size()) ? class_names[j] : std::to_string(j));
      csv += "\n";
      std::vector<double> p(static_cast<size_t>(k));
      for (int64_t i = 0; i < n; ++i) {
        const float* row = out.data() + i * k;
        int64_t best = 0;
        double mx = row[0], z = 0;
        for (int64_t j = 1; j < k; ++j)
          if (row[j] > row[best]) best = j;
        mx = row[best];
        for (int64_t j = 0; j < k; ++j) z += (p[j] = std::exp(row[j] - mx));
        std::string label = best < static_cast<int64_t>(class_names.size()) ? class_names[best] : std::to_string(best);
        csv += fmt::format("{},{}", i, label);
        for (int64_t j = 0; j < k; ++j) csv += fmt::format(",{:.6g}", p[j] / z);
        csv += "\n";
      }
    } else {
      csv = "row";
      for (int64_t j = 0; j < k; ++j) csv += fmt::format(",y{}", j);
      csv += "\n";
      for (int64_t i = 0; i < n; ++i) {
        csv += std::to_string(i);
        for (int64_t j = 0; j < k; ++j) csv += fmt::format(",{:.8g}", out[i * k + j]);
        csv += "\n";
      }
    }
    if (out_.empty()) std::fwrite(csv.data(), 1, csv.size(), stdout);
    else write_text(out_, csv);
    return 0;
  }

 private:
  Tensor load_input(const nlohmann::json& meta) {
    const std::string ext = std::filesystem::path(input_).extension().string();
    if (ext == ".csv") {
      const auto& dcfg = meta.value("data", nlohmann::json::object());
      std::string target = dcfg.value("target", "");
      std::vector<std::string> features = meta.value("feature_names", std::vector<std::string>{});
      // The target column is optional in a prediction file: add a placeholder when it is absent.
      std::ifstream f(input_);
      std::string header;
      if (!std::getline(f, header) || header.find_first_not_of(" \t\r") == std::string::npos)
        throw_data(input_ + ": empty file or empty first line (expected a header row with the model's feature columns)");
      std::string path = input_;
      std::string tmp;
      if (target.empty() || header.find(target) == std::string::npos) {
        if (target.empty()) target = "__target";
        tmp = (std::filesystem::temp_directory_path() / fmt::format("hone-predict-{}.csv", ::getpid())).string();
        std::ofstream o(tmp);
        std::string line;
        o << header << "," << target << "\n";
        while (std::getline(f, line))  // blank lines stay blank, so that error line numbers are the file's
          o << (line.empty() || line == "\r" ? std::string() : line + ",0") << "\n";
        path = tmp;
      }
      CsvOptions co;
      co.target = target;
      co.task = "auto";
      if (dcfg.contains("drop") && dcfg["drop"].is_array())
        for (auto& c : dcfg["drop"]) co.drop.push_back(c.get<std::string>());
      Dataset d;
      try {
        d = load_csv(path, co);
      } catch (const Error& e) {
        if (tmp.empty()) throw;
        std::remove(tmp.c_str());
        // The message names the user's file, not the copy with a placeholder target column.
        std::string msg = e.what();
        for (size_t at = msg.find(tmp); at != std::string::npos; at = msg.find(tmp, at + input_.size()))
          msg.replace(at, tmp.size(), input_);
        throw Error(e.kind(), msg);
      } catch (...) {
        if (!tmp.empty()) std::remove(tmp.c_str());
        throw;
      }
      if (!tmp.empty()) std::remove(tmp.c_str());
      if (!features.empty() && d.feature_names != features) {
        std::string want;
        for (auto& s : features) want += (want.empty() ? "" : ", ") + s;
        throw_invalid(input_ + ": the columns differ from the model's features (" + want + ")");
      }
      return std::move(d.x);
    }
    return std::move(load_idx_images(input_).x);  // IDX images, plain or .gz
  }

  std::string model_, input_, out_;
};

}  // namespace

std::unique_ptr<Command> make_eval_command() { return std::make_unique<EvalCommand>(); }
std::unique_ptr<Command> make_predict_command() { return std::make_unique<PredictCommand>(); }

}  // namespace hone::cli
