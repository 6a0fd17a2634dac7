// Helpers shared by the tests: where the golden files live, and comparison of tensors by relative norm.
//
// tensors_close(name, actual, expected, rtol) passes when ||actual - expected|| / ||expected|| <= rtol
// (Euclidean norms over the whole tensor, accumulated in double). On failure the message gives the
// relative error, both norms and the worst element (largest |a - b|, with its index in the expected
// shape); any NaN or infinity in `actual` fails and is reported as such.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>

#include "backend/capabilities.h"
#include "backend/net.h"
#include "tensor/safetensors.h"
#include "tensor/tensor.h"

namespace alexnet::test {

// Skips the current test, saying why, when this machine cannot run `backend` in `precision` (bf16 on
// a CPU without native bf16, for one). Use in a fixture's SetUp() or at the top of a test body.
#define ALEXNET_SKIP_UNLESS_SUPPORTED(backend, precision)                                         \
  do {                                                                                             \
    const std::string alexnet_why_ = ::alexnet::unsupported_reason((backend), (precision));       \
    if (!alexnet_why_.empty()) GTEST_SKIP() << "not run on this machine: " << alexnet_why_;       \
  } while (0)

// Build options by position, as the tests use them (an aggregate initialiser would have to name
// every member).
inline BuildOptions build_options(int max_batch, Precision precision = Precision::F32, uint64_t seed = 0) {
  BuildOptions o;
  o.max_batch = max_batch;
  o.precision = precision;
  o.seed = seed;
  return o;
}

// The golden files' folder, found at run time so that test programs carried to another machine (the GPU
// check's bundle) still find them: $ALEXNET_GOLDEN_DIR when set, else golden/ next to the running
// program (where scripts/gpu_prepare.sh puts them), else the source tree's tests/golden/.
inline std::string golden_dir() {
  if (const char* env = std::getenv("ALEXNET_GOLDEN_DIR"); env && *env) return env;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && std::filesystem::is_directory(self.parent_path() / "golden", ec)) return (self.parent_path() / "golden").string();
  return std::string(ALEXNET_SOURCE_DIR) + "/tests/golden";
}

inline std::string golden_path(const std::string& name) { return golden_dir() + "/" + name; }

// "[1, 0, 3, 2]": the multi-index of flat element `i` in `shape` (or "[i]" without a shape).
inline std::string index_str(size_t i, const Shape& shape) {
  if (shape.empty()) return cat("[", i, "]");
  Shape index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    const auto extent = size_t(std::max<int64_t>(shape[d], 1));
    index[d] = int64_t(i % extent);
    i /= extent;
  }
  return shape_str(index);
}

inline ::testing::AssertionResult spans_close(const std::string& name, std::span<const float> actual,
                                              std::span<const float> expected, double rtol, const Shape& shape = {}) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << name << ": " << actual.size() << " elements, expected " << expected.size();
  double diff2 = 0, norm2 = 0, anorm2 = 0, worst = -1;
  size_t at = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], b = expected[i];
    if (!std::isfinite(a))
      return ::testing::AssertionFailure() << name << ": element " << index_str(i, shape) << " is " << a
                                           << " (expected " << b << ")";
    diff2 += (a - b) * (a - b);
    norm2 += b * b;
    anorm2 += a * a;
    if (std::abs(a - b) > worst) worst = std::abs(a - b), at = i;
  }
  const double rel = std::sqrt(diff2) / std::max(std::sqrt(norm2), 1e-30);
  if (rel <= rtol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << name << ": relative error " << rel << " > " << rtol << " (||actual|| " << std::sqrt(anorm2)
         << ", ||expected|| " << std::sqrt(norm2) << "); worst element " << index_str(at, shape) << ": actual "
         << actual[at] << ", expected " << expected[at];
}

// `expected` may be F32 or BF16 (compared after conversion to fp32).
inline ::testing::AssertionResult tensors_close(const std::string& name, const float* actual, const Tensor& expected,
                                                double rtol) {
  const Tensor want = expected.dtype() == DType::F32 ? expected : expected.to(DType::F32);
  return spans_close(name, {actual, size_t(want.numel())}, want.span<float>(), rtol, want.shape());
}

// Also requires the same shape.
inline ::testing::AssertionResult tensors_close(const std::string& name, const Tensor& actual, const Tensor& expected,
                                                double rtol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << name << ": shape " << shape_str(actual.shape()) << ", expected "
                                         << shape_str(expected.shape());
  const Tensor got = actual.dtype() == DType::F32 ? actual : actual.to(DType::F32);
  return tensors_close(name, got.data<float>(), expected, rtol);
}

}  // namespace alexnet::test
