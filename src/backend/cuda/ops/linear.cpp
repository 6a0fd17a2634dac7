#include "backend/cuda/ops/linear.h"

namespace alexnet::cuda {

namespace {

class LinearOp final : public WeightedOp {
 public:
  LinearOp(const Context& ctx, const OpShape& shape, const Linear& op, size_t weight_at, size_t bias_at)
      : WeightedOp(ctx, shape, weight_at, bias_at), op_(op) {}

  void forward() override {
    const int n = ctx_.n;
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, op_.out_features, n, op_.in_features, weight(), op_.in_features, in_,
         op_.in_features, out.get(), ctx_.blas_type(), op_.out_features);
    bias_add(out.get(), relu_out_, ctx_.elem, bias(), n, op_.out_features, ctx_.vector, ctx_.stream);
  }

  void backward_params() override {
    const int n = ctx_.n;
    const int Fi = op_.in_features, Fo = op_.out_features;
    column_sums(bias_grad(), dout.get(), ctx_.elem, n, Fo, ctx_.column_scratch, ctx_.stream);
    // dW [Fo, Fi] = dy^T x, straight into the fp32 gradient buffer
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, Fi, Fo, n, in_, Fi, dout.get(), Fo, weight_grad(), CUDA_R_32F, Fi);
  }

  void backward_data() override {
    const int n = ctx_.n;
    const int Fi = op_.in_features, Fo = op_.out_features;
    // dx [n, Fi] = dy W
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, Fi, n, Fo, weight(), Fi, dout.get(), Fo, din_, ctx_.blas_type(), Fi);
  }

 private:
  // The weights in the compute dtype.
  const void* weight() const {
    if (ctx_.elem == Elem::BF16) return ctx_.mirror + weight_at_;
    return ctx_.params + weight_at_;
  }

  // Column-major cuBLAS on row-major tensors.
  void gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void* A, int lda, const void* B,
            int ldb, void* C, cudaDataType_t c_type, int ldc) const {
    const float one = 1.f, zero = 0.f;
    CUBLAS_CHECK(cublasGemmEx(ctx_.cublas, ta, tb, m, n, k, &one, A, ctx_.blas_type(), lda, B, ctx_.blas_type(), ldb,
                              &zero, C, c_type, ldc, ctx_.blas_compute, CUBLAS_GEMM_DEFAULT));
  }

  Linear op_;
};

}  // namespace

std::unique_ptr<Op> make_linear_op(const Context& ctx, const OpShape& shape, const Linear& op, size_t weight_at,
                                   size_t bias_at) {
  return std::make_unique<LinearOp>(ctx, shape, op, weight_at, bias_at);
}

}  // namespace alexnet::cuda
