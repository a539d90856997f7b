// A picture of what hone's augmentation does to Fashion-MNIST: one row per setting, the same
// training images in every row, written as a binary PGM (look at it; `convert grid.pgm grid.png`).
//   build/release/augment_grid [out.pgm] [images=10] [dir=/usr/share/datasets/fashion-mnist]
// Rows: the originals; shift = 2; flip; rotate = 10; cutout = 8; shift = 2 + flip + rotate = 10 +
// cutout = 8. Each image is drawn at 2x with a 2-pixel grey gutter, so a shifted image's zero
// fill shows as black against the gutter.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hone/augment.h"
#include "hone/dataset.h"
#include "hone/error.h"

int main(int argc, char** argv) {
  using namespace hone;
  const std::string out = argc > 1 ? argv[1] : "augment_grid.pgm";
  const int64_t n = argc > 2 ? std::atoll(argv[2]) : 10;
  const std::string dir = argc > 3 ? argv[3] : "/usr/share/datasets/fashion-mnist";
  try {
    const Dataset d = load_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
    if (n < 1 || n > d.size()) throw_invalid("augment_grid: images must be in [1, " + std::to_string(d.size()) + "]");
    std::vector<int64_t> first(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) first[static_cast<size_t>(i)] = i;
    Tensor x0;
    x0.copy_rows_from(d.x, first.data(), n);
    std::vector<AugmentOptions> rows(6);
    rows[1].shift = 2;
    rows[2].flip = true;
    rows[3].rotate = 10;
    rows[4].cutout = 8;
    rows[5] = {.shift = 2, .flip = true, .rotate = 10, .cutout = 8};
    const int64_t h = x0.dim(2), w = x0.dim(3), s = 2, g = 2;
    const int64_t cw = w * s + g, ch = h * s + g;
    const int64_t W = n * cw + g, H = static_cast<int64_t>(rows.size()) * ch + g;
    std::vector<unsigned char> img(static_cast<size_t>(W * H), 128);
    Tensor y({n}, 0.0f), ym;
    for (size_t r = 0; r < rows.size(); ++r) {
      Tensor x = x0;
      Augmenter a(rows[r], 7);
      a.reserve(x.shape().tail(), n);
      a.apply(x, y, ym, 0, 0);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t py = 0; py < h * s; ++py)
          for (int64_t px = 0; px < w * s; ++px) {
            const float v = x[(i * h + py / s) * w + px / s];
            img[static_cast<size_t>((static_cast<int64_t>(r) * ch + g + py) * W + i * cw + g + px)] =
                static_cast<unsigned char>(std::clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f);
          }
    }
    FILE* f = std::fopen(out.c_str(), "wb");
    if (!f) throw Error(ErrorKind::kIoError, "augment_grid: cannot write " + out);
    std::fprintf(f, "P5\n%lld %lld\n255\n", static_cast<long long>(W), static_cast<long long>(H));
    std::fwrite(img.data(), 1, img.size(), f);
    std::fclose(f);
    std::printf("wrote %s (%lld x %lld)\n", out.c_str(), static_cast<long long>(W), static_cast<long long>(H));
  } catch (const Error& e) {
    std::fprintf(stderr, "augment_grid: %s\n", e.what());
    return 2;
  }
  return 0;
}
