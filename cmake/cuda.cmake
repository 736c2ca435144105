# CUDA is detected, not assumed. With a toolkit the CUDA engine is compiled in; without one (or with
# -DSTLOAD_CUDA=OFF) everything else still builds and tests. The runtime is linked statically so a
# binary built here runs on a machine with no driver and falls back to the CPU engine.
set(STLOAD_HAVE_CUDA OFF)
if(STLOAD_CUDA)
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # An explicit list: Ampere (80, 86), Ada (89), Hopper (90). Never `native`: build machines have no GPU.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 86 89 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(STLOAD_HAVE_CUDA ON)
    message(STATUS "stload: CUDA engine ON (toolkit ${CUDAToolkit_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES})")
  else()
    message(STATUS "stload: no CUDA compiler found, CUDA engine OFF")
  endif()
else()
  message(STATUS "stload: CUDA engine OFF (STLOAD_CUDA=OFF)")
endif()

# The simulated runtime of the cuda-sim tests needs the toolkit's headers only (not the compiler,
# libcudart or a driver), so it builds also where STLOAD_CUDA is OFF, as in the sanitizer presets.
set(STLOAD_CUDA_SIM_INCLUDE_DIR "")
if(STLOAD_CUDA_SIM)
  find_path(STLOAD_CUDA_SIM_HEADER cuda_runtime_api.h
            HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{CUDA_PATH}/include /usr/local/cuda/include)
  if(STLOAD_CUDA_SIM_HEADER)
    set(STLOAD_CUDA_SIM_INCLUDE_DIR ${STLOAD_CUDA_SIM_HEADER})
    message(STATUS "stload: cuda-sim tests ON (headers in ${STLOAD_CUDA_SIM_HEADER})")
  else()
    message(STATUS "stload: no cuda_runtime_api.h found, cuda-sim tests OFF")
  endif()
endif()
