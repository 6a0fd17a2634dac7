#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "data/loader.h"

namespace alexnet {

namespace {

// Adds one sample's scores (probabilities or logits; only the order and the log-probability of the
// label matter) to the result.
void count(EvalResult& r, const float* probs, int C, int64_t label) {
  std::vector<int> order(static_cast<size_t>(C));
  for (int c = 0; c < C; ++c) order[size_t(c)] = c;
  const int k = std::min(5, C);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  r.top1 += order[0] == label;
  r.top5 += std::find(order.begin(), order.begin() + k, label) != order.begin() + k;
  r.loss += -std::log(std::max(probs[label], 1e-30f));
  r.class_total[size_t(label)]++;
  r.class_correct[size_t(label)] += order[0] == label;
  r.confusion[size_t(label)][size_t(order[0])]++;
  r.n++;
}

// A sample left out because it could not be read (the loader or the 10-crop path warned about it).
void skip(EvalResult& r, size_t index) {
  r.skipped++;
  if (r.skipped_indices.size() < 20) r.skipped_indices.push_back(index);
}

void softmax(float* z, int C) {
  const float m = *std::max_element(z, z + C);
  float s = 0;
  for (int c = 0; c < C; ++c) s += (z[c] = std::exp(z[c] - m));
  for (int c = 0; c < C; ++c) z[c] /= s;
}

// The network's logits of the batch it has just run, mirrored left-right when `plans` is null: the
// float batch flipped, else one more mirror in each plan.
void forward_mirrored(Net& net, const Batch& b, int S, std::vector<float>& scratch, std::vector<SamplePlan>& plans) {
  const int n = int(b.size);
  if (b.plans) {
    plans.assign(b.plans, b.plans + n);
    for (SamplePlan& p : plans) p.cols.flip_out = !p.cols.flip_out;
    net.forward_planned(b.images_u8, b.height, b.width, plans.data(), n, Mode::Eval);
    return;
  }
  scratch.resize(size_t(n) * 3 * S * S);  // x[.., h, w] -> x[.., h, S-1-w]
  for (size_t row = 0; row < size_t(n) * 3 * S; ++row) {
    const float* src = b.images_f32 + row * size_t(S);
    std::reverse_copy(src, src + S, scratch.data() + row * size_t(S));
  }
  net.forward(scratch.data(), n, Mode::Eval);
}

// Batches from the loader (the preset's evaluation transform), with their mirror images when asked.
void evaluate_batches(Net& net, const Dataset& data, const EvalOptions& options, EvalResult& r) {
  const int C = net.spec().num_classes, S = options.transform.input_size;
  LoaderOptions lo;
  lo.batch_size = options.batch_size;
  lo.threads = options.threads;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.train = false;
  lo.transform = options.transform;
  lo.resize_float_images = options.resize_float_images;
  lo.replace_corrupt = false;  // every sample once; an unreadable one is left out and counted
  if (options.planned) lo.format = BatchFormat::U8_PLANNED;
  Loader loader(data, lo);
  loader.start_epoch(0);
  std::vector<float> logits(size_t(options.batch_size) * C), mirrored, mirrored_logits;
  std::vector<SamplePlan> mirrored_plans;
  while (const Batch* b = loader.next()) {
    const int n = int(b->size);
    if (b->plans)
      net.forward_planned(b->images_u8, b->height, b->width, b->plans, n, Mode::Eval);
    else
      net.forward(b->images_f32, n, Mode::Eval);
    net.get_logits(logits.data());
    if (options.flip) {
      mirrored_logits.resize(size_t(n) * C);
      forward_mirrored(net, *b, S, mirrored, mirrored_plans);
      net.get_logits(mirrored_logits.data());
    }
    for (int i = 0; i < n; ++i) {
      float* z = logits.data() + size_t(i) * C;
      if (b->labels[i] == kSkippedSample) {
        skip(r, b->indices[i]);
        continue;
      }
      if (b->labels[i] < 0 || b->labels[i] >= C)
        fail("label ", b->labels[i], " of sample ", b->indices[i], " is out of range for a ", C, "-class network");
      softmax(z, C);
      if (options.flip) {
        float* m = mirrored_logits.data() + size_t(i) * C;
        softmax(m, C);
        for (int c = 0; c < C; ++c) z[c] = 0.5f * (z[c] + m[c]);
      }
      count(r, z, C, b->labels[i]);
    }
    if (options.progress) options.progress(r.n + r.skipped, int64_t(data.size()));
  }
}

// The paper's 10 crops of every image, their softmax averaged.
void evaluate_ten_crop(Net& net, const Dataset& data, const EvalOptions& options, EvalResult& r) {
  if (data.has_float_images())
    fail(data.sample_name(0), ": holds float images; 10-crop evaluation needs decoded images (use --tta none)");
  const int C = net.spec().num_classes;
  const int64_t total = int64_t(data.size());
  const Pipeline pipeline(options.transform, false);
  const int S = options.transform.input_size;
  const int per_batch = std::max(1, options.batch_size / 10);
  std::vector<float> crops(size_t(per_batch) * 10 * 3 * S * S), logits(size_t(per_batch) * 10 * C);
  std::vector<int64_t> labels(static_cast<size_t>(per_batch));
  for (int64_t at = 0; at < total; at += per_batch) {
    const int n = int(std::min<int64_t>(per_batch, total - at));
    for (int i = 0; i < n; ++i) {
      float* out = crops.data() + size_t(i) * 10 * 3 * S * S;
      try {
        pipeline.to_float_ten_crop(data.image_scaled(size_t(at + i), pipeline.min_decode_side()), out);
        labels[size_t(i)] = data.label(size_t(at + i));
      } catch (const CorruptSample& e) {  // left out, as the loader does in evaluation
        std::fprintf(stderr, "warning: skipping corrupt sample %lld (%s); it is left out of the evaluation\n",
                     (long long)(at + i), e.what());
        std::fill_n(out, size_t(10) * 3 * S * S, 0.f);
        labels[size_t(i)] = kSkippedSample;
      }
    }
    net.forward(crops.data(), n * 10, Mode::Eval);
    net.get_logits(logits.data());
    for (int i = 0; i < n; ++i) {
      if (labels[size_t(i)] == kSkippedSample) {
        skip(r, size_t(at + i));
        continue;
      }
      std::vector<float> mean(static_cast<size_t>(C), 0.f);
      for (int k = 0; k < 10; ++k) {
        float* z = logits.data() + (size_t(i) * 10 + k) * C;
        softmax(z, C);
        for (int c = 0; c < C; ++c) mean[size_t(c)] += z[c] / 10.f;
      }
      count(r, mean.data(), C, labels[size_t(i)]);
    }
    if (options.progress) options.progress(r.n + r.skipped, total);
  }
}

}  // namespace

std::string EvalResult::json(const std::vector<std::string>& classes) const {
  nlohmann::json per_class = nlohmann::json::array();
  for (size_t c = 0; c < class_total.size(); ++c)
    per_class.push_back({{"class", c < classes.size() ? classes[c] : std::to_string(c)},
                         {"n", class_total[c]},
                         {"top1", class_total[c] ? double(class_correct[c]) / double(class_total[c]) : 0.0}});
  return nlohmann::json{{"n", n}, {"skipped", skipped}, {"top1", top1}, {"top5", top5}, {"loss", loss}, {"per_class", per_class}}.dump();
}

std::string EvalResult::skipped_note() const {
  if (skipped == 0) return "";
  std::string s = cat("; ", skipped, " unreadable image", skipped == 1 ? "" : "s", " left out");
  if (skipped_indices.empty()) return s;  // all in other processes' shards: their warnings name them
  s += " (";
  for (size_t i = 0; i < skipped_indices.size(); ++i) s += cat(i ? ", " : "", "sample ", skipped_indices[i]);
  if (int64_t(skipped_indices.size()) < skipped) s += ", ...";
  return s + ")";
}

EvalResult evaluate(Net& net, const Dataset& data, const EvalOptions& options) {
  const int C = net.spec().num_classes;
  EvalResult r;
  r.class_total.assign(size_t(C), 0);
  r.class_correct.assign(size_t(C), 0);
  r.confusion.assign(size_t(C), std::vector<int64_t>(size_t(C), 0));
  if (options.ten_crop)
    evaluate_ten_crop(net, data, options, r);
  else
    evaluate_batches(net, data, options, r);
  if (r.n) {
    r.loss /= double(r.n);
    r.top1 /= double(r.n);
    r.top5 /= double(r.n);
  }
  return r;
}

EvalResult combine_evaluations(Communicator& comm, const EvalResult& mine) {
  if (comm.size() == 1) return mine;
  // Class count: the largest any rank saw (a rank with no samples may have empty tables).
  double classes = double(mine.class_total.size());
  {
    std::vector<double> all(size_t(comm.size()), 0.0);
    all[size_t(comm.rank())] = classes;
    comm.allreduce_sum(all);
    for (double c : all) classes = std::max(classes, c);
  }
  const size_t C = size_t(classes);
  // [n, loss sum, top-1 count, top-5 count, class_total[C], class_correct[C], confusion[C*C], skipped]
  std::vector<double> v(4 + 2 * C + C * C + 1, 0.0);
  v.back() = double(mine.skipped);
  const double n = double(mine.n);
  v[0] = n, v[1] = mine.loss * n, v[2] = std::round(mine.top1 * n), v[3] = std::round(mine.top5 * n);
  for (size_t c = 0; c < mine.class_total.size(); ++c) {
    v[4 + c] = double(mine.class_total[c]);
    v[4 + C + c] = double(mine.class_correct[c]);
  }
  for (size_t t = 0; t < mine.confusion.size(); ++t)
    for (size_t p = 0; p < mine.confusion[t].size(); ++p) v[4 + 2 * C + t * C + p] = double(mine.confusion[t][p]);
  comm.allreduce_sum(v);
  EvalResult r;
  r.n = int64_t(v[0]);
  if (r.n > 0) r.loss = v[1] / v[0], r.top1 = v[2] / v[0], r.top5 = v[3] / v[0];
  r.class_total.resize(C);
  r.class_correct.resize(C);
  r.confusion.assign(C, std::vector<int64_t>(C, 0));
  for (size_t c = 0; c < C; ++c) {
    r.class_total[c] = int64_t(v[4 + c]);
    r.class_correct[c] = int64_t(v[4 + C + c]);
    for (size_t p = 0; p < C; ++p) r.confusion[c][p] = int64_t(v[4 + 2 * C + c * C + p]);
  }
  r.skipped = int64_t(v.back());
  r.skipped_indices = mine.skipped_indices;
  return r;
}

}  // namespace alexnet
