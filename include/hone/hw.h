// hone/hw.h — the hardware part: what this machine offers (machine probe), what a run costs
// (process counters, per-layer profile, Chrome trace), what a config will need before it runs
// (memory and time estimate, data parallelism and ZeRO planning), and the threads x batch size
// search (autotune). docs/HARDWARE.md explains every figure and where it comes from.
//
// Thread safety: the functions here run training work on the calling thread (with its own
// ThreadScope); call them from one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hone/run.h"

namespace hone {

// ---------------------------------------------------------------------------------------------
// Machine probe (`hone machine`).

struct MachineInfo {
  std::string host;
  int cores = 1;                       // available_cores(): the CPUs this process may use
  std::string simd;                    // "avx512f", "avx2", "sse4.2", ... (the widest found)
  std::vector<double> gemm_gflops;     // [t - 1]: single-precision GEMM GFLOP/s at t threads
  double mem_bandwidth_gbs = 0;        // memcpy bandwidth (bytes read + written) in GB/s
  int64_t mem_total_bytes = 0;         // MemTotal of /proc/meminfo
  int64_t mem_available_bytes = 0;     // MemAvailable at probe time
  double probe_seconds = 0;            // how long the probe took
  std::string measured_at;             // UTC, ISO 8601
  // The GEMM peak at `threads` threads (the last measured one beyond cores); 0 when unknown.
  double peak_gflops(int threads) const;
  nlohmann::json to_json() const;
  static MachineInfo from_json(const nlohmann::json& j);
};

// Measures this machine now: cores, SIMD level, GEMM GFLOP/s for 1..cores threads (about
// `seconds_per_point` each), memcpy bandwidth, memory. Takes a few seconds.
MachineInfo probe_machine(double seconds_per_point = 0.5);
// The cache file: $HONE_CACHE_DIR, else $XDG_CACHE_HOME/hone, else $HOME/.cache/hone, then
// "machine-<host>.json".
std::string machine_cache_path();
// The cached probe of this host, measured (and cached) now when there is none or `refresh`.
// A cache that cannot be written is skipped (the probe is then measured again next time).
MachineInfo load_machine(bool refresh = false, bool* measured_now = nullptr);

// ---------------------------------------------------------------------------------------------
// Process counters (`hone profile`, `hone train --profile`).

// What the process used between start() and stop(): perf_event software counters where
// perf_event_open works (context switches, CPU migrations, page faults, task clock), getrusage
// and /proc/self/io otherwise and for what perf does not split (voluntary vs involuntary
// switches, user vs system time, peak RSS, I/O bytes). `source` names the origin of each figure.
struct ProcessCounters {
  double wall_s = 0, user_s = 0, system_s = 0, task_clock_s = -1;
  int64_t voluntary_switches = 0, involuntary_switches = 0, context_switches = 0;
  int64_t minor_faults = 0, major_faults = 0;
  int64_t cpu_migrations = -1;          // -1: no perf_event (getrusage has no migrations)
  int64_t read_bytes = 0, write_bytes = 0;      // /proc/self/io storage bytes (-1 if unreadable)
  int64_t read_chars = 0, write_chars = 0;      // /proc/self/io rchar/wchar (all read()/write())
  int64_t peak_rss_bytes = 0;          // getrusage ru_maxrss of the process so far
  std::map<std::string, std::string> source;  // figure -> "perf_event" | "getrusage" | "/proc/self/io"
  bool perf_event = false;             // true when the perf_event counters opened
  nlohmann::json to_json() const;
};

class CounterSession {
 public:
  CounterSession();  // opens perf_event counters when it can; never throws for a missing perf
  ~CounterSession();
  CounterSession(const CounterSession&) = delete;
  CounterSession& operator=(const CounterSession&) = delete;
  void start();
  ProcessCounters stop();  // counts since start()

 private:
  struct Impl;
  Impl* impl_;
};

// The resident set size of this process now and its high-water mark (VmRSS, VmHWM).
int64_t current_rss_bytes();
int64_t peak_rss_bytes();

// ---------------------------------------------------------------------------------------------
// Memory and time estimate (`hone estimate`).

struct LayerEstimate {
  std::string name, type;
  std::vector<int64_t> output_shape;    // per sample
  int64_t params = 0;
  int64_t param_bytes = 0;
  int64_t activation_bytes = 0;         // output buffer, gradient buffer and caches at the batch size
  double forward_flops = 0, backward_flops = 0;  // per sample
};

struct ShardingRow {
  std::string scheme;                   // "data parallel", "ZeRO-1", "ZeRO-2", "ZeRO-3"
  int64_t devices = 1;
  double param_bytes = 0, grad_bytes = 0, optimizer_bytes = 0, total_bytes = 0;  // per device
};

struct EstimateOptions {
  int64_t batch_size = 0;       // 0: train.batch_size of the config
  int threads = 0;              // 0: train.threads of the config
  bool load_data = true;        // measure the data by loading it (as `hone train` does)
  int64_t devices = 0;          // ZeRO table for N devices (0: [estimate].devices or 64)
  std::string precision;        // "fp32" (hone's own training) or "mixed" (fp16 + fp32 master)
  const MachineInfo* machine = nullptr;  // for the time per epoch; none: no time estimate
};

struct MemoryEstimate {
  int64_t batch_size = 0, eval_rows = 0;
  int threads = 1;
  int64_t num_params = 0;
  std::string optimizer;
  double optimizer_state_per_param = 0;  // state floats per parameter (Adam: 2)
  int64_t param_bytes = 0, grad_bytes = 0, optimizer_bytes = 0;
  int64_t activation_bytes = 0;          // sum of the layers'
  int64_t batch_bytes = 0;               // mini-batch, loss gradient, evaluation buffers
  int64_t workspace_bytes = 0;           // GEMM packing, conv im2col, per-thread partial grads
  int64_t allocator_bytes = 0;           // freed buffers malloc keeps resident (evaluation regrowth)
  int64_t data_bytes = 0;                // the data set tensors (train, validation, test)
  int64_t data_load_peak_bytes = 0;      // above the runtime while the data load (measured)
  int64_t runtime_bytes = 0;             // the process before any data: code, libraries, heap
  int64_t peak_bytes = 0;
  bool data_measured = false;
  int64_t train_samples = 0;
  double flops_per_sample = 0;           // forward + backward
  double epoch_seconds = -1;             // from the machine probe; -1 without one or without data
  double step_seconds = -1;              // one training step at the batch size, from the probe
  std::vector<LayerEstimate> layers;
  std::vector<ShardingRow> sharding;
  std::string precision;
  nlohmann::json to_json() const;        // every figure in bytes; the peak as "peak_bytes"
};

// Estimates the memory of `hone train` on `config` (the JSON of a model.toml, with an optional
// [estimate] table: batch_size, threads, devices, precision, parameters, classes). Works for
// models far larger than this machine: nothing the size of the model is allocated.
// Throws Error(kInvalidArgument) for a bad config.
MemoryEstimate estimate_memory(const nlohmann::json& config, const EstimateOptions& options = {});

// Per-device model-state memory of data parallelism and ZeRO stages 1-3 for `params`
// parameters on `devices` devices (Rajbhandari et al., 2020). precision "mixed": 2 bytes
// parameter, 2 bytes gradient, `optimizer_bytes_per_param` of state (Adam: 12, fp32 master,
// momentum, variance); "fp32": 4, 4 and 4 x the optimizer's state floats.
std::vector<ShardingRow> zero_table(double params, int64_t devices, const std::string& precision,
                                    double optimizer_bytes_per_param);

// ---------------------------------------------------------------------------------------------
// Profile (`hone profile`, `hone train --profile`).

struct ProfileOptions {
  int wait = 1, warmup = 1, active = 3;  // steps: skipped, run but not recorded, recorded
  int64_t batch_size = 0;                // 0: the config's
  int threads = 0;                       // 0: the config's
  bool trace = false;                    // record trace events (Chrome trace JSON)
  const MachineInfo* machine = nullptr;  // for % of peak; none: not shown
};

struct LayerProfile {
  std::string name, type;
  double forward_s = 0, backward_s = 0;  // per active step (mean)
  double forward_flops = 0, backward_flops = 0;  // per step
  double gflops = 0, peak_percent = -1;
  int64_t param_bytes = 0, activation_bytes = 0;
};

struct ProfileResult {
  int64_t batch_size = 0;
  int threads = 1;
  int active_steps = 0;
  double data_s = 0, forward_s = 0, backward_s = 0, loss_s = 0, optimizer_s = 0, step_s = 0;  // per step
  double layer_flops = 0;      // per step: sum of the layers'
  double analytic_flops = 0;   // per step: from the layer shapes (GEMM formula)
  double peak_gflops = 0;      // the machine's at these threads (0: unknown)
  std::vector<LayerProfile> layers;
  ProcessCounters counters;
  nlohmann::json trace;        // {"traceEvents": [...]} when options.trace
  nlohmann::json to_json() const;  // the summary (no trace)
};

// Profiles training steps of `config` on `data` (already loaded): wait + warmup + active steps
// of forward, loss, backward and optimizer with every layer timed. Throws Error(kInvalidArgument)
// for a bad config.
ProfileResult profile_training(const nlohmann::json& config, const DataSplits& data,
                               const ProfileOptions& options = {});
// `hone train --profile`: profiles `config` on `data` (default schedule, the cached machine
// probe) and writes the summary, with the whole run's counters as "run_counters", to
// DIR/profile.json, where `hone doctor` reads it. Returns the human-readable summary.
std::string write_run_profile(const nlohmann::json& config, const DataSplits& data, const ProcessCounters& run,
                              const std::string& dir);
// Writes result.trace as Chrome trace-event JSON. Throws Error(kIoError).
void write_trace(const ProfileResult& result, const std::string& path);
// The human-readable summary (tables) of a profile.
std::string format_profile(const ProfileResult& result);

// ---------------------------------------------------------------------------------------------
// Autotune (`hone autotune`) and the core budget.

struct AutotunePoint {
  int threads = 1;
  int64_t batch_size = 0;
  double samples_per_s = 0;
  int64_t peak_bytes = 0;     // estimated
  bool over_budget = false;
  double seconds = 0;         // measuring it took
  double loss_after = -1;     // the statistical-efficiency check's loss (-1: not checked)
  std::string note;
};

struct AutotuneOptions {
  std::vector<int> threads;            // empty: 1..cores
  std::vector<int64_t> batch_sizes;    // empty: 16, 32, ..., 1024
  int64_t memory_budget_bytes = 0;     // 0: 80% of MemAvailable
  double seconds_per_point = 0.3;
  bool exhaustive = false;             // measure every point (the reference grid)
  double efficiency_tolerance = 0.05;  // a batch whose 1-epoch loss is > 5% worse is refused
  bool study = false;                  // also choose trials at once x threads per trial
};

// A study's split of the cores: `jobs` trials at once with `threads` each, and their total
// training throughput measured by running them side by side.
struct StudySplit {
  int jobs = 1, threads = 1;
  double samples_per_s = 0;
};

struct AutotuneResult {
  std::vector<AutotunePoint> points;   // in the order measured
  AutotunePoint best;
  std::vector<StudySplit> study_splits;  // for a study config (one with [study]): every jobs x threads <= cores
  StudySplit study_best;
  double seconds = 0;                  // wall time of the search (with the efficiency guard)
  double measure_seconds = 0;          // of which measuring throughput
  double guard_seconds = 0;            // and of which the statistical-efficiency guard's 1-epoch runs
  std::string explanation;
};

AutotuneResult autotune(const nlohmann::json& config, const DataSplits& data,
                        const AutotuneOptions& options = {});

// Training throughput of `config` at `threads` x `batch` (plain Model forward/backward and
// optimizer steps, no instrumentation) over about `seconds` after two warm-up steps, as the batch
// over the median step time (robust to other work preempting some steps); when the
// second warm-up step runs at under `give_up_below` samples/s, that rate is returned at once.
double measure_samples_per_second(const nlohmann::json& config, const DataSplits& data, int threads,
                                  int64_t batch, double seconds, double give_up_below = 0.0);

// Trials at once x threads per trial for a study of `trials` trials on this machine: threads
// from the GEMM scaling of the probe (`machine` may be null: all cores one trial at a time).
struct ParallelPlan {
  int jobs = 1, threads = 1;
  std::string reason;
};
ParallelPlan plan_parallel_trials(int cores, int trials, const MachineInfo* machine);
// The same with this host's cached probe (measured and cached now when there is none); `trials`
// <= 0 means "many". What `hone tune` uses when the study sets no n_jobs.
ParallelPlan plan_study_parallelism(int cores, int trials);

// Empty when threads x processes <= cores; otherwise a line naming the oversubscription and
// the fix (threads per process = floor(cores / processes)).
std::string oversubscription_warning(int threads, int processes, int cores);

// ---------------------------------------------------------------------------------------------
// Learning-rate range test (`hone lr-find`, Smith 2017; the fastai/Lightning finder).
struct LrFindOptions {
  double start_lr = 1e-7, end_lr = 10.0;  // exponential sweep between these
  int steps = 100;                        // one mini-batch step per rate
  double beta = 0.98;                     // EMA of the loss, bias-corrected (fastai, Lightning)
  double diverge_factor = 4.0;            // stop once the smoothed loss > factor x its best (or NaN);
                                          // checked after the first tenth of the steps
  int64_t batch_size = 0;                 // 0: train.batch_size of the config
  int threads = 0;                        // 0: train.threads of the config
};
// One sweep. `smoothed` is the causal bias-corrected EMA (what the stop rule sees); `centred` is
// the same EMA run forwards and then backwards (zero phase lag), which the suggestion reads.
// Suggestion ("half-drop" rule; src/hw/lr_find.cc says why): from the minimum of `centred`, walk back to the
// last rate whose centred loss is still above halfway between the starting loss (median of the
// first tenth of the raw losses) and that minimum; on a sigmoid-like descent this is its steepest
// point, found from levels rather than from a derivative, so that noise cannot fool it.
struct LrCurve {
  std::vector<double> lrs, losses, smoothed, centred;  // up to the stop (inclusive)
  bool diverged = false;        // the sweep stopped on the divergence rule
  int suggested_index = -1;
  double suggested_lr = 0;      // 0 when the loss never fell
  double min_loss_lr = 0;       // the rate at the minimum of `centred`
  double steepest_lr = 0;       // Lightning's rule for comparison: most negative gradient of
                                // `smoothed` (skipping the first 10 and the last point)
  std::string note;             // why there is no suggestion, when there is none
};
// The stop rule, the smoothing and the suggestion on a recorded sweep (lrs ascending).
LrCurve analyze_lr_curve(const std::vector<double>& lrs, const std::vector<double>& losses,
                         const LrFindOptions& options = {});
// Runs the sweep on `config` (a run config; a study's distributions take a representative value)
// from the config's initial weights. Throws Error(kInvalidArgument) for a bad config or options.
LrCurve lr_find(const nlohmann::json& config, const DataSplits& data, const LrFindOptions& options = {});
// CSV "lr,loss,smoothed,centred" and a self-contained SVG plot (log lr, loss, the suggestion).
std::string lr_curve_csv(const LrCurve& curve);
std::string lr_curve_svg(const LrCurve& curve);

// ---------------------------------------------------------------------------------------------
// Batch-size finder (`hone batch-find`).
struct BatchFindOptions {
  int64_t memory_budget_bytes = 0;    // required, > 0
  double safety_margin = 0.15;        // a batch fits when its estimated peak <= (1 - margin) x budget
  std::vector<int64_t> batch_sizes;   // empty: 8, 16, 32, ... up to the training set
  double seconds_per_point = 0.3;     // throughput measuring time per fitting batch
  int threads = 0;                    // 0: train.threads of the config
};
struct BatchFindPoint {
  int64_t batch_size = 0;
  int64_t estimated_bytes = 0;        // hw's estimate of the whole process's peak (estimate_memory)
  bool fits = false;
  double samples_per_s = 0;           // measured (0: not measured, it does not fit)
};
struct BatchFindResult {
  std::vector<BatchFindPoint> points;
  int64_t limit_bytes = 0;            // (1 - margin) x budget
  int64_t largest = 0;                // the largest batch that fits (0: none)
  int64_t fastest = 0;                // the fitting batch with the most samples/s
  double fastest_samples_per_s = 0;
  std::string explanation;
};
// Throws Error(kInvalidArgument) for a bad config, a budget <= 0 or a margin outside [0, 0.9].
BatchFindResult batch_find(const nlohmann::json& config, const DataSplits& data, const BatchFindOptions& options);

}  // namespace hone
