// hone/tune/tune.h — the whole search core in one include.
#pragma once

#include "hone/tune/distribution.h"
#include "hone/tune/frozen_trial.h"
#include "hone/tune/multi_objective.h"
#include "hone/tune/pruner.h"
#include "hone/tune/sampler.h"
#include "hone/tune/search_space.h"
#include "hone/tune/storage.h"
#include "hone/tune/study.h"
