// Model files: see docs/FORMATS.md.
//
//   offset 0   8 bytes  magic "HONEMDL\x1a"
//          8   u32 LE   format version (kFormatVersion)
//         12   u64 LE   header length H
//         20   H bytes  header: JSON {"model": Model::config(), "metadata": {...},
//                                     "tensors": [{"name", "shape", "kind": "param"|"buffer"}]}
//       20+H   float32 LE data of each tensor, in header order
//        end   u32 LE   CRC-32 (zlib) of every byte before it
//
// Files are written to a temporary name and renamed, so a crash never leaves a half-written model.
#include <zlib.h>

#include <cstdio>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hone/error.h"
#include "hone/model.h"

namespace hone {

namespace {

constexpr char kMagic[8] = {'H', 'O', 'N', 'E', 'M', 'D', 'L', '\x1a'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kMaxHeader = 64ull << 20;

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the formats are little-endian; so is every target we build for
  out.append(b, sizeof(T));
}

template <typename T>
T get(const std::string& in, size_t off) {
  T v;
  std::memcpy(&v, in.data() + off, sizeof(T));
  return v;
}

struct NamedTensor {
  std::string name;
  Tensor* t;
  const char* kind;
};

std::vector<NamedTensor> collect(Model& m) {
  std::vector<NamedTensor> v;
  for (auto& p : m.params()) v.push_back({p.name, p.value, "param"});
  for (auto& b : m.buffers()) v.push_back({b.name, b.value, "buffer"});
  return v;
}

// The metadata that hone's commands read back (class names, feature names, scaler): checked
// here, so that a hand-edited or corrupt file is one error naming the file, not a wrong label.
void check_metadata(const nlohmann::json& meta, const Model& m, const std::string& bad) {
  if (!meta.is_object()) throw_data(bad + "metadata: expected an object");
  auto strings = [&](const char* key) -> int64_t {
    if (!meta.contains(key)) return -1;
    const auto& v = meta[key];
    if (!v.is_array()) throw_data(bad + "metadata." + key + ": expected a list of names");
    for (const auto& e : v)
      if (!e.is_string()) throw_data(bad + "metadata." + key + ": expected a list of names, got " + e.dump());
    return static_cast<int64_t>(v.size());
  };
  const int64_t names = strings("class_names");
  strings("feature_names");
  int64_t classes = 0;
  if (meta.contains("num_classes")) {
    const auto& k = meta["num_classes"];
    if (!k.is_number_integer() || k.get<int64_t>() < 0 || k.get<int64_t>() > (int64_t{1} << 30))
      throw_data(bad + "metadata.num_classes: expected a count, got " + k.dump());
    classes = k.get<int64_t>();
  }
  const int64_t outputs = m.output_shape().numel();
  if (classes > 0) {
    if (names >= 0 && names < outputs)
      throw_data(bad + "metadata.class_names has " + std::to_string(names) + " names for the model's " +
                 std::to_string(outputs) + " outputs");
    if (classes < outputs && outputs > 1)
      throw_data(bad + "metadata.num_classes is " + std::to_string(classes) + " but the model has " +
                 std::to_string(outputs) + " outputs");
  }
  if (meta.contains("seed") && !meta["seed"].is_number_unsigned() &&
      !(meta["seed"].is_number_integer() && meta["seed"].get<int64_t>() >= 0))
    throw_data(bad + "metadata.seed: expected an integer >= 0, got " + meta["seed"].dump());
  if (meta.contains("data")) {
    const auto& d = meta["data"];
    if (!d.is_object()) throw_data(bad + "metadata.data: expected an object");
    if (d.contains("target") && !d["target"].is_string()) throw_data(bad + "metadata.data.target: expected a name");
    if (d.contains("drop")) {
      if (!d["drop"].is_array()) throw_data(bad + "metadata.data.drop: expected a list of names");
      for (const auto& e : d["drop"])
        if (!e.is_string()) throw_data(bad + "metadata.data.drop: expected a list of names, got " + e.dump());
    }
  }
  if (meta.contains("scaler")) {
    const auto& sc = meta["scaler"];
    if (!sc.is_object()) throw_data(bad + "metadata.scaler: expected an object");
    const int64_t features = m.input_shape().numel();
    for (const char* key : {"shift", "scale"}) {
      if (!sc.contains(key) || !sc[key].is_array() || static_cast<int64_t>(sc[key].size()) != features)
        throw_data(bad + "metadata.scaler." + key + ": expected a list of " + std::to_string(features) + " numbers");
      for (const auto& e : sc[key])
        if (!e.is_number() || !std::isfinite(e.get<double>()))
          throw_data(bad + "metadata.scaler." + key + ": expected finite numbers, got " + e.dump());
    }
    if (!sc.contains("kind") || (sc["kind"] != "standard" && sc["kind"] != "minmax"))
      throw_data(bad + "metadata.scaler.kind: expected \"standard\" or \"minmax\"");
  }
}

}  // namespace

void Model::save(const std::string& path) const { save(path, nlohmann::json::object()); }

void Model::save(const std::string& path, const nlohmann::json& metadata) const {
  if (!built_) throw_invalid("Model::save: the model has not been built");
  Model& self = const_cast<Model&>(*this);  // params() hands out mutable pointers; we only read
  auto tensors = collect(self);
  nlohmann::json header;
  header["model"] = config();
  header["metadata"] = metadata.is_null() ? nlohmann::json::object() : metadata;
  header["tensors"] = nlohmann::json::array();
  for (auto& t : tensors) {
    std::vector<int64_t> shape;
    for (int i = 0; i < t.t->ndim(); ++i) shape.push_back(t.t->dim(i));
    header["tensors"].push_back({{"name", t.name}, {"shape", shape}, {"kind", t.kind}});
  }
  std::string h = header.dump();
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kFormatVersion);
  put<uint64_t>(out, h.size());
  out += h;
  for (auto& t : tensors)
    out.append(reinterpret_cast<const char*>(t.t->data()), static_cast<size_t>(t.t->size()) * sizeof(float));
  uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(out.data()),
                                             static_cast<uInt>(out.size())));
  put<uint32_t>(out, crc);

  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw_io(path + ": cannot write model file");
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw_io(path + ": write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw_io(path + ": cannot rename the temporary model file into place");
  }
}

Model Model::load(const std::string& path, nlohmann::json* metadata) {
  std::ifstream f(path, std::ios::binary);
  if (path.empty()) throw_invalid("the model file's path is empty (give a model.hone or a run directory)");
  if (!f) throw_io(path + ": cannot open model file");
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string in = ss.str();
  const std::string bad = path + ": not a valid hone model file: ";

  if (in.size() < sizeof(kMagic) || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0)
    throw_data(bad + "wrong magic bytes (is it a model saved by hone?)");
  if (in.size() < 24) throw_data(bad + "truncated (" + std::to_string(in.size()) + " bytes)");
  const uint32_t version = get<uint32_t>(in, 8);
  if (version != kFormatVersion)
    throw_data(bad + "format version " + std::to_string(version) + " (this hone reads version " +
               std::to_string(kFormatVersion) + ")");
  const uint64_t hlen = get<uint64_t>(in, 12);
  if (hlen > kMaxHeader || 20 + hlen + 4 > in.size()) throw_data(bad + "truncated header");
  const uint32_t stored_crc = get<uint32_t>(in, in.size() - 4);
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(in.size() - 4)));
  if (crc != stored_crc) throw_data(bad + "checksum mismatch (the file is truncated or corrupt)");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(in.begin() + 20, in.begin() + 20 + static_cast<std::ptrdiff_t>(hlen));
  } catch (const nlohmann::json::exception& e) {
    throw_data(bad + "unreadable header (" + e.what() + ")");
  }
  if (!header.is_object() || !header.contains("model") || !header.contains("tensors") ||
      !header["tensors"].is_array())
    throw_data(bad + "the header lacks the model or tensor list");

  Model m;
  try {
    m = Model::from_config(header["model"], path + ": model");
  } catch (const Error& e) {
    throw_data(bad + e.what());
  }
  auto tensors = collect(m);
  const auto& listed = header["tensors"];
  if (listed.size() != tensors.size())
    throw_data(bad + "it lists " + std::to_string(listed.size()) + " tensors, the architecture has " +
               std::to_string(tensors.size()));
  size_t off = 20 + hlen;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& e = listed[i];
    if (!e.is_object() || !e.contains("name") || e["name"] != tensors[i].name)
      throw_data(bad + "tensor " + std::to_string(i) + " is not \"" + tensors[i].name + "\"");
    if (!e.contains("kind") || e["kind"] != tensors[i].kind)
      throw_data(bad + "tensor \"" + tensors[i].name + "\" has kind " +
                 (e.contains("kind") ? e["kind"].dump() : std::string("(none)")) + ", expected \"" +
                 tensors[i].kind + "\"");
    std::vector<int64_t> shape;
    if (e.contains("shape") && e["shape"].is_array())
      for (const auto& d : e["shape"]) shape.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
    Shape expect = tensors[i].t->shape();
    bool same = static_cast<int>(shape.size()) == expect.ndim();
    for (size_t d = 0; same && d < shape.size(); ++d) same = shape[d] == expect[static_cast<int>(d)];
    if (!same) throw_data(bad + "tensor \"" + tensors[i].name + "\" has the wrong shape");
    const size_t bytes = static_cast<size_t>(tensors[i].t->size()) * sizeof(float);
    if (off + bytes > in.size() - 4) throw_data(bad + "truncated tensor data");
    if (bytes) std::memcpy(tensors[i].t->data(), in.data() + off, bytes);
    off += bytes;
  }
  if (off != in.size() - 4) throw_data(bad + "trailing bytes after the tensor data");
  nlohmann::json meta = header.contains("metadata") ? header["metadata"] : nlohmann::json::object();
  check_metadata(meta, m, bad);
  if (metadata) *metadata = std::move(meta);
  return m;
}

}  // namespace hone
