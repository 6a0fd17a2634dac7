// The network split into columns over processes: the stages of one column (plan_split) and the Net
// that runs them, exchanging activations and gradients between stages. See split_net.h.
#include "dist/split_net.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <type_traits>

#include "core/error.h"
#include "nn/cross_entropy.h"

namespace alexnet {

namespace {

// How the whole network's activation at some layer is held by the columns.
struct Holding {
  bool full = true;        // every column holds all of it (the input, after a Gather)
  int channels = 0, hw = 0;
  bool flat = false;       // [N, F]: `channels` features, hw = 1
  std::vector<int> lo, hi; // when split: each column's channels (features)
  int inner() const { return flat ? 1 : hw * hw; }
};

std::vector<int> even_bounds(int total, int columns, int offset) {
  std::vector<int> b(static_cast<size_t>(columns));
  for (int j = 0; j < columns; ++j) b[size_t(j)] = int(int64_t(total) * (j + offset) / columns);
  return b;
}

class Planner {
 public:
  Planner(const NetSpec& full, int columns, int column)
      : full_(full), table_(make_param_table(full)), S_(columns), j_(column) {
    if (columns < 1) fail("a split into ", columns, " columns");
    if (column < 0 || column >= columns) fail("column ", column, " of a split into ", columns);
    h_.channels = full.in_channels;
    h_.hw = full.input_size;
  }

  std::vector<SplitStage> run() {
    for (size_t i = 0; i < full_.layers.size(); ++i) std::visit([&](const auto& op) { add(int(i), op); }, full_.layers[i].op);
    if (h_.full) fail("--split: the network must end with a Conv2d or Linear layer (it ends with ",
                      layer_kind(full_.layers.back().op), ")");
    need_full();  // the logits, gathered: the last stage has no layers
    flush();
    stages_.push_back({std::move(pending_), {}, {}, {}});
    return std::move(stages_);
  }

 private:
  const Layer& layer(int i) const { return full_.layers[size_t(i)]; }

  // Ends the stage being built and queues `t` to make the next one's input.
  void transform(SplitTransform t) {
    flush();
    pending_.push_back(std::move(t));
  }
  SplitTransform describe(SplitTransform::Kind kind) const { return {kind, h_.channels, h_.inner(), h_.lo, h_.hi, 0}; }
  void need_full() {
    if (h_.full) return;
    transform(describe(SplitTransform::Gather));
    h_.full = true;
  }
  void need_split() {
    if (!h_.full) return;
    h_.lo = even_bounds(h_.channels, S_, 0);
    h_.hi = even_bounds(h_.channels, S_, 1);
    h_.full = false;
    transform(describe(SplitTransform::Crop));
  }
  void split_output(int channels, const std::string& name) {
    if (channels < S_) fail("--split ", S_, ": ", name, " has ", channels, " outputs, fewer than the columns");
    h_.channels = channels;
    h_.lo = even_bounds(channels, S_, 0);
    h_.hi = even_bounds(channels, S_, 1);
    h_.full = false;
    first_row_[name + ".weight"] = first_row_[name + ".bias"] = h_.lo[size_t(j_)];
  }
  int own() const { return h_.full ? h_.channels : h_.hi[size_t(j_)] - h_.lo[size_t(j_)]; }
  // Before a layer's holding changes: a new stage's input is what the column holds now.
  void open() {
    if (!layers_.empty()) return;
    before_ = std::move(pending_);
    pending_.clear();
    in_channels_ = ext_ ? ext_width_ : own();
    in_size_ = h_.flat ? 1 : h_.hw;
    if (h_.flat) {  // a flat input arrives as [F, 1, 1]
      layers_.push_back({"flatten", Flatten{}});
      ids_.push_back(-1);
    }
  }
  void push(int i, LayerOp op) {
    layers_.push_back({layer(i).name, std::move(op)});
    ids_.push_back(i);
  }

  void add(int i, const Conv2d& c) {
    const std::string& name = layer(i).name;
    Conv2d local = c;
    if (c.groups == 1) {
      need_full();
    } else if (c.groups % S_ == 0) {
      need_split();
      local.in_channels = own();
      local.groups = c.groups / S_;
    } else {
      fail("--split ", S_, ": ", name, " has groups=", c.groups, "; a split needs groups 1 or a multiple of ", S_);
    }
    open();
    if (c.groups > 1 && c.out_channels % c.groups) fail(name, ": out channels not divisible by groups");
    h_.hw = (h_.hw + 2 * c.padding - c.kernel) / c.stride + 1;
    split_output(c.out_channels, name);
    local.out_channels = own();
    if (c.groups > 1 && (local.in_channels % local.groups || local.out_channels % local.groups))
      fail("--split ", S_, ": ", name, " does not split evenly into its groups");
    push(i, local);
  }
  void add(int i, const Linear& l) {
    need_full();
    open();
    h_.flat = true;
    h_.hw = 1;
    split_output(l.out_features, layer(i).name);
    push(i, Linear{l.in_features, own()});
  }
  void add(int i, const Dropout& d) {
    need_full();  // masks by the whole tensor's element index
    open();
    push(i, d);
  }
  void add(int i, const LocalResponseNorm& n) {
    if (h_.full) {
      open();
      return push(i, n);
    }
    // Across channels: the LRN runs alone on own channels plus `halo` of each neighbour, enough
    // for the forward output and for the backward pass of own channels (y depends on x within
    // size/2, dx on the y within size/2 and so on x within 2*(size/2)).
    const int halo = 2 * (n.size / 2);
    for (int c = 0; c < S_; ++c)
      if (h_.hi[size_t(c)] - h_.lo[size_t(c)] < halo)
        fail("--split ", S_, ": column ", c, " holds ", h_.hi[size_t(c)] - h_.lo[size_t(c)], " channels at ",
             layer(i).name, " (LRN), fewer than the ", halo, " its window needs from a neighbour: use a larger --width");
    SplitTransform t = describe(SplitTransform::Halo);
    t.halo = halo;
    const int lo = h_.lo[size_t(j_)], hi = h_.hi[size_t(j_)];
    const int width = std::min(h_.channels, hi + halo) - std::max(0, lo - halo);
    t.pad = (width + 15) / 16 * 16 - width;
    transform(t);
    ext_ = true;
    ext_width_ = width + t.pad;
    open();
    push(i, n);
    t.kind = SplitTransform::Unhalo;
    transform(t);
    ext_ = false;
  }
  void add(int i, const Flatten& f) {
    open();
    if (!h_.full)
      for (size_t c = 0; c < h_.lo.size(); ++c) h_.lo[c] *= h_.inner(), h_.hi[c] *= h_.inner();
    h_.channels *= h_.inner();
    h_.flat = true;
    h_.hw = 1;
    push(i, f);
  }
  void add(int i, const MaxPool2d& p) {
    open();
    h_.hw = (h_.hw + 2 * p.padding - p.kernel) / p.stride + 1;
    push(i, p);
  }
  void add(int i, const AdaptiveAvgPool2d& p) {
    if (p.out_h != p.out_w) fail("--split: ", layer(i).name, " pools to a non-square output");
    open();
    h_.hw = p.out_h;
    push(i, p);
  }
  void add(int i, const ReLU& r) {
    open();
    push(i, r);
  }

  // Ends the stage being built (if it has layers): its NetSpec and its parameter rows.
  void flush() {
    if (layers_.empty()) return;
    SplitStage s;
    s.before = std::move(before_);
    before_.clear();
    s.spec.variant = full_.variant + " column " + std::to_string(j_);
    s.spec.in_channels = in_channels_;
    s.spec.input_size = in_size_;
    s.spec.init = full_.init;
    s.spec.layers = std::move(layers_);
    s.layer_ids = std::move(ids_);
    layers_.clear();
    ids_.clear();
    s.spec.num_classes = int(activation_shapes(s.spec).back().numel());  // the stage's output per sample
    for (const ParamInfo& p : make_param_table(s.spec).entries) {
      const ParamInfo* whole = table_.find(p.name);
      ALEXNET_ASSERT(whole, "split: " + p.name + " is not in the whole network's table");
      const size_t row = whole->numel / size_t(whole->shape[0]);
      ALEXNET_ASSERT(p.numel % row == 0 && p.numel <= whole->numel, "split: the rows of " + p.name);
      s.rows.push_back({whole->offset + size_t(first_row_.at(p.name)) * row, p.offset, p.numel});
    }
    stages_.push_back(std::move(s));
  }

  const NetSpec& full_;
  const ParamTable table_;
  const int S_, j_;
  Holding h_;                            // the whole network's activation after the layers so far
  std::vector<SplitStage> stages_;       // finished
  std::vector<SplitTransform> pending_;  // to make the next stage's input
  std::vector<SplitTransform> before_;   // the stage being built: its input transforms,
  std::vector<Layer> layers_;            // its layers
  std::vector<int> ids_;                 // and their indices in the whole network
  int in_channels_ = 0, in_size_ = 0;
  bool ext_ = false;                     // inside an LRN's halo
  int ext_width_ = 0;
  std::map<std::string, int> first_row_;  // parameter name -> this column's first row
};

}  // namespace

std::vector<SplitStage> plan_split(const NetSpec& full, int columns, int column) {
  return Planner(full, columns, column).run();
}

std::string describe_split(const NetSpec& full, int columns) {
  std::string gathers, halos, crops;
  auto add = [](std::string& list, const std::string& item) { list += (list.empty() ? "" : ", ") + item; };
  for (const SplitStage& s : plan_split(full, columns, 0)) {
    // The first layer of the whole network in this stage (not an added Flatten).
    std::string at = "the logits";
    for (size_t i = 0; i < s.layer_ids.size(); ++i)
      if (s.layer_ids[i] >= 0) {
        at = s.spec.layers[i].name;
        break;
      }
    for (const SplitTransform& t : s.before) {
      if (t.kind == SplitTransform::Gather) add(gathers, at);
      if (t.kind == SplitTransform::Halo) add(halos, cat(at, " (", t.halo, " channels)"));
      if (t.kind == SplitTransform::Crop) add(crops, at);
    }
  }
  std::string out = "all-gathers into " + gathers;
  if (!halos.empty()) out += "; LRN halos at " + halos;
  if (!crops.empty()) out += "; own channels taken at " + crops;
  return out;
}

namespace {

// Host tensors between stages: [n][channels][inner] (the whole network's), or a column's slice of it.
using Buffer = std::vector<float>;

// The buffers of one step, handed back and taken again the next: the same sizes recur every step,
// and fresh allocations of tens of MB would page-fault in every time (measured: 200-300 ms of a
// 1.8 s step of the paper network).
class BufferPool {
 public:
  // A buffer of n floats, contents unspecified.
  Buffer take(size_t n) {
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); ++i)
      if (free_[i].capacity() >= n && (best == free_.size() || free_[i].capacity() < free_[best].capacity())) best = i;
    Buffer b;
    if (best < free_.size()) {
      b = std::move(free_[best]);
      free_.erase(free_.begin() + std::ptrdiff_t(best));
    }
    b.resize(n);
    return b;
  }
  Buffer zeros(size_t n) {
    Buffer b = take(n);
    std::fill(b.begin(), b.end(), 0.f);
    return b;
  }
  void give(Buffer&& b) {
    if (b.capacity()) free_.push_back(std::move(b));
  }

 private:
  std::vector<Buffer> free_;
};

class SplitNet final : public Net {
 public:
  SplitNet(BackendKind backend, const NetSpec& full, const BuildOptions& options, Communicator& comm)
      : Net(full, options), comm_(comm), S_(comm.size()), j_(comm.rank()), stages_(plan_split(full, S_, j_)) {
    for (const SplitStage& s : stages_) {
      if (s.spec.layers.empty()) continue;
      BuildOptions o = options;
      o.layer_ids = s.layer_ids;
      nets_.push_back(make_net(backend, s.spec, o));
    }
  }

  BackendKind backend() const override { return nets_.front()->backend(); }

  void set_params(std::span<const float> host) override { scatter(host, &Net::set_params); }
  void get_params(std::span<float> host) const override { assemble(host, &Net::get_params); }
  void get_grads(std::span<float> host) const override { assemble(host, &Net::get_grads); }
  void set_grads(std::span<const float> host) override { scatter(host, &Net::set_grads); }
  void set_momentum(std::span<const float> host) override { scatter(host, &Net::set_momentum); }
  void get_momentum(std::span<float> host) const override { assemble(host, &Net::get_momentum); }

  void forward(const float* input, int n, Mode mode, uint64_t step) override {
    if (n < 1 || n > options_.max_batch) fail("batch of ", n, " samples; this network was built for 1..", options_.max_batch);
    n_ = n;
    mode_ = mode;
    exchange_ = {};
    pool_.give(std::move(logits_));
    const size_t in = size_t(n) * spec_.in_channels * spec_.input_size * spec_.input_size;
    Buffer x = pool_.take(in);
    std::memcpy(x.data(), input, in * sizeof(float));
    size_t k = 0;
    for (const SplitStage& s : stages_) {
      for (const SplitTransform& t : s.before) x = forward_transform(t, std::move(x));
      if (s.spec.layers.empty()) break;  // the logits
      Net& net = *nets_[k++];
      net.forward(x.data(), n, mode, step);
      pool_.give(std::move(x));
      x = pool_.take(size_t(n) * size_t(s.spec.num_classes));  // the stage's output per sample
      net.get_logits(x.data());
    }
    logits_ = std::move(x);
  }

  void get_logits(float* host) const override {
    if (logits_.empty()) fail("no forward pass yet");
    std::memcpy(host, logits_.data(), logits_.size() * sizeof(float));
  }

  float backward(const int64_t* labels) override {
    if (mode_ != Mode::Train || n_ == 0) fail("backward() needs a forward pass in training mode first");
    const int C = spec_.num_classes;
    for (int i = 0; i < n_; ++i)
      if (labels[i] < 0 || labels[i] >= C) fail("label ", labels[i], " out of range [0, ", C, ")");
    Buffer d = pool_.take(logits_.size());
    const float loss = softmax_cross_entropy(d.data(), logits_.data(), labels, n_, C, options_.label_smoothing);
    // Every column computed the same loss and the same gradient of the logits: each takes its own
    // logits' gradient (not a partial sum), then back through the stages.
    size_t k = nets_.size();
    for (size_t s = stages_.size(); s-- > 0;) {
      if (!stages_[s].spec.layers.empty()) {
        Net& net = *nets_[--k];
        net.backward_from(d.data());
        pool_.give(std::move(d));
        if (s == 0) break;  // the network's input needs no gradient
        const SplitStage& st = stages_[s];
        d = pool_.take(size_t(n_) * size_t(st.spec.in_channels) * st.spec.input_size * st.spec.input_size);
        net.get_input_grad(d.data());
      }
      const auto& before = stages_[s].before;
      for (size_t t = before.size(); t-- > 0;) d = backward_transform(before[t], std::move(d), s + 1 == stages_.size());
    }
    return loss;
  }

  void sgd_step(const SgdOptions& sgd, float lr) override {
    for (auto& net : nets_) net->sgd_step(sgd, lr);
  }

  Tensor activation(int) const override { fail("a split network keeps no whole activations (get_logits has the output)"); }
  Tensor activation_grad(int) const override { fail("a split network keeps no whole activation gradients"); }
  Tensor input_grad() const override { fail("a split network computes no input gradient"); }

  SplitExchange exchange() const { return exchange_; }

 private:
  // ---- parameters: each stage's rows of the whole buffer
  template <class Set>
  void scatter(std::span<const float> host, Set set) {
    if (host.size() != table_.total) fail("parameter buffer of ", host.size(), " floats, expected ", table_.total);
    size_t k = 0;
    for (const SplitStage& s : stages_) {
      if (s.spec.layers.empty()) continue;
      Net& net = *nets_[k++];
      if (net.params().total == 0) continue;  // a stage without parameters (pooling, LRN)
      Buffer local(net.params().total);
      for (const auto& r : s.rows) std::memcpy(local.data() + r.local, host.data() + r.full, r.count * sizeof(float));
      (net.*set)(local);
    }
  }
  // The whole buffer on every column: own rows, zeros elsewhere, summed over the columns.
  template <class Get>
  void assemble(std::span<float> host, Get get) const {
    if (host.size() != table_.total) fail("parameter buffer of ", host.size(), " floats, expected ", table_.total);
    std::fill(host.begin(), host.end(), 0.f);
    size_t k = 0;
    for (const SplitStage& s : stages_) {
      if (s.spec.layers.empty()) continue;
      const Net& net = *nets_[k++];
      if (net.params().total == 0) continue;
      Buffer local(net.params().total);
      (net.*get)(local);
      for (const auto& r : s.rows) std::memcpy(host.data() + r.full, local.data() + r.local, r.count * sizeof(float));
    }
    comm_.allreduce_sum(host);
  }

  // One collective over `floats` floats, counted in exchange_.
  template <class F>
  void collective(size_t floats, F&& call) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    exchange_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    exchange_.bytes += floats * sizeof(float);
  }

  // ---- the transforms between stages, on [n][channels][inner] host tensors
  int width(const SplitTransform& t, int c) const { return t.hi[size_t(c)] - t.lo[size_t(c)]; }
  // Channels [lo, hi) of each sample of `src` ([n][src_c][inner], starting at channel src_lo) into
  // `dst` ([n][dst_c][inner], starting at channel dst_lo).
  void copy_channels(const float* src, int src_c, int src_lo, float* dst, int dst_c, int dst_lo, int count,
                     int inner) const {
    const size_t bytes = size_t(count) * inner * sizeof(float);
    for (int i = 0; i < n_; ++i)
      std::memcpy(dst + (size_t(i) * dst_c + dst_lo) * inner, src + (size_t(i) * src_c + src_lo) * inner, bytes);
  }
  int ext_lo(const SplitTransform& t) const { return std::max(0, t.lo[size_t(j_)] - t.halo); }
  int ext_hi(const SplitTransform& t) const { return std::min(t.channels, t.hi[size_t(j_)] + t.halo); }

  // Own channels -> the whole tensor.
  Buffer gather(const SplitTransform& t, const Buffer& own) {
    std::vector<int> counts(static_cast<size_t>(S_));
    for (int c = 0; c < S_; ++c) counts[size_t(c)] = n_ * width(t, c) * t.inner;
    Buffer all = pool_.take(size_t(n_) * t.channels * t.inner), whole = pool_.take(all.size());
    collective(all.size(), [&] { comm_.allgather(own, all, counts); });
    size_t at = 0;
    for (int c = 0; c < S_; ++c) {
      copy_channels(all.data() + at, width(t, c), 0, whole.data(), t.channels, t.lo[size_t(c)], width(t, c), t.inner);
      at += size_t(counts[size_t(c)]);
    }
    pool_.give(std::move(all));
    return whole;
  }
  Buffer crop(const SplitTransform& t, const Buffer& src, int src_lo, int src_c) {
    const int w = width(t, j_);
    Buffer own = pool_.take(size_t(n_) * w * t.inner);
    copy_channels(src.data(), src_c, t.lo[size_t(j_)] - src_lo, own.data(), w, 0, w, t.inner);
    return own;
  }
  // Own channels (a tensor holding own = [lo, hi)) -> own plus `halo` channels of each neighbour:
  // every column sends its first and last `halo` channels.
  Buffer with_halo(const SplitTransform& t, const Buffer& own) {
    const int w = width(t, j_), h = t.halo;
    const size_t slab = size_t(n_) * h * t.inner;
    Buffer mine = pool_.take(2 * slab), all = pool_.take(2 * slab * size_t(S_));
    copy_channels(own.data(), w, 0, mine.data(), h, 0, h, t.inner);
    copy_channels(own.data(), w, w - h, mine.data() + slab, h, 0, h, t.inner);
    const std::vector<int> counts(static_cast<size_t>(S_), int(2 * slab));
    collective(all.size(), [&] { comm_.allgather(mine, all, counts); });
    const int lo = ext_lo(t), hi = ext_hi(t), ew = hi - lo + t.pad;  // the padding stays zero
    Buffer ext = pool_.zeros(size_t(n_) * ew * t.inner);
    copy_channels(own.data(), w, 0, ext.data(), ew, t.lo[size_t(j_)] - lo, w, t.inner);
    if (j_ > 0) {  // the left neighbour's last channels
      const float* last = all.data() + (2 * size_t(j_ - 1) + 1) * slab;
      const int k = t.lo[size_t(j_)] - lo;
      copy_channels(last, h, h - k, ext.data(), ew, 0, k, t.inner);
    }
    if (j_ + 1 < S_) {  // the right neighbour's first channels
      const float* first = all.data() + 2 * size_t(j_ + 1) * slab;
      const int k = hi - t.hi[size_t(j_)];
      copy_channels(first, h, 0, ext.data(), ew, hi - lo - k, k, t.inner);
    }
    pool_.give(std::move(mine));
    pool_.give(std::move(all));
    return ext;
  }

  // The transform's output from x (given back to the pool).
  Buffer forward_transform(const SplitTransform& t, Buffer x) {
    Buffer y;
    switch (t.kind) {
      case SplitTransform::Gather: y = gather(t, x); break;
      case SplitTransform::Halo: y = with_halo(t, x); break;
      case SplitTransform::Unhalo: y = crop(t, x, ext_lo(t), ext_hi(t) - ext_lo(t) + t.pad); break;
      case SplitTransform::Crop: y = crop(t, x, 0, t.channels); break;
    }
    pool_.give(std::move(x));
    return y;
  }
  // d (the gradient of the transform's output; given back to the pool) -> the gradient of its
  // input. Gradients of a whole tensor are partial (each column's share) except the logits'
  // (`last`), which every column has.
  Buffer backward_transform(const SplitTransform& t, Buffer d, bool last) {
    Buffer g;
    switch (t.kind) {
      case SplitTransform::Gather:
        if (!last) collective(d.size(), [&] { comm_.allreduce_sum(d); });
        g = crop(t, d, 0, t.channels);
        break;
      case SplitTransform::Halo: g = crop(t, d, ext_lo(t), ext_hi(t) - ext_lo(t) + t.pad); break;
      case SplitTransform::Unhalo: g = with_halo(t, d); break;
      case SplitTransform::Crop:
        g = pool_.zeros(size_t(n_) * t.channels * t.inner);
        copy_channels(d.data(), width(t, j_), 0, g.data(), t.channels, t.lo[size_t(j_)], width(t, j_), t.inner);
        break;
    }
    pool_.give(std::move(d));
    return g;
  }

  Communicator& comm_;
  const int S_, j_;
  std::vector<SplitStage> stages_;
  std::vector<std::unique_ptr<Net>> nets_;  // one per stage with layers
  BufferPool pool_;
  Buffer logits_;                           // [n, classes], gathered
  int n_ = 0;
  Mode mode_ = Mode::Eval;
  SplitExchange exchange_;
};

}  // namespace

SplitGroups split_processes(Communicator& world, int split) {
  if (split < 1 || world.size() % split)
    fail("--split ", split, " needs a multiple of ", split, " processes (", world.size(),
         " started): run it under mpirun -np ", split);
  SplitGroups g;
  g.data = &world;
  if (split > 1) {
    g.columns = world.split(world.rank() / split, world.rank() % split);
    g.replicas = world.split(world.rank() % split, world.rank() / split);
    g.data = g.replicas.get();
  }
  return g;
}

std::unique_ptr<Net> make_split_net(BackendKind backend, const NetSpec& full, const BuildOptions& options,
                                    Communicator& columns) {
  return std::make_unique<SplitNet>(backend, full, options, columns);
}

SplitExchange split_exchange(const Net& net) {
  const auto* split = dynamic_cast<const SplitNet*>(&net);
  return split ? split->exchange() : SplitExchange{};
}

}  // namespace alexnet
