// The CUDA runtime functions stload calls, with the signatures of the toolkit's
// cuda_runtime_api.h (included, so a mismatch is a compile error), over the simulated machine.
// Linked in place of libcudart into the cuda-sim build of the engine. Every failing call sets the
// calling thread's last error, which stays until cudaGetLastError reads it, as in the runtime.

#include <cuda_runtime_api.h>

#include <cstring>
#include <string>

#include "sim_state.hpp"

using stload_sim::detail::current_device;
using stload_sim::detail::fail;
using stload_sim::detail::last_error;
using stload_sim::detail::world;

namespace {

// Every call after unload_runtime() fails, as calls made from static destructors at process exit
// do once the runtime has been torn down.
bool unloading() {
  return world().unloaded();
}

// Calls that act on the current device need it to exist in this simulated machine (a test may
// have reset to fewer devices than a thread last set).
bool current_device_missing() {
  return !world().valid_device(current_device());
}

}  // namespace

extern "C" {

cudaError_t CUDARTAPI cudaGetLastError(void) {
  const cudaError_t status = last_error();
  last_error() = cudaSuccess;
  return status;
}

cudaError_t CUDARTAPI cudaPeekAtLastError(void) {
  return last_error();
}

cudaError_t CUDARTAPI cudaGetDeviceCount(int* count) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  *count = 0;
  const int devices = world().devices();
  if (devices <= 0) return fail(cudaErrorNoDevice);
  *count = devices;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaSetDevice(int device) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  if (!world().valid_device(device)) return fail(cudaErrorInvalidDevice);
  current_device() = device;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetDevice(int* device) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = current_device();
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMalloc(void** devPtr, size_t size) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  if (current_device_missing()) return fail(cudaErrorInvalidDevice);
  return world().malloc_device(devPtr, size);
}

cudaError_t CUDARTAPI cudaFree(void* devPtr) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().free_device(devPtr);
}

cudaError_t CUDARTAPI cudaHostAlloc(void** pHost, size_t size, unsigned int flags) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  static_cast<void>(flags);
  return world().alloc_pinned(pHost, size);
}

cudaError_t CUDARTAPI cudaFreeHost(void* ptr) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().free_pinned(ptr);
}

cudaError_t CUDARTAPI cudaMemGetInfo(size_t* free, size_t* total) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  if (current_device_missing()) return fail(cudaErrorInvalidDevice);
  return world().mem_info(free, total);
}

cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  if (current_device_missing()) return fail(cudaErrorInvalidDevice);
  return world().create_stream(pStream, flags);
}

cudaError_t CUDARTAPI cudaStreamDestroy(cudaStream_t stream) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().destroy_stream(stream);
}

cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t stream) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().synchronize_stream(stream);
}

cudaError_t CUDARTAPI cudaStreamQuery(cudaStream_t stream) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().query_stream(stream);
}

cudaError_t CUDARTAPI cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  if (current_device_missing()) return fail(cudaErrorInvalidDevice);
  return world().create_event(event, flags);
}

cudaError_t CUDARTAPI cudaEventDestroy(cudaEvent_t event) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().destroy_event(event);
}

cudaError_t CUDARTAPI cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().record_event(event, stream);
}

cudaError_t CUDARTAPI cudaEventSynchronize(cudaEvent_t event) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().synchronize_event(event);
}

cudaError_t CUDARTAPI cudaEventQuery(cudaEvent_t event) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().query_event(event);
}

cudaError_t CUDARTAPI cudaMemcpyAsync(void* dst, const void* src, size_t count,
                                      enum cudaMemcpyKind kind, cudaStream_t stream) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().copy_async(dst, src, count, kind, stream);
}

cudaError_t CUDARTAPI cudaMemcpy(void* dst, const void* src, size_t count,
                                 enum cudaMemcpyKind kind) {
  if (unloading()) return fail(cudaErrorCudartUnloading);
  return world().copy_sync(dst, src, count, kind);
}

}  // extern "C"
