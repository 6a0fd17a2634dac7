// The training and evaluation transforms on the GPU: each sample's SamplePlan (image/sample_plan.h:
// its crop or translation, flips, resize to the model's input, PCA colour shift and normalisation,
// drawn on the host by Pipeline::plan) carried out by one kernel over the whole batch, with the
// per-pixel arithmetic of sample_pixel(), which tests/sample_plan_test.cpp proves equal to the CPU
// pipeline. A plan with colour jitter is refused (jitter is the CPU pipeline's).
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "image/sample_plan.h"

namespace alexnet::cuda {

// out NHWC [N, S, S, Cpad] in `e` (channels 3 .. Cpad-1 zero: conv1's padded input) from src uint8
// NHWC [N, H, W, 3]; plans: N plans in device memory, each for an H x W image with out_size S on
// both axes (checked on the host by check_sample_plans before they are uploaded).
void augment_batch(void* out, Elem e, int Cpad, const uint8_t* src, int H, int W, const SamplePlan* plans, int N,
                   int S, cudaStream_t s);

}  // namespace alexnet::cuda
