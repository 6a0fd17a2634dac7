// Flatten on CUDA: the kernels, their launchers and the op (contracts in ops/flatten.h).
#include "backend/cuda/ops/flatten.h"

#include "backend/cuda/kernel_util.cuh"

namespace alexnet::cuda {

namespace {

template <class T>
__global__ void nhwc_to_flat_kernel(T* out, const T* in, int N, int C, int H, int W) {
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) {  // i indexes the NHWC input: coalesced reads
    const int c = int(i % C);
    const int64_t pix = i / C;
    const int64_t hw = pix % (int64_t(H) * W), n = pix / (int64_t(H) * W);
    out[(n * C + c) * H * W + hw] = in[i];
  }
}

template <class T>
__global__ void flat_to_nhwc_kernel(T* out, const T* in, int N, int C, int H, int W) {
  const int64_t count = int64_t(N) * C * H * W;
  GRID_STRIDE(i, count) {  // i indexes the NHWC output: coalesced writes
    const int c = int(i % C);
    const int64_t pix = i / C;
    const int64_t hw = pix % (int64_t(H) * W), n = pix / (int64_t(H) * W);
    out[i] = in[(n * C + c) * H * W + hw];
  }
}

}  // namespace

void nhwc_to_flat(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    nhwc_to_flat_kernel<<<blocks_for(int64_t(N) * C * H * W), kThreads, 0, s>>>(static_cast<T*>(out),
                                                                                static_cast<const T*>(in), N, C, H, W);
  });
  CUDA_CHECK_LAUNCH("nhwc_to_flat_kernel");
}

void flat_to_nhwc(void* out, const void* in, Elem e, int N, int C, int H, int W, cudaStream_t s) {
  dispatch(e, [&](auto tag) {
    using T = ELEM_T;
    flat_to_nhwc_kernel<<<blocks_for(int64_t(N) * C * H * W), kThreads, 0, s>>>(static_cast<T*>(out),
                                                                                static_cast<const T*>(in), N, C, H, W);
  });
  CUDA_CHECK_LAUNCH("flat_to_nhwc_kernel");
}


namespace {

class FlattenOp final : public Op {
 public:
  using Op::Op;

  void forward() override {
    const ActShape& in = shape_.in;
    if (in.flat || in.h * in.w == 1)
      CUDA_CHECK(cudaMemcpyAsync(out.get(), in_, size_t(in_count()) * ctx_.esize, cudaMemcpyDeviceToDevice, ctx_.stream));
    else
      nhwc_to_flat(out.get(), in_, ctx_.elem, ctx_.n, in.c, in.h, in.w, ctx_.stream);
  }
  void backward_data() override {
    const ActShape& in = shape_.in;
    if (in.flat || in.h * in.w == 1)
      CUDA_CHECK(cudaMemcpyAsync(din_, dout.get(), size_t(in_count()) * ctx_.esize, cudaMemcpyDeviceToDevice,
                                 ctx_.stream));
    else
      flat_to_nhwc(din_, dout.get(), ctx_.elem, ctx_.n, in.c, in.h, in.w, ctx_.stream);
  }
};

}  // namespace

std::unique_ptr<Op> make_flatten_op(const Context& ctx, const OpShape& shape) {
  return std::make_unique<FlattenOp>(ctx, shape);
}

}  // namespace alexnet::cuda
