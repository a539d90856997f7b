// hone/tune/search_space.h — search spaces written inside JSON configs.
//
// Anywhere a value stands in a config, a distribution spec may stand instead:
//   {"float": [lo, hi]}  with optional "log": true, "step": s
//   {"int":   [lo, hi]}  with optional "log": true, "step": s
//   {"choice": [v1, v2, ...]}
// The parameter's name is the dotted key path ("train.lr"; array elements as "layers[1]").
// Conditional parameters: a choice whose choices are objects (tables) is a branch. The branch is
// suggested first (choices = each table's "type" string when all have distinct ones, else the
// indices 0..k-1), then only the chosen table is walked, under the choice's own path:
//   optimizer = {choice = [{type = "sgd", momentum = {float = [0, 0.99]}}, {type = "adam"}]}
// gives "optimizer" in {"sgd", "adam"} and, only when sgd is chosen, "optimizer.momentum".
#pragma once

#include <string>
#include <vector>

#include "hone/tune/distribution.h"

namespace hone {

class Trial;

// True if `v` is a distribution spec (an object with exactly one of float/int/choice).
bool is_distribution_spec(const json& v);
// The distribution a spec stands for; `where` names it in errors. Throws Error(kInvalidArgument)
// for an unknown key ("train.lr: unknown option \"lg\" ...") or a bad domain.
Distribution distribution_from_spec(const json& spec, const std::string& where);

struct FoundDistribution {
  std::string name;          // dotted path
  Distribution distribution;
  bool conditional = false;  // inside a branch of a conditional choice
};
// Every distribution in the config (branches included), in document order. Validates them all.
std::vector<FoundDistribution> find_distributions(const json& config);

// A copy of the config with every spec replaced by trial.suggest_*(path, ...) and every
// conditional choice replaced by its chosen (instantiated) table.
json instantiate(const json& config, Trial& trial);

}  // namespace hone
