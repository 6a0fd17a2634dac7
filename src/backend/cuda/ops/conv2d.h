// Conv2d on CUDA: cuDNN's convolutions (v9 legacy API) on NHWC tensors and KRSC filters, the bias
// (+ a fused ReLU) by our kernel, the bias gradient by column sums. The algorithms are measured per
// batch size (plan) with cudnnFind*AlgorithmEx on the layer's own buffers, within one workspace
// shared by every convolution of the net (kConvWorkspaceBytes, allocated by the net). The weights are
// used as a compute-dtype KRSC copy of the fp32 master (refresh_weights), whose input channels may be
// padded (the net's first convolution); the weight gradient (KRSC) is permuted back into the fp32
// gradient buffer.
#pragma once

#include <cstddef>
#include <memory>

#include "backend/cuda/ops/op.h"

namespace alexnet::cuda {

// The convolution workspace shared by all layers; algorithms needing more are not considered.
constexpr size_t kConvWorkspaceBytes = size_t(512) << 20;

// Whether an algorithm cuDNN's search returned with math type `m` may serve `precision`. Strict fp32
// refuses only the tensor-op math types (TF32 or converted inputs); it accepts CUDNN_DEFAULT_MATH as
// well as CUDNN_FMA_MATH, because cuDNN may report a plain fp32 algorithm's math as DEFAULT even when
// FMA was asked for (the descriptor keeps asking for FMA, so no TF32 runs). TF32 and bf16 accept all.
bool conv_math_allowed(Precision precision, cudnnMathType_t m);

// weight_at, bias_at: the layer's offsets in the parameter buffer (floats).
std::unique_ptr<Op> make_conv2d_op(const Context& ctx, const OpShape& shape, const Conv2d& op, size_t weight_at,
                                   size_t bias_at);

}  // namespace alexnet::cuda
