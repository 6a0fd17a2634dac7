// Every oneDNN call goes through ALEXNET_DNNL(expr): a dnnl::error becomes an alexnet::Error that
// names the call, the file:line and oneDNN's own message and status.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "core/error.h"

namespace alexnet::dnnl_detail {

template <class F>
decltype(auto) checked(F&& f, const char* call, const char* file, int line) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    fail("oneDNN call '", call, "' failed at ", file, ":", line, ": ", e.what(), " (dnnl_status_t ", int(e.status), ")");
  }
}

}  // namespace alexnet::dnnl_detail

#define ALEXNET_DNNL(expr) \
  ::alexnet::dnnl_detail::checked([&]() -> decltype(auto) { return expr; }, #expr, __FILE__, __LINE__)
