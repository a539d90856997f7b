// hone/tune/queue.h — a study's trial budget as a queue of WAITING trials, shared by processes.
//
// A stored study that many processes run (`hone tune --workers`, `hone worker` anywhere) keeps
// its n_trials as a queue: one process fills it with WAITING trials — the baseline first (once
// per study), then one per grid point with its values fixed (a grid), or blank ones whose values
// the sampler picks when a process claims them — and every process runs
// Study::optimize with OptimizeOptions::queued_only, claiming WAITING trials atomically (the
// storage's claim_waiting_trial) and creating none. So any number of processes run exactly
// n_trials trials with unique, gapless numbers, and no grid point twice. A study without n_trials
// (timeout only) has no queue: each process creates trials until its own timeout or stop.
//
// Grid trials are tagged as GridSampler tags its own claims (system attrs "grid_id" and
// "search_space"), so a grid filled here and one sampled by GridSampler recognise each other's
// points, and Optuna reading the storage sees an ordinary grid study.
//
// Thread safety: as Study; filling the same study from two processes at once may overfill it
// (the filler is the one process that creates or extends the study).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "hone/tune/study.h"

namespace hone {

struct QueueState {
  int64_t finished = 0, running = 0, waiting = 0;
  int64_t total() const { return finished + running + waiting; }
};

// What a queue is filled with.
struct QueuePlan {
  // Parameter values of the baseline trial (user-facing values), or null for none. It is
  // enqueued first, once per study, with the user attr "baseline" = true: the "before" of a
  // before/after comparison.
  json baseline{};
  // The grid sampler's table ({"type": "grid", "search_space": {name: [values...]}, "seed"?}) when
  // the study is a grid search, else null: then the queue holds one trial per grid point, in
  // GridSampler's order, and a baseline that fixes every grid parameter to a grid value takes
  // that point's place.
  json grid{};
};

// Counts of the study's trials by state (a few indexed queries, not a read of every trial).
QueueState queue_state(const Study& study);

// The most trials a queue may hold: each is a stored row, so a typo'd n_trials (1e12) would fill
// the disk; a longer study runs without n_trials (timeout or Ctrl-C, no queue).
inline constexpr int64_t kMaxQueuedTrials = 1'000'000;

// Throws fill_queue's Error(kInvalidArgument) when `target` exceeds kMaxQueuedTrials: for callers
// that check before they open or create anything.
void check_queue_target(const std::string& study_name, int64_t target);

// Tops the queue up to `target` trials in all (finished + running + waiting). With a grid,
// `target` <= 0 means the whole grid. Returns the new state. Throws Error(kInvalidArgument),
// adding nothing, when `target` exceeds kMaxQueuedTrials. Reads the study's counts (indexed
// queries), not its trials, except to find the taken points of a grid. When `stop` becomes true
// it stops adding (a partly filled queue is topped up by the next fill) and throws
// Error(kInterrupted).
QueueState fill_queue(Study& study, const QueuePlan& plan, int64_t target,
                      const std::atomic<bool>* stop = nullptr);

// Enqueues `baseline` (when not null) as the study's first trial, if the study has none yet: what
// a study without a queue (in this process's memory) does.
void enqueue_baseline(Study& study, const json& baseline);

// RUNNING, COMPLETE, PRUNED and FAIL: the trials a run's outputs and tables show (the unclaimed
// WAITING rest of a queue is not a result).
TrialStates started_states();

}  // namespace hone
