#include "image/sample_plan.h"

#include "core/error.h"

namespace alexnet {

void check_sample_plans(const SamplePlan* plans, int n, int H, int W, int S, bool no_jitter) {
  for (int i = 0; i < n; ++i) {
    const SamplePlan& p = plans[i];
    if (no_jitter && p.jitter)
      fail("sample ", i, ": colour jitter is done on the CPU only (leave --color-jitter off with --device cuda)");
    if (p.rows.in_size != H || p.cols.in_size != W || p.rows.out_size != S || p.cols.out_size != S)
      fail("sample ", i, ": a plan for ", p.rows.in_size, "x", p.cols.in_size, " -> ", p.rows.out_size, "x",
           p.cols.out_size, " in a batch of ", H, "x", W, " -> ", S, "x", S);
    for (const AxisPlan* a : {&p.rows, &p.cols})
      if (a->crop_size <= 0 || a->resized <= 0 || a->window < 0 || a->window + a->out_size > a->resized)
        fail("sample ", i, ": a plan's window [", a->window, ", ", a->window + a->out_size, ") of ", a->resized,
             " pixels (crop ", a->crop_size, ")");
  }
}

}  // namespace alexnet
