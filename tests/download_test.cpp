// MD5 and the CIFAR download, against a small HTTP server inside the test on 127.0.0.1. No other
// host is ever contacted.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <archive.h>
#include <archive_entry.h>

#include "data/download.h"
#include "data/readers.h"
#include "tar_writer.h"
#include "test_cli_util.h"

namespace fs = std::filesystem;
using namespace alexnet;

namespace {

// A one-request-at-a-time HTTP/1.1 server on 127.0.0.1, on a port the kernel picks. Each route
// answers with a status and a body; `cut_after` bytes into the body the connection is dropped
// (while the Content-Length header still promises the whole body).
class TestServer {
 public:
  struct Route {
    int status = 200;
    std::vector<uint8_t> body;
    size_t cut_after = SIZE_MAX;
  };

  explicit TestServer(std::map<std::string, Route> routes) : routes_(std::move(routes)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener_ < 0) throw std::runtime_error("socket failed");
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 8) != 0)
      throw std::runtime_error("bind/listen on 127.0.0.1 failed");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~TestServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      answer(client);
      ::close(client);
    }
  }

  void answer(int client) {
    timeval timeout{2, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string request;
    char buffer[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, size_t(n));
    }
    ++requests_;
    const size_t start = request.find(' ') + 1;
    const std::string path = request.substr(start, request.find(' ', start) - start);
    auto it = routes_.find(path);
    Route route = it != routes_.end() ? it->second : Route{404, {'n', 'o'}, SIZE_MAX};
    const char* reason = route.status == 200 ? "OK" : route.status == 404 ? "Not Found" : "Error";
    const std::string head = "HTTP/1.1 " + std::to_string(route.status) + " " + reason +
                             "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                             std::to_string(route.body.size()) + "\r\nConnection: close\r\n\r\n";
    send_all(client, reinterpret_cast<const uint8_t*>(head.data()), head.size());
    send_all(client, route.body.data(), std::min(route.body.size(), route.cut_after));
  }

  static void send_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
      const ssize_t sent = ::send(fd, p, n, MSG_NOSIGNAL);
      if (sent <= 0) return;
      p += sent;
      n -= size_t(sent);
    }
  }

  std::map<std::string, Route> routes_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

using alexnet::testing::TempDir;

// A small CIFAR-10-shaped tar.gz: the same layout as the official archive, two records per batch.
std::vector<uint8_t> make_cifar_archive(const std::string& /*scratch*/) {
  std::vector<std::string> names = {"test_batch.bin"};
  for (int b = 1; b <= 5; ++b) names.push_back("data_batch_" + std::to_string(b) + ".bin");
  std::vector<alexnet::testing::TarMember> members;
  for (const std::string& n : names) {
    std::vector<uint8_t> data(2 * 3073);
    for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13);
    data[0] = 3;
    data[3073] = 7;
    members.push_back({"cifar-10-batches-bin/" + n, data});
  }
  return alexnet::testing::tar_bytes(members, true);
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const DownloadProgress kQuiet = [](uint64_t, uint64_t, bool) {};

// ---------------------------------------------------------------------------------------------

TEST(Md5, KnownDigests) {
  const auto md5 = [](const std::string& s) { return md5_hex(s.data(), s.size()); };
  // RFC 1321, appendix A.5.
  EXPECT_EQ(md5(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
  EXPECT_EQ(md5(std::string(1000000, 'a')), "7707d6ae4e027c70eea2a935c2296f21");
}

TEST(Md5, PiecewiseEqualsWhole) {
  std::vector<uint8_t> data(100000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t((i * 2654435761u) >> 13);
  const std::string whole = md5_hex(data.data(), data.size());
  for (size_t piece : {1, 3, 63, 64, 65, 1000, 4097}) {
    Md5 md5;
    for (size_t at = 0; at < data.size(); at += piece) md5.update(data.data() + at, std::min(piece, data.size() - at));
    EXPECT_EQ(md5.hex_digest(), whole) << "pieces of " << piece;
  }
  TempDir dir;
  std::ofstream(dir / "f", std::ios::binary).write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
  EXPECT_EQ(md5_file_hex(dir / "f"), whole);
  EXPECT_NE(error_of([&] { md5_file_hex(dir / "absent"); }).find("absent"), std::string::npos);
}

TEST(Download, SuccessVerifiesAndIsReused) {
  TempDir dir;
  const std::vector<uint8_t> archive = make_cifar_archive(dir.str());
  TestServer server({{"/cifar.tar.gz", {200, archive}}});
  const std::string dest = dir / "cache/cifar-10-binary.tar.gz";
  const std::string md5 = md5_hex(archive.data(), archive.size());

  uint64_t last_received = 0, last_total = 0;
  int done_calls = 0;
  download_file(server.url("/cifar.tar.gz"), dest, md5, [&](uint64_t received, uint64_t total, bool done) {
    EXPECT_GE(received, last_received);
    last_received = received;
    last_total = total;
    done_calls += done;
  });
  EXPECT_EQ(read_all(dest), archive);
  EXPECT_EQ(last_received, archive.size());
  EXPECT_EQ(last_total, archive.size());
  EXPECT_EQ(done_calls, 1);
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(dir.files(), std::vector<std::string>{"cifar-10-binary.tar.gz"});  // no partial file left

  // What came down is a dataset.
  auto d = open_dataset(dest, Split::Train);
  EXPECT_EQ(d->size(), 10u);
  EXPECT_EQ(d->label(1), 7);

  // A verified file is used again without asking the server.
  download_file(server.url("/cifar.tar.gz"), dest, md5, kQuiet);
  EXPECT_EQ(server.requests(), 1);

  // A damaged file under the final name is fetched again.
  std::ofstream(dest, std::ios::binary) << "damaged";
  download_file(server.url("/cifar.tar.gz"), dest, md5, kQuiet);
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(read_all(dest), archive);
}

TEST(Download, WrongChecksumLeavesNothing) {
  TempDir dir;
  const std::vector<uint8_t> archive = make_cifar_archive(dir.str());
  TestServer server({{"/cifar.tar.gz", {200, archive}}});
  const std::string message = error_of([&] {
    download_file(server.url("/cifar.tar.gz"), dir / "x.tar.gz", "0123456789abcdef0123456789abcdef", kQuiet);
  });
  EXPECT_NE(message.find("checksum mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find(md5_hex(archive.data(), archive.size())), std::string::npos) << message;
  EXPECT_TRUE(dir.files().empty());

  // download_cifar checks against the official checksum, which a made-up archive cannot match.
  const std::string cifar = error_of([&] { download_cifar(CifarKind::Cifar10, dir / "cache", kQuiet, server.url("/cifar.tar.gz")); });
  EXPECT_NE(cifar.find("c32a1d4ab5d03f1284b67883e8d87530"), std::string::npos) << cifar;
  EXPECT_TRUE(dir.files().empty());
}

TEST(Download, DroppedConnectionLeavesNoCompleteLookingFile) {
  TempDir dir;
  const std::vector<uint8_t> archive = make_cifar_archive(dir.str());
  TestServer server({{"/cut", {200, archive, archive.size() / 2}}});
  const std::string message = error_of([&] {
    download_file(server.url("/cut"), dir / "cifar-10-binary.tar.gz", md5_hex(archive.data(), archive.size()), kQuiet);
  });
  EXPECT_NE(message.find("failed after"), std::string::npos) << message;
  EXPECT_NE(message.find(server.url("/cut")), std::string::npos) << message;
  EXPECT_TRUE(dir.files().empty());
}

TEST(Download, HttpErrorAndRefusedConnection) {
  TempDir dir;
  TestServer server({});
  const std::string message = error_of([&] { download_file(server.url("/missing"), dir / "m", std::string(32, '0'), kQuiet); });
  EXPECT_NE(message.find("HTTP status 404"), std::string::npos) << message;
  EXPECT_TRUE(dir.files().empty());

  // A port nobody listens on: take one from the kernel and let it go.
  int port = 0;
  {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(s);
  }
  const std::string refused = error_of([&] {
    download_file("http://127.0.0.1:" + std::to_string(port) + "/x", dir / "r", std::string(32, '0'), kQuiet);
  });
  EXPECT_NE(refused.find("failed"), std::string::npos) << refused;
  EXPECT_TRUE(dir.files().empty());

  EXPECT_NE(error_of([&] { download_file("file:///etc/passwd", dir / "p", std::string(32, '0'), kQuiet); }).find("failed"),
            std::string::npos);
  EXPECT_TRUE(dir.files().empty());
  EXPECT_NE(error_of([&] { download_file(server.url("/x"), dir / "p", "abc", kQuiet); }).find("32 hex digits"), std::string::npos);
}

TEST(Download, CacheFolderAndUrlFromTheEnvironment) {
  TempDir dir;
  ASSERT_EQ(::setenv("ALEXNET_CACHE", (dir / "envcache").c_str(), 1), 0);
  EXPECT_EQ(default_cache_dir(), dir / "envcache");
  TestServer server({});
  ASSERT_EQ(::setenv("ALEXNET_CIFAR_URL", server.url("/from-env").c_str(), 1), 0);
  const std::string message = error_of([&] { download_cifar(CifarKind::Cifar100, "", kQuiet); });
  ::unsetenv("ALEXNET_CIFAR_URL");
  ::unsetenv("ALEXNET_CACHE");
  EXPECT_NE(message.find("/from-env"), std::string::npos) << message;
  EXPECT_NE(message.find("404"), std::string::npos) << message;
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(parse_cifar_kind("cifar-100"), CifarKind::Cifar100);
  EXPECT_NE(error_of([] { parse_cifar_kind("mnist"); }).find("cifar10 or cifar100"), std::string::npos);
  EXPECT_STREQ(cifar_archive_info(CifarKind::Cifar10).md5, "c32a1d4ab5d03f1284b67883e8d87530");
  EXPECT_STREQ(cifar_archive_info(CifarKind::Cifar100).md5, "03b5dce01913d631647c71ecec9e9cb8");
}

}  // namespace
