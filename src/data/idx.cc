// load_idx: the IDX format of MNIST-like data sets (http://yann.lecun.com/exdb/mnist/):
// a big-endian header (magic 0x00 0x00 <type> <ndim>, then ndim u32 sizes) followed by the
// values. gzread reads .gz and plain files alike, so one code path serves both.
#include <sys/mman.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "hone/dataset.h"
#include "hone/error.h"

namespace hone {
namespace {

constexpr uint8_t kTypeU8 = 0x08;
// Deflate cannot expand data by more than ~1032:1, so a header announcing more bytes than that
// bound allows is a truncated or corrupt file: it is reported before anything large is allocated.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr size_t kChunk = size_t{1} << 20;  // decompressed bytes converted per step (stays in cache)

class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw_io(path + ": is a directory, not a file");
    size_ = std::filesystem::file_size(path, ec);
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
  // The most data bytes the file can still deliver after `consumed` bytes (header) were read.
  uint64_t max_payload(uint64_t consumed) const {
    if (gzdirect(f_)) return size_ > consumed ? size_ - consumed : 0;
    return size_ * kMaxDeflateRatio + 1024;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
  uint64_t size_ = 0;
};

// Reads the header (magic 0x00 0x00 0x08 <ndim>, ndim big-endian u32 sizes); returns the sizes.
std::vector<int64_t> read_header(GzFile& f, const std::string& path, const char* what) {
  unsigned char magic[4];
  size_t got = f.read(magic, 4);
  if (got == 0) throw_data(path + ": empty file (expected an IDX " + std::string(what) + " file)");
  if (got < 4 || magic[0] != 0 || magic[1] != 0)
    throw_data(path + ": not an IDX file (bad magic number; expected 0x000008xx)");
  if (magic[2] != kTypeU8) {
    static const char* hex = "0123456789abcdef";
    throw_data(path + ": unsupported IDX element type 0x" + hex[magic[2] >> 4] + hex[magic[2] & 15] +
               " (only unsigned bytes, 0x08, are supported)");
  }
  const int ndim = magic[3];
  if (ndim < 1 || ndim > 4) throw_data(path + ": IDX file with " + std::to_string(ndim) + " dimensions");
  std::vector<int64_t> dims;
  uint64_t total = 1;
  for (int i = 0; i < ndim; ++i) {
    unsigned char b[4];
    if (f.read(b, 4) != 4) throw_data(path + ": truncated IDX header");
    uint32_t d = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
    dims.push_back(static_cast<int64_t>(d));
    total *= d;
    if (total > (uint64_t{1} << 40)) throw_data(path + ": IDX header announces an impossible size");
  }
  uint64_t limit = f.max_payload(4 + 4 * static_cast<uint64_t>(ndim));
  if (total > limit)
    throw_data(path + ": truncated IDX file: the header announces " + std::to_string(total) +
               " bytes of data, the file can hold at most " + std::to_string(limit));
  return dims;
}

// Decompresses `count` bytes into dst as floats times `scale`, one cache-sized chunk at a time
// (no full-size byte buffer: each page of the output is touched once).
void read_values(GzFile& f, const std::string& path, float* dst, int64_t count, float scale) {
  std::vector<uint8_t> buf(std::min<size_t>(kChunk, static_cast<size_t>(count)));
  int64_t done = 0;
  while (done < count) {
    size_t want = std::min<size_t>(buf.size(), static_cast<size_t>(count - done));
    size_t r = f.read(buf.data(), want);
    for (size_t i = 0; i < r; ++i) dst[done + static_cast<int64_t>(i)] = static_cast<float>(buf[i]) * scale;
    done += static_cast<int64_t>(r);
    if (r < want)
      throw_data(path + ": truncated IDX file: the header announces " + std::to_string(count) +
                 " bytes of data, the file holds " + std::to_string(done));
  }
}

// Sizes `t` without filling it (every element is written by read_values). The first touch of
// fresh pages dominates loading time on VMs (0.7 s for the 188 MB of Fashion-MNIST's training
// images on the 2-core dev VM, 0.03 s with huge pages), so large buffers ask for huge pages.
void allocate(Tensor& t, const Shape& s) {
  t.resize(s);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const size_t bytes = static_cast<size_t>(t.size()) * sizeof(float);
  const uintptr_t kHuge = uintptr_t{2} << 20, kPage = 4096;
  if (bytes >= 2 * kHuge) {
    uintptr_t b = (reinterpret_cast<uintptr_t>(t.data()) + kPage - 1) & ~(kPage - 1);
    uintptr_t e = (reinterpret_cast<uintptr_t>(t.data()) + bytes) & ~(kPage - 1);
    if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);  // a hint; failure is harmless
  }
#endif
}

// Checks an images header: (N, H, W) or plain feature vectors (N, F), at least one image.
void check_image_dims(const std::vector<int64_t>& idim, const std::string& path) {
  if (idim.size() != 3 && idim.size() != 2)
    throw_data(path + ": expected an images file with 3 dimensions (N, H, W), got " + std::to_string(idim.size()));
  if (idim[0] == 0) throw_data(path + ": no images");
  for (size_t i = 1; i < idim.size(); ++i)
    if (idim[i] == 0) throw_data(path + ": dimension " + std::to_string(i + 1) + " of the IDX header is 0 (an image needs pixels)");
}

// Reads the image values after the header into x: (N, 1, H, W), or (N, F) for a 2-d file.
void read_images(GzFile& f, const std::string& path, const std::vector<int64_t>& idim, bool scale, Tensor& x) {
  const int64_t n = idim[0];
  try {
    allocate(x, idim.size() == 3 ? Shape{n, 1, idim[1], idim[2]} : Shape{n, idim[1]});
  } catch (const std::bad_alloc&) {
    throw_data(path + ": not enough memory for the " + std::to_string(n) + " images its header announces");
  }
  read_values(f, path, x.data(), x.size(), scale ? 1.0f / 255.0f : 1.0f);
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path, bool scale) {
  if (labels_path.empty()) return load_idx_images(images_path, scale);
  GzFile fi(images_path), fl(labels_path);
  std::vector<int64_t> idim = read_header(fi, images_path, "images");
  std::vector<int64_t> ldim = read_header(fl, labels_path, "labels");
  check_image_dims(idim, images_path);
  if (ldim.size() != 1)
    throw_data(labels_path + ": expected a labels file with 1 dimension (N), got " + std::to_string(ldim.size()));
  for (int64_t d : ldim)
    if (d == 0) throw_data(labels_path + ": no labels");
  const int64_t n = idim[0];
  if (ldim[0] != n)
    throw_data(images_path + " has " + std::to_string(n) + " images but " + labels_path + " has " +
               std::to_string(ldim[0]) + " labels");

  Dataset ds;
  read_images(fi, images_path, idim, scale, ds.x);
  ds.y.resize(Shape{n});
  read_values(fl, labels_path, ds.y.data(), n, 1.0f);

  float maxl = 0;
  for (int64_t i = 0; i < n; ++i) maxl = std::max(maxl, ds.y[i]);
  // MNIST-like label files hold digits 0..9; a small subset may miss the top classes, so the class
  // count never drops below 10.
  ds.num_classes = std::max(10, static_cast<int>(maxl) + 1);
  for (int c = 0; c < ds.num_classes; ++c) ds.class_names.push_back(std::to_string(c));
  return ds;
}

Dataset load_idx_images(const std::string& images_path, bool scale) {
  GzFile fi(images_path);
  std::vector<int64_t> idim = read_header(fi, images_path, "images");
  check_image_dims(idim, images_path);
  Dataset ds;
  read_images(fi, images_path, idim, scale, ds.x);
  return ds;
}

}  // namespace hone
