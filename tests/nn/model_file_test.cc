// Model files whose JSON header was edited (with a valid checksum): a bogus tensor kind, fewer
// class names than outputs, junk metadata. Each is an Error(kDataError) naming the file and the
// field, where Model::load used to accept it (or let a JSON library exception escape).
#include <gtest/gtest.h>

#include <cstdint>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/model.h"

namespace hone {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

uint32_t crc32_of(const std::string& s) {  // zlib's crc32
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

std::string read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class ModelFileEdits : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("hone_model_file_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
    Model m = Model::from_config(json::parse(
        R"({"input_shape": [4], "seed": 1, "layers": [{"type": "dense", "units": 5}, {"type": "batchnorm"},
            {"type": "relu"}, {"type": "dense", "units": 3}]})"));
    good_ = dir_ + "/good.hone";
    m.save(good_, json{{"class_names", {"a", "b", "c"}}, {"num_classes", 3}, {"feature_names", {"w", "x", "y", "z"}},
                       {"scaler", {{"kind", "standard"}, {"shift", {0, 0, 0, 0}}, {"scale", {1, 1, 1, 1}}}}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The good file with its header edited by `edit` and the checksum recomputed.
  std::string edited(const std::string& name, const std::function<void(json&)>& edit) {
    const std::string f = read_all(good_);
    uint64_t hlen = 0;
    std::memcpy(&hlen, f.data() + 12, 8);
    json header = json::parse(f.substr(20, hlen));
    edit(header);
    const std::string h = header.dump();
    std::string out = f.substr(0, 12);
    const uint64_t n = h.size();
    out.append(reinterpret_cast<const char*>(&n), 8);
    out += h + f.substr(20 + hlen, f.size() - 4 - 20 - hlen);
    const uint32_t crc = crc32_of(out);
    out.append(reinterpret_cast<const char*>(&crc), 4);
    const std::string p = dir_ + "/" + name + ".hone";
    std::ofstream(p, std::ios::binary) << out;
    return p;
  }

  void expect_rejected(const std::string& p, const std::string& needle) {
    try {
      Model::load(p);
      ADD_FAILURE() << p << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kDataError) << e.what();
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a hone::Error: " << e.what();
    }
  }

  std::string dir_, good_;
};

TEST_F(ModelFileEdits, TheUneditedFileLoads) {
  json meta;
  Model m = Model::load(edited("same", [](json&) {}), &meta);
  EXPECT_EQ(meta["class_names"].size(), 3u);
}

TEST_F(ModelFileEdits, BogusTensorKindIsAnError) {
  expect_rejected(edited("kind", [](json& h) { h["tensors"][0]["kind"] = "bogus"; }), "kind");
  expect_rejected(edited("kind2", [](json& h) { h["tensors"][0].erase("kind"); }), "kind");
  // A buffer (batch norm's running mean) listed as a parameter.
  expect_rejected(edited("kind3", [](json& h) {
                    for (auto& t : h["tensors"])
                      if (t["kind"] == "buffer") t["kind"] = "param";
                  }),
                  "kind");
}

TEST_F(ModelFileEdits, FewerClassNamesThanOutputsIsAnError) {
  expect_rejected(edited("names", [](json& h) { h["metadata"]["class_names"] = {"a", "b"}; }), "class_names");
  expect_rejected(edited("names2", [](json& h) { h["metadata"]["class_names"] = {"a", 2, "c"}; }), "class_names");
  expect_rejected(edited("classes", [](json& h) { h["metadata"]["num_classes"] = 2; }), "num_classes");
}

TEST_F(ModelFileEdits, JunkFieldsAreErrorsNotJsonExceptions) {
  expect_rejected(edited("name", [](json& h) { h["tensors"][0]["name"] = 7; }), "tensor 0");
  expect_rejected(edited("shape", [](json& h) { h["tensors"][0]["shape"] = "x"; }), "shape");
  expect_rejected(edited("meta", [](json& h) { h["metadata"] = 3; }), "metadata");
  expect_rejected(edited("scale", [](json& h) { h["metadata"]["scaler"]["scale"] = {1, 1}; }), "metadata.scaler.scale");
  expect_rejected(edited("scalek", [](json& h) { h["metadata"]["scaler"]["kind"] = "bogus"; }), "metadata.scaler.kind");
  expect_rejected(edited("seed", [](json& h) { h["metadata"]["seed"] = -1; }), "metadata.seed");
  expect_rejected(edited("data", [](json& h) { h["metadata"]["data"] = {{"target", 3}}; }), "metadata.data.target");
  expect_rejected(edited("units", [](json& h) { h["model"]["layers"][0]["units"] = -1; }), "units");
}

}  // namespace
}  // namespace hone
