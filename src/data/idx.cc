// load_idx: the IDX format of MNIST-like data sets (http://yann.lecun.com/exdb/mnist/):
// a big-endian header (magic 0x00 0x00 <type> <ndim>, then ndim u32 sizes) followed by the
// values. gzread reads .gz and plain files alike, so one code path serves both.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <cstdint>
#include <string>
#include <vector>

#include "hone/dataset.h"
#include "hone/error.h"

namespace hone {
namespace {

constexpr uint8_t kTypeU8 = 0x08;
// A corrupt header could announce terabytes; data are read in chunks, so memory follows what the
// file really holds and a truncated file is reported before any large allocation.
constexpr size_t kChunk = size_t{1} << 24;

class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw_io(path + ": is a directory, not a file");
    f_ = gzopen(path.c_str(), "rb");
    if (!f_) throw_io(path + ": cannot open for reading: " + std::strerror(errno));
    gzbuffer(f_, 1 << 18);
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes; returns how many were read (< n only at the end of the data).
  size_t read(void* dst, size_t n) {
    size_t got = 0;
    auto* p = static_cast<unsigned char*>(dst);
    while (got < n) {
      unsigned want = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      int r = gzread(f_, p + got, want);
      if (r < 0) {
        int err = 0;
        const char* msg = gzerror(f_, &err);
        throw_data(path_ + ": corrupt or unreadable gzip data: " + (msg ? msg : "unknown zlib error"));
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

struct Idx {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

Idx read_idx(const std::string& path, const char* what) {
  GzFile f(path);
  unsigned char magic[4];
  size_t got = f.read(magic, 4);
  if (got == 0) throw_data(path + ": empty file (expected an IDX " + std::string(what) + " file)");
  if (got < 4 || magic[0] != 0 || magic[1] != 0)
    throw_data(path + ": not an IDX file (bad magic number; expected 0x000008xx)");
  if (magic[2] != kTypeU8)
    throw_data(path + ": unsupported IDX element type 0x" +
               std::string(1, "0123456789abcdef"[magic[2] >> 4]) + std::string(1, "0123456789abcdef"[magic[2] & 15]) +
               " (only unsigned bytes, 0x08, are supported)");
  const int ndim = magic[3];
  if (ndim < 1 || ndim > 4) throw_data(path + ": IDX file with " + std::to_string(ndim) + " dimensions");
  Idx idx;
  uint64_t total = 1;
  for (int i = 0; i < ndim; ++i) {
    unsigned char b[4];
    if (f.read(b, 4) != 4) throw_data(path + ": truncated IDX header");
    uint32_t d = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
    idx.dims.push_back(static_cast<int64_t>(d));
    total *= d;
    if (total > (uint64_t{1} << 40)) throw_data(path + ": IDX header announces an impossible size");
  }
  size_t have = 0;
  while (have < total) {
    size_t want = std::min<size_t>(static_cast<size_t>(total) - have, kChunk);
    idx.data.resize(have + want);
    size_t r = f.read(idx.data.data() + have, want);
    have += r;
    if (r < want)
      throw_data(path + ": truncated IDX file: the header announces " + std::to_string(total) +
                 " bytes of data, the file holds " + std::to_string(have));
  }
  return idx;
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path, bool scale) {
  Idx im = read_idx(images_path, "images");
  Idx lb = read_idx(labels_path, "labels");
  if (im.dims.size() != 3 && im.dims.size() != 2)
    throw_data(images_path + ": expected an images file with 3 dimensions (N, H, W), got " +
               std::to_string(im.dims.size()));
  if (lb.dims.size() != 1)
    throw_data(labels_path + ": expected a labels file with 1 dimension (N), got " + std::to_string(lb.dims.size()));
  const int64_t n = im.dims[0];
  if (lb.dims[0] != n)
    throw_data(images_path + " has " + std::to_string(n) + " images but " + labels_path + " has " +
               std::to_string(lb.dims[0]) + " labels");
  if (n == 0) throw_data(images_path + ": no images");

  Dataset ds;
  if (im.dims.size() == 3)
    ds.x = Tensor(Shape{n, 1, im.dims[1], im.dims[2]});
  else  // a 2-d IDX file holds plain feature vectors (N, F)
    ds.x = Tensor(Shape{n, im.dims[1]});
  const float k = scale ? 1.0f / 255.0f : 1.0f;
  float* x = ds.x.data();
  const uint8_t* src = im.data.data();
  const int64_t count = ds.x.size();
  for (int64_t i = 0; i < count; ++i) x[i] = static_cast<float>(src[i]) * k;

  ds.y = Tensor(Shape{n});
  int maxl = 0;
  for (int64_t i = 0; i < n; ++i) {
    ds.y[i] = static_cast<float>(lb.data[static_cast<size_t>(i)]);
    maxl = std::max<int>(maxl, lb.data[static_cast<size_t>(i)]);
  }
  // MNIST-like label files hold digits 0..9; a small subset may miss the top classes, so the class
  // count never drops below 10.
  ds.num_classes = std::max(10, maxl + 1);
  for (int c = 0; c < ds.num_classes; ++c) ds.class_names.push_back(std::to_string(c));
  return ds;
}

}  // namespace hone
