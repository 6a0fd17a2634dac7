// Data-parallel training across machines, tested as machines: each host is a network namespace of
// its own (made here, joined to a bridge by a veth pair, addresses that exist only inside the namespaces), and
// Open MPI starts the remote processes through tests/netns_rsh_agent.sh (`ip netns exec`) where a
// cluster would use ssh. The processes exchange over TCP between the namespaces, as over a wire.
//
// Skipped, with a message, where namespaces cannot be made (not root, no `ip`, no permission in a
// container) or Open MPI's mpirun is missing. Every namespace and process made is removed at the end
// of each test, failed or not (NetnsHosts' destructor).
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "tensor/safetensors.h"
#include "test_cli_util.h"
#include "train/checkpoint.h"

namespace alexnet {
namespace {

using testing::run_command;
using testing::TempDir;

bool have_open_mpi() {
  if (!mpi_compiled_in()) return false;
  const auto r = run_command("mpirun --version");
  return r.exit_code == 0 && r.output.find("Open MPI") != std::string::npos;
}

// N hosts: network namespaces named after this process, each joined by a veth pair to a bridge in
// one more namespace (the switch). Host i is 10.213.7.(i+1), an address that exists only inside the
// namespaces.
class NetnsHosts {
 public:
  explicit NetnsHosts(int n) : n_(n) {
    const std::string tag = std::to_string(::getpid() % 100000);
    for (int i = 0; i <= n; ++i) names_.push_back("alexnet-mh" + tag + "-" + (i == n ? "sw" : std::to_string(i)));
    for (const std::string& ns : names_)
      if (!sh("ip netns add " + ns)) {
        why_not_ = "cannot make a network namespace (ip netns add " + ns + ": " + last_ + ")";
        return;
      }
    made_ = true;
    const std::string& sw = names_.back();
    ok_ = sh("ip -n " + sw + " link add br0 type bridge") && sh("ip -n " + sw + " link set br0 up");
    for (int i = 0; i < n && ok_; ++i) {
      const std::string host = "anmh" + tag + "h" + std::to_string(i), port = "anmh" + tag + "p" + std::to_string(i);
      const std::string& ns = names_[size_t(i)];
      ok_ = sh("ip link add " + host + " type veth peer name " + port) && sh("ip link set " + host + " netns " + ns) &&
            sh("ip link set " + port + " netns " + sw) && sh("ip -n " + sw + " link set " + port + " master br0") &&
            sh("ip -n " + sw + " link set " + port + " up") && sh("ip -n " + ns + " addr add " + address(i) + "/24 dev " + host) &&
            sh("ip -n " + ns + " link set lo up") && sh("ip -n " + ns + " link set " + host + " up");
      // TCP gives up on unacknowledged data after 3 retransmissions (~3 s here) instead of 15 (~15
      // minutes, Linux's default): a daemon whose peer is cut off notices, and ends, in seconds.
      ok_ = ok_ && sh("ip netns exec " + ns + " sh -c 'echo 3 > /proc/sys/net/ipv4/tcp_retries2'");
      links_.push_back(host);
    }
    if (!ok_) why_not_ = "cannot wire the namespaces: " + last_;
  }
  ~NetnsHosts() {
    if (!made_) {
      for (const std::string& ns : names_) sh("ip netns del " + ns + " 2>/dev/null");
      return;
    }
    kill_all();  // whatever still runs in a namespace (a hung daemon, a rank) goes with it
    for (const std::string& ns : names_) sh("ip netns del " + ns);
  }
  const std::string& why_not() const { return why_not_; }
  bool ready() const { return ok_; }
  static std::string address(int i) { return "10.213.7." + std::to_string(i + 1); }
  // Host i's only link, cut from outside: host i can reach no one, no one reaches it.
  bool cut_host(int i) { return sh("ip -n " + names_[size_t(i)] + " link set " + links_[size_t(i)] + " down"); }
  void kill_all() {
    for (const std::string& ns : names_) sh("ip netns pids " + ns + " | xargs -r kill -9 2>/dev/null");
  }
  // The processes left in host i's namespace.
  std::string pids(int i) { return run_command("ip netns pids " + names_[size_t(i)]).output; }

  // `mpirun` started in host 1, one process per host (rank i on host i+1), over TCP between them
  // only, `ip netns exec` instead of ssh. Its daemons give up on a silent peer after 3 s idle + 4
  // probes 3 s apart (Open MPI's defaults: 300 s + 9 x 20 s): at least 12 s after a cut, later than
  // the 4 s collective timeout the cut test uses, so rank 0 saves its checkpoint first.
  std::string mpirun(const TempDir& dir) const {
    std::string hostfile, map;
    for (int i = 0; i < n_; ++i) {
      hostfile += address(i) + " slots=1\n";
      if (i == 0) continue;
      if (!map.empty()) map += ' ';
      map += address(i);
      map += '=';
      map += names_[size_t(i)];
    }
    write_file(dir / "hosts", hostfile);
    return "ip netns exec " + names_[0] + " env ALEXNET_NETNS_HOSTS='" + map + "'" +
           " timeout 60 mpirun --allow-run-as-root --hostfile " + (dir / "hosts") + " -np " + std::to_string(n_) +
           " --mca plm_rsh_agent " + ALEXNET_SOURCE_DIR +
           "/tests/netns_rsh_agent.sh --mca oob_tcp_if_include 10.213.7.0/24 --mca btl tcp,self "
           "--mca btl_tcp_if_include 10.213.7.0/24 --mca oob_tcp_keepalive_time 3 --mca oob_tcp_keepalive_intvl 3 "
           "--mca oob_tcp_keepalive_probes 4 -x OMP_NUM_THREADS=1 ";
  }

 private:
  bool sh(const std::string& command) {
    const auto r = run_command(command);
    last_ = r.output;
    return r.exit_code == 0;
  }
  static void write_file(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr) << path;
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  int n_;
  std::vector<std::string> names_, links_;  // names_: the hosts', then the switch's
  std::string why_not_, last_;
  bool made_ = false, ok_ = false;
};

#define REQUIRE_HOSTS(hosts, n)                                                                                \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make network namespaces (ip netns add)";               \
  if (run_command("ip -V").exit_code != 0) GTEST_SKIP() << "no `ip` command (install iproute2)";               \
  if (!have_open_mpi())                                                                                       \
    GTEST_SKIP() << (mpi_compiled_in() ? "mpirun (Open MPI) not found on PATH: install openmpi-bin"           \
                                       : "alexnet was built without MPI (install libopenmpi-dev and reconfigure)"); \
  NetnsHosts hosts(n);                                                                                        \
  if (!hosts.ready()) GTEST_SKIP() << hosts.why_not()

const std::string kTrain = std::string(ALEXNET_BINARY) +
                           " train --model cifar --width 0.5 --precision fp32 --augment none --dropout 0 --no-shuffle "
                           "--lr 0.01 --wd 5e-4 --workers 1 --print-freq 1 --no-report ";

// Largest relative error ||a - b|| / ||b|| over the tensors of two weight files.
double worst_relative_error(const std::string& a_path, const std::string& b_path) {
  const TensorFile a = read_safetensors(a_path), b = read_safetensors(b_path);
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0;
  for (const auto& [name, tb] : b.tensors) {
    const Tensor& ta = a.tensors.at(name);
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < tb.numel(); ++i) {
      const double x = ta.data<float>()[i], y = tb.data<float>()[i];
      diff += (x - y) * (x - y);
      norm += y * y;
    }
    worst = std::max(worst, std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30));
  }
  return worst;
}

// Three hosts with batch 4 each train the weights one process trains with batch 12: the same global
// batches (see Dist.TwoProcessesGiveTheWeightsOfOneWithTheGlobalBatch), now exchanged over TCP
// between three network stacks joined by a switch. The same limit as the MPI test on one machine, 1e-5.
TEST(MultiHost, ThreeHostsTrainTheWeightsOfOneProcess) {
  REQUIRE_HOSTS(hosts, 3);
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 64);
  const std::string common = kTrain + "--data " + (dir / "d.safetensors") + " --val-split 0.25 --epochs 2 ";
  const auto one = run_command("OMP_NUM_THREADS=1 " + common + "--batch-size 12 --out " + (dir / "one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto three = run_command(hosts.mpirun(dir) + common + "--batch-size 4 --out " + (dir / "three"));
  ASSERT_EQ(three.exit_code, 0) << three.output;
  EXPECT_NE(three.output.find("parallel: 3 processes"), std::string::npos) << three.output;
  EXPECT_EQ(load_last_checkpoint(dir / "three").state.step, 8);  // 48 samples: 4 x 12 per epoch
  const double rel = worst_relative_error(dir / "three/last.safetensors", dir / "one/last.safetensors");
  EXPECT_LE(rel, 1e-5);
  std::printf("3 hosts x batch 4 vs 1 process x batch 12 after 8 steps: worst relative error %.3g\n", rel);
}

// Three hosts; host 2's link cut in the middle of an epoch: ranks 0 and 2 wait in the next
// all-reduce, rank 0's watchdog (--collective-timeout 4) ends it with one error line after saving
// the last completed step; rank 1 on host 2 ends the same way, and Open MPI's daemons, no longer
// hearing each other, end the rest. Every process on every host must be gone before `timeout 60`
// would stop mpirun (measured: printed, 8.5 and 11.9 s in two runs). The checkpoint loads, holds the
// last step rank 0 printed, and the run resumes (on one process here: host 2 is gone).
TEST(MultiHost, ACutLinkEndsEveryProcessAndLeavesACheckpoint) {
  REQUIRE_HOSTS(hosts, 3);
  TempDir dir;
  testing::write_toy_dataset(dir / "d.safetensors", 480);  // 20 steps per epoch over 3 x 8: no epoch-end checkpoint
  const std::string run = dir / "run";
  const std::string command = hosts.mpirun(dir) + kTrain + "--data " + (dir / "d.safetensors") +
                              " --val-split 0 --batch-size 8 --steps 1000 --collective-timeout 4 --out " + run + " 2>&1";
  using clock = std::chrono::steady_clock;
  const clock::time_point start = clock::now();
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output, line;
  const std::regex progress(R"(Epoch \[1\], Step \[(\d+)\])");
  long last_step = -1;  // steps completed, as rank 0 printed them
  bool cut = false, eof = false;
  clock::time_point cut_at;
  // Read until every holder of the pipe is gone (mpirun, and the daemon on host 2, which inherited
  // it), or 60 s have passed: then whatever runs is left to the hosts' destructor to kill.
  while (!eof && clock::now() - start < std::chrono::seconds(60)) {
    pollfd fd{.fd = fileno(p), .events = POLLIN, .revents = 0};
    if (::poll(&fd, 1, 500) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fileno(p), buf, sizeof buf);
    if (n <= 0) {
      eof = true;
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      line += buf[i];
      if (buf[i] != '\n') continue;
      output += line;
      std::smatch m;
      if (std::regex_search(line, m, progress)) last_step = std::stol(m[1]) + 1;
      line.clear();
      if (!cut && last_step >= 5) {
        cut = hosts.cut_host(1);
        cut_at = clock::now();
      }
    }
  }
  output += line;
  const double ended = std::chrono::duration<double>(clock::now() - cut_at).count();
  const std::string left_1 = hosts.pids(0), left_2 = hosts.pids(1), left_3 = hosts.pids(2);
  if (!eof) hosts.kill_all();  // so that pclose returns
  const int status = pclose(p);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  ASSERT_TRUE(cut) << "the run never reached step 5, or the link could not be cut:\n" << output;
  EXPECT_TRUE(eof) << "processes still ran 60 s after the start:\n" << output;
  EXPECT_NE(code, 0) << output;
  EXPECT_EQ(left_1, "") << "processes left on host 1";
  EXPECT_EQ(left_2, "") << "processes left on host 2";
  EXPECT_EQ(left_3, "") << "processes left on host 3";
  std::printf("link cut after step %ld: every process had ended %.1f s later (mpirun's exit %d)\n", last_step, ended, code);
  EXPECT_NE(output.find("error (process 0 of 3): MPI_Allreduce did not complete within the collective timeout of 4 s"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("the run stopped on an error after step " + std::to_string(last_step) +
                        "; a checkpoint of that step is saved in"),
            std::string::npos)
      << output;
  // The checkpoint is of the last step rank 0 completed: nothing finished is lost.
  const int64_t saved = load_last_checkpoint(run).state.step;
  EXPECT_EQ(saved, last_step) << output;
  const auto resumed = run_command("OMP_NUM_THREADS=1 " + std::string(ALEXNET_BINARY) + " train --no-report --resume " + run +
                                   " --steps " + std::to_string(3 * saved + 2));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  // 3 processes' step s is one process's step 3s (the same fraction of the epoch)
  EXPECT_EQ(load_last_checkpoint(run).state.step, 3 * saved + 2) << resumed.output;
}

}  // namespace
}  // namespace alexnet
