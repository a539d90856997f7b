#include "nn/layers.h"
namespace hone::nn {
#define PENDING(f) std::unique_ptr<Layer> f(const json&, const std::string& where) { throw_invalid(where + ": not implemented yet"); }
PENDING(make_conv2d) PENDING(make_maxpool2d) PENDING(make_avgpool2d) PENDING(make_global_avg_pool)
PENDING(make_batchnorm) PENDING(make_layernorm) PENDING(make_embedding)
}
