// A dataset held as tensors in one safetensors file:
//   images  F32 [N, 3, H, W]  used exactly as given (already normalised): has_float_images()
//        or U8  [N, H, W, 3]  RGB pixels, handed out by image() like any decoded image
//   labels  I64 [N]           class indices
//   __metadata__ "classes"    optional JSON list of class names; without it the classes are
//                             "0" .. "K-1" with K = the largest label + 1.
#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "data/image_codec.h"
#include "data/readers.h"
#include "tensor/safetensors.h"

namespace alexnet {

namespace {

constexpr int64_t kMaxClasses = 1000000;  // as --num-classes

class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor images, Tensor labels, std::vector<std::string> classes, std::string path, std::string description)
      : images_(std::move(images)),
        labels_(std::move(labels)),
        classes_(std::move(classes)),
        path_(std::move(path)),
        description_(std::move(description)) {}

  size_t size() const override { return size_t(labels_.numel()); }
  int64_t label(size_t index) const override {
    ALEXNET_ASSERT(index < size());
    return labels_.data<int64_t>()[index];
  }
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string describe() const override { return description_; }

  bool has_float_images() const override { return images_.dtype() == DType::F32; }
  std::array<int, 2> float_image_size() const override {
    if (!has_float_images()) return {0, 0};
    return {int(images_.dim(2)), int(images_.dim(3))};
  }
  std::string sample_name(size_t index) const override { return cat(path_, " (image ", index, ")"); }

  void float_image(size_t index, float* out) const override {
    if (!has_float_images()) fail(description_, ": holds 8-bit images; read them with image()");
    ALEXNET_ASSERT(index < size());
    const size_t per = size_t(3) * size_t(images_.dim(2)) * size_t(images_.dim(3));
    std::memcpy(out, images_.data<float>() + index * per, per * sizeof(float));
  }

  Image image(size_t index) const override {
    if (has_float_images()) fail(description_, ": holds float images; read them with float_image()");
    ALEXNET_ASSERT(index < size());
    Image image;
    image.height = int(images_.dim(1));
    image.width = int(images_.dim(2));
    const size_t per = size_t(image.height) * size_t(image.width) * 3;
    const uint8_t* src = images_.data<uint8_t>() + index * per;
    image.pixels.assign(src, src + per);
    return image;
  }

 private:
  Tensor images_;  // F32 [N, 3, H, W] or U8 [N, H, W, 3]
  Tensor labels_;  // I64 [N]
  std::vector<std::string> classes_;
  std::string path_;
  std::string description_;
};

std::vector<std::string> parse_classes(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": metadata 'classes' is not valid JSON: ", e.what());
  }
  if (!j.is_array() || j.empty()) fail(path, ": metadata 'classes' must be a non-empty JSON list of names");
  std::vector<std::string> classes;
  for (const auto& v : j) {
    if (!v.is_string()) fail(path, ": metadata 'classes' holds ", v.dump(), ", not a string");
    classes.push_back(v.get<std::string>());
  }
  return classes;
}

}  // namespace

std::unique_ptr<Dataset> open_tensor_dataset(const std::string& path, const DatasetOptions& /*options*/) {
  TensorFile file = read_safetensors(path);
  if (!file.has("images") || !file.has("labels"))
    fail(path, ": a tensor dataset needs tensors 'images' and 'labels'");
  const Tensor& images = file.get("images");
  const Tensor& labels = file.get("labels");

  const bool float_images = images.dtype() == DType::F32 && images.ndim() == 4 && images.dim(1) == 3;
  const bool byte_images = images.dtype() == DType::U8 && images.ndim() == 4 && images.dim(3) == 3;
  if (!float_images && !byte_images)
    fail(path, ": 'images' is ", dtype_name(images.dtype()), " ", shape_str(images.shape()),
         "; expected F32 [N, 3, H, W] or U8 [N, H, W, 3]");
  const int64_t n = images.dim(0);
  const int64_t h = float_images ? images.dim(2) : images.dim(1);
  const int64_t w = float_images ? images.dim(3) : images.dim(2);
  if (n <= 0 || h <= 0 || w <= 0) fail(path, ": 'images' ", shape_str(images.shape()), " holds no pixels");
  // The same limit as for decoded images (the shape is already known to fit the file).
  if (h > INT32_MAX / 4 || w > INT32_MAX / 4 || h * w > max_image_pixels())
    fail(path, ": 'images' ", shape_str(images.shape()), " holds images of ", h, "x", w, ", more than the ",
         max_image_pixels(), " pixels accepted (--max-image-pixels raises the limit)");
  if (labels.dtype() != DType::I64 || labels.ndim() != 1 || labels.dim(0) != n)
    fail(path, ": 'labels' is ", dtype_name(labels.dtype()), " ", shape_str(labels.shape()), "; expected I64 [", n, "]");

  std::vector<std::string> classes;
  auto meta = file.metadata.find("classes");
  if (meta != file.metadata.end()) classes = parse_classes(meta->second, path);

  int64_t largest = -1;
  const int64_t* label = labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    if (label[i] < 0) fail(path, ": label ", i, " is ", label[i], "; labels must be 0 or more");
    if (!classes.empty() && label[i] >= int64_t(classes.size()))
      fail(path, ": label ", i, " is ", label[i], " but metadata 'classes' names only ", classes.size(), " classes");
    if (classes.empty() && label[i] >= kMaxClasses)
      fail(path, ": label ", i, " is ", label[i], "; without a metadata 'classes' list labels must be below ", kMaxClasses,
           " (the most classes a network may have)");
    largest = std::max(largest, label[i]);
  }
  if (classes.empty())
    for (int64_t k = 0; k <= largest; ++k) classes.push_back(std::to_string(k));

  std::string description = cat("tensor dataset ", path, " (", n, " ", float_images ? "float" : "8-bit", " images of ",
                                h, "x", w, ", ", classes.size(), " classes)");
  return std::make_unique<TensorDataset>(images, labels, std::move(classes), path, std::move(description));
}

}  // namespace alexnet
