// Colour: torchvision's ColorJitter and the paper's PCA lighting (its statistics from a dataset).
#include "data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "data/transforms_internal.h"

namespace alexnet {

JitterDraw draw_color_jitter(const ColorJitter& jitter, SampleRng& rng) {
  JitterDraw d;
  if (!jitter.enabled()) return d;
  for (int i = 2; i > 0; --i) std::swap(d.order[i], d.order[rng.uniform_int(0, i)]);
  auto factor = [&](float x) { return x > 0 ? float(rng.uniform(std::max(0.f, 1.f - x), 1.f + x)) : 1.f; };
  d.brightness = factor(jitter.brightness);
  d.contrast = factor(jitter.contrast);
  d.saturation = factor(jitter.saturation);
  return d;
}

void color_jitter(Image& image, const ColorJitter& jitter, SampleRng& rng) {
  if (!jitter.enabled()) return;
  apply_color_jitter(image, draw_color_jitter(jitter, rng));
}

void apply_color_jitter(Image& image, const JitterDraw& draw) {
  const float fb = draw.brightness, fc = draw.contrast, fs = draw.saturation;
  const size_t n = size_t(image.height) * size_t(image.width);
  uint8_t* px = image.pixels.data();
  auto to_u8 = [](float v) { return uint8_t(std::clamp(std::nearbyint(v), 0.f, 255.f)); };
  auto gray = [](const uint8_t* p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; };
  for (int op : draw.order) {
    if (op == 0 && fb != 1.f) {
      for (size_t i = 0; i < 3 * n; ++i) px[i] = to_u8(px[i] * fb);
    } else if (op == 1 && fc != 1.f) {
      double sum = 0;
      for (size_t i = 0; i < n; ++i) sum += gray(px + 3 * i);
      const float mean = float(sum / double(n)) * (1.f - fc);
      for (size_t i = 0; i < 3 * n; ++i) px[i] = to_u8(px[i] * fc + mean);
    } else if (op == 2 && fs != 1.f) {
      for (size_t i = 0; i < n; ++i) {
        float g = gray(px + 3 * i) * (1.f - fs);
        for (size_t c = 0; c < 3; ++c) px[3 * i + c] = to_u8(px[3 * i + c] * fs + g);
      }
    }
  }
}


// ---------------------------------------------------------------------------------------------
// PCA colour

std::array<float, 3> PcaLighting::draw(SampleRng& rng) const {
  std::array<float, 3> shift{0.f, 0.f, 0.f};
  for (size_t i = 0; i < 3; ++i) {
    float alpha = float(rng.normal()) * sigma;
    for (size_t c = 0; c < 3; ++c) shift[c] += alpha * eigenvalues[i] * eigenvectors[i][c];
  }
  return shift;
}

namespace {
// Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations: a becomes diagonal,
// the columns of v the eigenvectors.
void jacobi3(double a[3][3], double v[3][3]) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) v[i][j] = i == j;
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = std::abs(a[0][1]) + std::abs(a[0][2]) + std::abs(a[1][2]);
    if (off < 1e-30) break;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        if (std::abs(a[p][q]) < 1e-300) continue;
        double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 3; ++k) {  // a = a * J
          double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {  // a = J^T * a
          double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {
          double vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
  }
}
}  // namespace

PcaLighting compute_pca_lighting(const Dataset& dataset, size_t max_images) {
  const size_t n = dataset.size();
  const size_t count = std::min(n, std::max<size_t>(max_images, 1));
  double sum[3] = {0, 0, 0}, prod[3][3] = {};
  double pixels = 0;
  for (size_t k = 0; k < count; ++k) {
    Image image;
    try {
      image = dataset.image(k * n / count);
    } catch (const CorruptSample&) {
      continue;
    }
    const size_t m = size_t(image.height) * size_t(image.width);
    for (size_t i = 0; i < m; ++i) {
      double p[3] = {image.pixels[3 * i] / 255.0, image.pixels[3 * i + 1] / 255.0, image.pixels[3 * i + 2] / 255.0};
      for (int a = 0; a < 3; ++a) {
        sum[a] += p[a];
        for (int b = a; b < 3; ++b) prod[a][b] += p[a] * p[b];
      }
    }
    pixels += double(m);
  }
  if (pixels == 0) fail("PCA colour statistics: none of the ", count, " sampled images of ", dataset.describe(), " could be read");
  double cov[3][3], vec[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = a; b < 3; ++b) cov[a][b] = cov[b][a] = prod[a][b] / pixels - (sum[a] / pixels) * (sum[b] / pixels);
  jacobi3(cov, vec);
  int order[3] = {0, 1, 2};
  std::sort(order, order + 3, [&](int x, int y) { return cov[x][x] > cov[y][y]; });
  PcaLighting pca;
  for (size_t i = 0; i < 3; ++i) {
    int col = order[i];
    pca.eigenvalues[i] = float(std::max(cov[col][col], 0.0));
    // A fixed sign (largest component positive) so the result does not depend on rotation order.
    int big = 0;
    for (int c = 1; c < 3; ++c)
      if (std::abs(vec[c][col]) > std::abs(vec[big][col])) big = c;
    double sign = vec[big][col] < 0 ? -1 : 1;
    for (size_t c = 0; c < 3; ++c) pca.eigenvectors[i][c] = float(sign * vec[c][col]);
  }
  return pca;
}

}  // namespace alexnet
