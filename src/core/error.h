// Errors, in two kinds.
//
//  * alexnet::Error: something the user can cause and fix (a bad file, a bad flag, a wrong shape).
//    Thrown; the command line prints its message on one line and exits non-zero.
//  * ALEXNET_ASSERT: a broken invariant inside the program (a bug). Prints file:line and aborts.
//
// Calls into libraries (oneDNN, CUDA, the file system) are wrapped by the backend's own check macro,
// which reports the call, file:line and the library's message through alexnet::Error.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

namespace alexnet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates its arguments with operator<<: cat("expected ", n, " got ", m).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// Throws alexnet::Error whose message is the concatenation of the arguments.
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(cat(args...));
}

[[noreturn]] inline void assert_failed(const char* expr, const char* file, int line, const std::string& msg) {
  std::fprintf(stderr, "internal error: %s:%d: assertion '%s' failed%s%s\n", file, line, expr,
               msg.empty() ? "" : ": ", msg.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace alexnet

#define ALEXNET_ASSERT(cond, ...)                                                          \
  do {                                                                                     \
    if (!(cond)) ::alexnet::assert_failed(#cond, __FILE__, __LINE__, std::string{__VA_ARGS__}); \
  } while (0)
