# The CUDA backend (src/backend/cuda/), included by src/CMakeLists.txt after alexnet_lib is defined.
#
# ALEXNET_CUDA (a cache variable of the top CMakeLists.txt):
#   OFF   no CUDA backend; the library is the CPU build.
#   ON    the CUDA backend; configuring fails when nvcc or cuDNN is missing.
#   AUTO  the CUDA backend when nvcc and cuDNN are both found (no GPU is needed to build it).
#
# The backend's sources become an object library whose objects go into alexnet_lib, so every program
# that links alexnet_lib gets it; ALEXNET_HAVE_CUDA is defined for alexnet_lib's users (make_net).
# One GPU architecture: Hopper machine code plus its PTX (CMAKE_CUDA_ARCHITECTURES overrides).

# src/CMakeLists.txt globs backend/*.cpp recursively, which also catches backend/cuda/: those files are
# compiled here (below), with the CUDA headers, or not at all.
get_target_property(_alexnet_lib_sources alexnet_lib SOURCES)
list(FILTER _alexnet_lib_sources EXCLUDE REGEX "/backend/cuda/")
set_property(TARGET alexnet_lib PROPERTY SOURCES ${_alexnet_lib_sources})

string(TOUPPER "${ALEXNET_CUDA}" _alexnet_cuda_mode)
if(_alexnet_cuda_mode STREQUAL "OFF")
  message(STATUS "CUDA backend: off (ALEXNET_CUDA=OFF)")
  return()
endif()
if(NOT _alexnet_cuda_mode STREQUAL "ON" AND NOT _alexnet_cuda_mode STREQUAL "AUTO")
  message(FATAL_ERROR "ALEXNET_CUDA must be ON, OFF or AUTO, got '${ALEXNET_CUDA}'")
endif()

# nvcc: from CMAKE_CUDA_COMPILER / CUDACXX / PATH, else the toolkit's usual place.
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
endif()
include(CheckLanguage)
check_language(CUDA)
set(_alexnet_cuda_missing "")
if(NOT CMAKE_CUDA_COMPILER)
  list(APPEND _alexnet_cuda_missing "nvcc (set CMAKE_CUDA_COMPILER or CUDACXX)")
else()
  get_filename_component(_alexnet_cuda_bin "${CMAKE_CUDA_COMPILER}" DIRECTORY)
  get_filename_component(_alexnet_cuda_root "${_alexnet_cuda_bin}" DIRECTORY)
endif()

find_path(CUDNN_INCLUDE_DIR cudnn.h
  HINTS ${_alexnet_cuda_root}/include /usr/local/cuda/include /usr/include /usr/include/x86_64-linux-gnu)
find_library(CUDNN_LIBRARY cudnn
  HINTS ${_alexnet_cuda_root}/lib64 ${_alexnet_cuda_root}/lib /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu)
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  list(APPEND _alexnet_cuda_missing "cuDNN (cudnn.h and libcudnn; set CUDNN_INCLUDE_DIR and CUDNN_LIBRARY)")
endif()

if(_alexnet_cuda_missing)
  if(_alexnet_cuda_mode STREQUAL "ON")
    message(FATAL_ERROR "ALEXNET_CUDA=ON but not found: ${_alexnet_cuda_missing}")
  endif()
  message(STATUS "CUDA backend: off (not found: ${_alexnet_cuda_missing})")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual")
endif()
enable_language(CUDA)
# C++20 for .cu files as for the rest. nvcc 12+ takes -std=c++20, but CMake 3.25 does not know it yet.
if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
  set(CMAKE_CUDA20_COMPILE_FEATURES cuda_std_20)
endif()
find_package(CUDAToolkit REQUIRED)
message(STATUS "CUDA backend: on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, cuDNN ${CUDNN_LIBRARY}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES})")

file(GLOB ALEXNET_CUDA_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/backend/cuda/*.cu
  ${CMAKE_CURRENT_SOURCE_DIR}/backend/cuda/*.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/backend/cuda/ops/*.cu
  ${CMAKE_CURRENT_SOURCE_DIR}/backend/cuda/ops/*.cpp)
add_library(alexnet_cuda OBJECT ${ALEXNET_CUDA_SOURCES})
set_target_properties(alexnet_cuda PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  CUDA_STANDARD 20
  CUDA_STANDARD_REQUIRED ON
  CUDA_EXTENSIONS OFF
  CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")
# The directory's warning (and sanitizer) flags are gcc spellings: give them to gcc directly for .cpp
# files and through -Xcompiler for the host half of .cu files; nvcc's own warnings on top.
get_property(_alexnet_dir_options DIRECTORY PROPERTY COMPILE_OPTIONS)
set(_alexnet_cuda_options "")
foreach(opt IN LISTS _alexnet_dir_options)
  list(APPEND _alexnet_cuda_options "$<$<COMPILE_LANGUAGE:CXX>:${opt}>" "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${opt}>")
endforeach()
list(APPEND _alexnet_cuda_options "$<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr;-Xptxas=-warn-spills>")
if(ALEXNET_WERROR)
  list(APPEND _alexnet_cuda_options "$<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>")
endif()
set_property(TARGET alexnet_cuda PROPERTY COMPILE_OPTIONS ${_alexnet_cuda_options})
target_include_directories(alexnet_cuda PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${CUDNN_INCLUDE_DIR})
target_link_libraries(alexnet_cuda PRIVATE CUDA::cudart_static CUDA::cublas CUDA::cublasLt)

target_sources(alexnet_lib PRIVATE $<TARGET_OBJECTS:alexnet_cuda>)
# alexnet_lib was created before CMAKE_CUDA_ARCHITECTURES had a value, and now holds CUDA objects:
# generators that link CUDA code (Unix Makefiles) need its architectures set. Targets created after
# this point take them from CMAKE_CUDA_ARCHITECTURES.
set_target_properties(alexnet_lib PROPERTIES CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")
target_compile_definitions(alexnet_lib PUBLIC ALEXNET_HAVE_CUDA)
# cudart is linked statically (one less library to match on the GPU machine); cuBLAS and cuDNN are shared.
target_link_libraries(alexnet_lib PUBLIC CUDA::cudart_static CUDA::cublas CUDA::cublasLt ${CUDNN_LIBRARY})

# NCCL for the data-parallel gradient all-reduce on GPUs (src/dist/nccl_allreduce.cpp): its header
# at build time; the library itself is opened at run time (dlopen of libnccl.so.2), so the programs
# load on machines without it. Without the header, multi-GPU runs average through host memory.
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_alexnet_cuda_root}/include /usr/local/cuda/include /usr/include)
if(NCCL_INCLUDE_DIR)
  message(STATUS "NCCL: ${NCCL_INCLUDE_DIR}/nccl.h (GPU gradient all-reduce; libnccl.so.2 opened at run time)")
  target_compile_definitions(alexnet_lib PRIVATE ALEXNET_HAVE_NCCL)
  target_include_directories(alexnet_lib SYSTEM PRIVATE ${NCCL_INCLUDE_DIR})
  target_link_libraries(alexnet_lib PUBLIC ${CMAKE_DL_LIBS})
else()
  message(STATUS "NCCL: nccl.h not found (multi-GPU gradients averaged through host memory)")
endif()
