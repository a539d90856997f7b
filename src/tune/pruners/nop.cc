// NopPruner (optuna/pruners/_nop.py): never prunes, not even on NaN.
#include "tune/pruners/common.h"

namespace hone {
namespace {

class NopPruner final : public Pruner {
 public:
  std::string name() const override { return "nop"; }
  bool prune(const Study&, const FrozenTrial&) override { return false; }
};

}  // namespace

std::shared_ptr<Pruner> make_nop_pruner() { return std::make_shared<NopPruner>(); }

namespace pruner_detail {
std::shared_ptr<Pruner> nop_from_json(const json&, const std::string&) { return make_nop_pruner(); }
}  // namespace pruner_detail

}  // namespace hone
