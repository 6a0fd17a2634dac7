// A small, fast, portable random number generator (xoshiro256**, seeded through splitmix64), so a
// seed means the same numbers on every compiler and platform (std:: distributions do not promise it).
#pragma once

#include <cmath>
#include <cstdint>

// Functions that also run in CUDA kernels (the dropout mask) are marked ALEXNET_HD.
#if defined(__CUDACC__)
#define ALEXNET_HD __host__ __device__
#else
#define ALEXNET_HD
#endif

namespace alexnet {

// splitmix64 (Steele, Lea, Flood 2014), written once for every part of the program that needs a
// portable hash or a tiny generator: the increment, the finaliser, and one step from a state.
constexpr uint64_t kSplitMix64Gamma = 0x9e3779b97f4a7c15ull;
ALEXNET_HD constexpr uint64_t splitmix64_finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
ALEXNET_HD constexpr uint64_t splitmix64(uint64_t x) { return splitmix64_finalize(x + kSplitMix64Gamma); }

// The splitmix64 generator: next() advances the state by the increment and returns its finaliser.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() { return splitmix64_finalize(state += kSplitMix64Gamma); }
  // Uniform in [0, bound), without modulo bias.
  uint64_t below(uint64_t bound) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = next();
    while (r >= limit);
    return r % bound;
  }
};

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }

  void reseed(uint64_t seed) {
    SplitMix64 sm{seed};
    for (auto& s : state_) s = sm.next();
    has_spare_ = false;
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }  // [0, n), negligible bias for small n

  double normal() {  // Box-Muller, standard normal
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

  // The full state, for checkpoints.
  struct State {
    uint64_t s[4];
    double spare;
    bool has_spare;
  };
  State state() const { return {{state_[0], state_[1], state_[2], state_[3]}, spare_, has_spare_}; }
  void set_state(const State& st) {
    for (int i = 0; i < 4; ++i) state_[i] = st.s[i];
    spare_ = st.spare;
    has_spare_ = st.has_spare;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace alexnet
