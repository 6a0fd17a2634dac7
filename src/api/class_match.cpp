#include "api/class_match.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace alexnet {

namespace {

// "a, b, c, d, e and 5 more"
std::string some_of(const std::vector<std::string>& names) {
  constexpr size_t kShown = 5;
  std::string s;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > kShown) s += cat(" and ", names.size() - kShown, " more");
  return s;
}

bool unnamed(const std::vector<std::string>& names) {
  for (size_t k = 0; k < names.size(); ++k)
    if (names[k] != std::to_string(k)) return false;
  return true;
}

std::vector<std::string> missing_from(const std::vector<std::string>& names, const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const std::string& n : names)
    if (std::find(in.begin(), in.end(), n) == in.end()) out.push_back(n);
  return out;
}

class RelabelledDataset : public Dataset {
 public:
  RelabelledDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> to_model, std::vector<std::string> classes)
      : base_(std::move(base)), to_model_(std::move(to_model)), classes_(std::move(classes)) {}

  size_t size() const override { return base_->size(); }
  int64_t label(size_t index) const override {
    const int64_t l = base_->label(index);
    return l >= 0 && size_t(l) < to_model_.size() ? to_model_[size_t(l)] : l;
  }
  const std::vector<std::string>& classes() const override { return classes_; }
  Image image(size_t index) const override { return base_->image(index); }
  Image image_scaled(size_t index, int min_side) const override { return base_->image_scaled(index, min_side); }
  bool has_float_images() const override { return base_->has_float_images(); }
  std::array<int, 2> float_image_size() const override { return base_->float_image_size(); }
  void float_image(size_t index, float* out) const override { base_->float_image(index, out); }
  std::string sample_name(size_t index) const override { return base_->sample_name(index); }
  std::string describe() const override { return base_->describe(); }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> to_model_;
  std::vector<std::string> classes_;
};

}  // namespace

ClassMatch match_classes(const std::vector<std::string>& model, const std::vector<std::string>& data,
                         bool by_position, const std::string& checkpoint) {
  ClassMatch m;
  for (size_t k = 0; k < data.size(); ++k) m.to_model.push_back(int64_t(k));
  if (model.empty() || model == data) return m;
  if (unnamed(data)) {
    m.note = cat("the data's classes have no names (0 to ", data.size() - 1, "): scored by position as ", checkpoint,
                 "'s ", some_of(model));
    return m;
  }
  if (by_position) {
    m.note = cat("scored by position (--by-position): the data's ", some_of(data), " as ", checkpoint, "'s ",
                 some_of(model));
    return m;
  }
  std::map<std::string, int64_t> index;
  for (size_t k = 0; k < model.size(); ++k) index.emplace(model[k], int64_t(k));
  const std::vector<std::string> unknown = missing_from(data, model);
  if (!unknown.empty())
    fail("the data's classes are not ", checkpoint, "'s: the data has ", some_of(unknown), " (", data.size(),
         " classes), which it does not; it has ", some_of(missing_from(model, data)), " (", model.size(),
         " classes). To score by position anyway, pass --by-position");
  for (size_t k = 0; k < data.size(); ++k) m.to_model[k] = index.at(data[k]);
  m.by_position = false;
  m.note = data.size() == model.size()
               ? cat("the data's ", data.size(), " classes are in another order than ", checkpoint,
                     "'s: matched by name")
               : cat("the data's ", data.size(), " classes (", some_of(data), ") are matched by name to ", data.size(),
                     " of ", checkpoint, "'s ", model.size());
  return m;
}

std::shared_ptr<const Dataset> relabel(std::shared_ptr<const Dataset> data, const ClassMatch& match,
                                       std::vector<std::string> model_classes) {
  if (match.by_position) return data;
  return std::make_shared<RelabelledDataset>(std::move(data), match.to_model, std::move(model_classes));
}

}  // namespace alexnet
