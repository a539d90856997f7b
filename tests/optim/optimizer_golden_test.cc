// Golden test: several steps of every optimizer against torch.optim 1.13 (single-tensor path)
// on the same inputs. Two params: w (3 values, weight decay applies) and b (2 values,
// decay = false, which in torch is a param group with weight_decay = 0), five steps with the
// gradients below; the table holds w and b after each step. Generated with /usr/bin/python3:
//
//   import torch
//   W0 = [1.0, -2.0, 0.5]; B0 = [0.3, -0.1]
//   GW = [[0.1, -0.2, 0.3], [-0.05, 0.4, 0.2], [0.3, 0.1, -0.1], [0.0, -0.3, 0.25], [0.2, 0.2, 0.2]]
//   GB = [[0.5, -0.5], [0.1, 0.2], [-0.3, 0.4], [0.2, 0.0], [-0.1, -0.1]]
//   O = torch.optim
//   cases = [("sgd", O.SGD, dict(lr=0.1)),
//     ("sgd_mom_wd", O.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.05)),
//     ("sgd_nesterov", O.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
//     ("sgd_dampening", O.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3)),
//     ("adam", O.Adam, dict(lr=0.01)),
//     ("adam_l2", O.Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
//     ("adam_amsgrad", O.Adam, dict(lr=0.01, betas=(0.5, 0.6), amsgrad=True)),
//     ("adamw", O.AdamW, dict(lr=0.01)),
//     ("adamw_amsgrad", O.AdamW, dict(lr=0.03, weight_decay=0.2, amsgrad=True)),
//     ("rmsprop", O.RMSprop, dict(lr=0.01)),
//     ("rmsprop_all", O.RMSprop, dict(lr=0.005, alpha=0.9, eps=1e-6, momentum=0.7,
//                                      centered=True, weight_decay=0.1)),
//     ("adagrad", O.Adagrad, dict(lr=0.1)),
//     ("adagrad_all", O.Adagrad, dict(lr=0.1, lr_decay=0.2, weight_decay=0.1,
//                                      initial_accumulator_value=0.5, eps=1e-5))]
//   for name, cls, kw in cases:
//       w = torch.tensor(W0, requires_grad=True); b = torch.tensor(B0, requires_grad=True)
//       wd = kw.pop("weight_decay", None)
//       groups = [{"params": [w]}, {"params": [b], "weight_decay": 0.0}]
//       if wd is not None: groups[0]["weight_decay"] = wd
//       opt = cls(groups, foreach=False, **kw)
//       out = []
//       for t in range(5):
//           w.grad = torch.tensor(GW[t]); b.grad = torch.tensor(GB[t])
//           opt.step()
//           out += w.detach().tolist() + b.detach().tolist()
//       print('  {"%s", {%s}},' % (name, ", ".join("%.9g" % v for v in out)))
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hone/optimizer.h"
#include "optim/optim_test_util.h"

namespace hone {
namespace {

using json = nlohmann::json;

struct Golden {
  const char* name;
  std::vector<double> values;  // float32 values (9 digits); 5 steps × (w[0..2], b[0..1])
};

const std::vector<Golden> kTorch = {
  {"sgd", {0.99000001, -1.98000002, 0.469999999, 0.25, -0.0500000007, 0.995000005, -2.01999998, 0.449999988, 0.239999995, -0.0700000003, 0.964999974, -2.02999997, 0.459999979, 0.270000011, -0.109999999, 0.964999974, -2, 0.434999973, 0.25, -0.109999999, 0.944999993, -2.01999998, 0.414999962, 0.25999999, -0.100000001}},
  {"sgd_mom_wd", {0.985000014, -1.97000003, 0.467500001, 0.25, -0.0500000007, 0.971575022, -1.97315001, 0.415912509, 0.194999993, -0.0250000022, 0.924634635, -1.97611928, 0.377404183, 0.175499991, -0.0425000042, 0.877765119, -1.93891096, 0.315859675, 0.137949988, -0.0582500063, 0.811193705, -1.91572893, 0.23889032, 0.114154987, -0.0624250062}},
  {"sgd_nesterov", {0.990100026, -1.98020005, 0.472550005, 0.255000025, -0.0550000034, 0.990188956, -2.00737786, 0.444364697, 0.230000019, -0.0570000038, 0.960764945, -2.02110553, 0.438605547, 0.241000026, -0.0866000056, 0.948757112, -2.00007153, 0.40728122, 0.219800025, -0.0942800045, 0.920681298, -2.01225281, 0.37403065, 0.21984002, -0.0914240032}},
  {"sgd_dampening", {0.99000001, -1.98000002, 0.469999999, 0.25, -0.0500000007, 0.984499991, -1.99000001, 0.42899999, 0.197999999, -0.0189999994, 0.958549976, -2.00600004, 0.399099976, 0.172200009, -0.0191000011, 0.935194969, -1.99940002, 0.354689986, 0.134980008, -0.0191900022, 0.900175452, -2.00746012, 0.30072099, 0.108482011, -0.0122710029}},
  {"adam", {0.99000001, -1.99000001, 0.49000001, 0.290000021, -0.0900000036, 0.987336636, -1.99366105, 0.480296493, 0.281969607, -0.0865439475, 0.980631649, -1.99781752, 0.474777579, 0.279862463, -0.088211447, 0.97513932, -1.99747992, 0.467788786, 0.276364386, -0.0895773619, 0.968311012, -1.99908495, 0.460174024, 0.27430886, -0.0899136737}},
  {"adam_l2", {0.980000079, -1.98000002, 0.480000049, 0.280000061, -0.0800000429, 0.964073718, -1.97585607, 0.460642368, 0.264555901, -0.0741535723, 0.946234822, -1.96989143, 0.448503584, 0.262150645, -0.0792379603, 0.930073678, -1.95687258, 0.433213383, 0.256053776, -0.0831299275, 0.912227154, -1.9467063, 0.416705787, 0.253430635, -0.0841873065}},
  {"adam_amsgrad", {0.99000001, -1.99000001, 0.49000001, 0.290000021, -0.0900000036, 0.99000001, -1.99589765, 0.480373412, 0.284097105, -0.089156732, 0.982217491, -2.00056028, 0.478416443, 0.286097109, -0.0948879346, 0.978390753, -1.99735069, 0.471346051, 0.28393358, -0.0977060199, 0.971402109, -1.9994061, 0.462924927, 0.284423381, -0.097612448}},
  {"adamw", {0.989899993, -1.98979998, 0.489950001, 0.290000021, -0.0900000036, 0.987137616, -1.99326205, 0.480197489, 0.281969607, -0.0865439475, 0.980333924, -1.9972192, 0.474630535, 0.279862463, -0.088211447, 0.974743545, -1.99668181, 0.467594266, 0.276364386, -0.0895773619, 0.967817724, -1.99808717, 0.459932745, 0.27430886, -0.0899136737}},
  {"adamw_amsgrad", {0.964000046, -1.95800006, 0.467000008, 0.270000011, -0.0700000077, 0.950225949, -1.95723522, 0.435087472, 0.245908782, -0.0596318319, 0.924409568, -1.95796132, 0.415920198, 0.239587396, -0.064634338, 0.902394354, -1.94520068, 0.39245832, 0.229093179, -0.0687300414, 0.876495004, -1.9383446, 0.367259264, 0.222926632, -0.0697389841}},
  {"rmsprop", {0.900000095, -1.9000001, 0.400000036, 0.200000048, -2.98023224e-08, 0.944901347, -1.98953235, 0.344337016, 0.180293471, -0.0373002142, 0.851094544, -2.01147962, 0.37127474, 0.231374398, -0.0972880274, 0.851094544, -1.95629454, 0.315223038, 0.198992938, -0.0972880274, 0.797688186, -1.99097514, 0.27413559, 0.21505399, -0.082310468}},
  {"rmsprop_all", {0.983333588, -1.98333347, 0.483333498, 0.283333451, -0.0833334476, 0.967468083, -1.97913778, 0.461179972, 0.268172592, -0.0778835192, 0.940461457, -1.97244608, 0.447973371, 0.26625362, -0.0841260403, 0.917598248, -1.9545579, 0.427724272, 0.259110242, -0.0884958059, 0.89052999, -1.94216228, 0.404702872, 0.257073909, -0.0888130739}},
  {"adagrad", {0.899999976, -1.89999998, 0.400000006, 0.200000018, 0, 0.944721341, -1.98944271, 0.344529986, 0.180388406, -0.037139073, 0.851017058, -2.01126456, 0.371256113, 0.231097668, -0.0967675596, 0.851017058, -1.9564923, 0.315700561, 0.199072033, -0.0967675596, 0.798035741, -1.99079204, 0.275086701, 0.214883417, -0.0820233598}},
  {"adagrad_all", {0.972783804, -1.95076406, 0.455639869, 0.242265642, -0.0422656387, 0.967433453, -1.97114575, 0.430875301, 0.232706755, -0.0610168949, 0.933553815, -1.96292174, 0.435783237, 0.25594905, -0.090330258, 0.926621318, -1.93122673, 0.414903462, 0.242699221, -0.090330258, 0.908374906, -1.93161714, 0.400182366, 0.248555228, -0.0846602023}},
};

// The same cases as hone configs (torch's betas=(b1, b2) is beta1/beta2 here).
json config_of(const std::string& name) {
  static const std::map<std::string, json> kConfigs = {
      {"sgd", {{"type", "sgd"}, {"lr", 0.1}}},
      {"sgd_mom_wd", {{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"weight_decay", 0.05}}},
      {"sgd_nesterov",
       {{"type", "sgd"}, {"lr", 0.05}, {"momentum", 0.8}, {"nesterov", true}, {"weight_decay", 0.01}}},
      {"sgd_dampening", {{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"dampening", 0.3}}},
      {"adam", {{"type", "adam"}, {"lr", 0.01}}},
      {"adam_l2",
       {{"type", "adam"}, {"lr", 0.02}, {"beta1", 0.8}, {"beta2", 0.99}, {"eps", 1e-6},
        {"weight_decay", 0.1}}},
      {"adam_amsgrad",
       {{"type", "adam"}, {"lr", 0.01}, {"beta1", 0.5}, {"beta2", 0.6}, {"amsgrad", true}}},
      {"adamw", {{"type", "adamw"}, {"lr", 0.01}}},
      {"adamw_amsgrad", {{"type", "adamw"}, {"lr", 0.03}, {"weight_decay", 0.2}, {"amsgrad", true}}},
      {"rmsprop", {{"type", "rmsprop"}, {"lr", 0.01}}},
      {"rmsprop_all",
       {{"type", "rmsprop"}, {"lr", 0.005}, {"alpha", 0.9}, {"eps", 1e-6}, {"momentum", 0.7},
        {"centered", true}, {"weight_decay", 0.1}}},
      {"adagrad", {{"type", "adagrad"}, {"lr", 0.1}}},
      {"adagrad_all",
       {{"type", "adagrad"}, {"lr", 0.1}, {"lr_decay", 0.2}, {"weight_decay", 0.1},
        {"initial_accumulator_value", 0.5}, {"eps", 1e-5}}},
  };
  return kConfigs.at(name);
}

TEST(OptimizerGolden, MatchesTorchOptimStepByStep) {
  const std::vector<std::vector<float>> gw = {
      {0.1f, -0.2f, 0.3f}, {-0.05f, 0.4f, 0.2f}, {0.3f, 0.1f, -0.1f}, {0.0f, -0.3f, 0.25f},
      {0.2f, 0.2f, 0.2f}};
  const std::vector<std::vector<float>> gb = {
      {0.5f, -0.5f}, {0.1f, 0.2f}, {-0.3f, 0.4f}, {0.2f, 0.0f}, {-0.1f, -0.1f}};
  double worst = 0.0;
  for (const Golden& g : kTorch) {
    SCOPED_TRACE(g.name);
    ASSERT_EQ(g.values.size(), 25u);
    testing::ParamSet ps;
    ps.add("w", {1.0f, -2.0f, 0.5f}, /*decay=*/true);
    ps.add("b", {0.3f, -0.1f}, /*decay=*/false);
    auto opt = make_optimizer(config_of(g.name));
    for (size_t t = 0; t < 5; ++t) {
      ps.set_grad(0, gw[t]);
      ps.set_grad(1, gb[t]);
      opt->step(ps.params());
      std::vector<float> got = ps.value(0);
      for (float v : ps.value(1)) got.push_back(v);
      for (size_t k = 0; k < 5; ++k) {
        const double want = g.values[t * 5 + k];
        // About one float ulp at |θ| ≤ 2 (measured: ≤ 3e-8): torch and hone round the same
        // operations in the same order, but the compilers may vectorise them differently.
        EXPECT_NEAR(got[k], want, 2.5e-7) << "step " << t + 1 << " element " << k;
        worst = std::max(worst, std::fabs(got[k] - want));
      }
    }
  }
  RecordProperty("max_abs_diff_vs_torch", std::to_string(worst));
  std::printf("max |hone - torch| over all optimizers and steps: %.3g\n", worst);
}

}  // namespace
}  // namespace hone
