// Random initialisation schemes (model/net_spec.h): the statistics each one promises, per layer.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "model/net_spec.h"

namespace alexnet {
namespace {

struct Moments {
  double mean = 0, stddev = 0, max_abs = 0;
};

Moments moments(const float* x, size_t n) {
  Moments m;
  for (size_t i = 0; i < n; ++i) m.mean += x[i];
  m.mean /= double(n);
  for (size_t i = 0; i < n; ++i) {
    m.stddev += (x[i] - m.mean) * (x[i] - m.mean);
    m.max_abs = std::max(m.max_abs, double(std::fabs(x[i])));
  }
  m.stddev = std::sqrt(m.stddev / double(n));
  return m;
}

std::vector<float> initialised(const NetSpec& spec, const ParamTable& table, uint64_t seed = 3) {
  std::vector<float> p(table.total);
  init_params(spec, table, p, seed);
  return p;
}

int64_t fan_in(const ParamInfo& w) {
  int64_t f = 1;
  for (size_t d = 1; d < w.shape.size(); ++d) f *= w.shape[d];
  return f;
}

TEST(Init, KaimingIsHeNormalWithZeroBiasesAndAPlainLastLayer) {
  NetOptions o;
  o.num_classes = 10;
  o.init = "kaiming";
  const NetSpec spec = make_net_spec("cifar", o);
  EXPECT_EQ(spec.init, InitScheme::Kaiming);
  const ParamTable table = make_param_table(spec);
  const std::vector<float> p = initialised(spec, table);
  const std::string last = "classifier.6.weight";
  for (const ParamInfo& e : table.entries) {
    const Moments m = moments(p.data() + e.offset, e.numel);
    if (e.shape.size() == 1) {
      EXPECT_EQ(m.max_abs, 0.0) << e.name;
      continue;
    }
    const double want = std::sqrt((e.name == last ? 1.0 : 2.0) / double(fan_in(e)));
    // A normal sample of n >= 3,600 values (features.0): its standard deviation is within 6% of sigma (> 4 sigmas).
    EXPECT_NEAR(m.stddev / want, 1.0, 0.06) << e.name << " (" << e.numel << " values)";
    EXPECT_NEAR(m.mean / want, 0.0, 0.12) << e.name;
    EXPECT_GT(m.max_abs, 2.0 * want) << e.name << ": normal, not uniform in +-sqrt(3) sigma";
  }
}

TEST(Init, EachVariantKeepsItsOwnSchemeUnlessAskedAndTheDrawsAreSeeded) {
  EXPECT_EQ(make_net_spec("seed").init, InitScheme::PyTorchDefault);
  EXPECT_EQ(make_net_spec("paper").init, InitScheme::Paper);
  NetOptions o;
  o.init = "pytorch";
  EXPECT_EQ(make_net_spec("paper", o).init, InitScheme::PyTorchDefault);
  o.width = 0.25;
  o.init = "kaiming";
  const NetSpec a = make_net_spec("seed", o);
  const ParamTable table = make_param_table(a);
  EXPECT_EQ(initialised(a, table, 5), initialised(a, table, 5));
  EXPECT_NE(initialised(a, table, 5), initialised(a, table, 6));
  // pytorch's uniform bound 1/sqrt(fan_in) is what kaiming's sigma is not: sqrt(2/fan_in) is larger.
  o.init = "pytorch";
  const std::vector<float> u = initialised(make_net_spec("seed", o), table, 5);
  const ParamInfo& w = table.entries.front();
  EXPECT_LE(moments(u.data() + w.offset, w.numel).max_abs, 1.0 / std::sqrt(double(fan_in(w))) + 1e-7);
}

TEST(Init, NamesRoundTripAndAnUnknownOneIsAnError) {
  for (const std::string& n : init_scheme_names()) EXPECT_EQ(init_scheme_name(parse_init_scheme(n)), n);
  NetOptions o;
  o.init = "xavier";
  try {
    make_net_spec("cifar", o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown initialisation 'xavier'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace alexnet
