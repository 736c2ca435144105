// What the simulated runtime says about itself and its devices: versions, properties, attributes
// and error names, for code that reports the machine (a doctor command) as well as the engine.
// The devices describe themselves as simulated, so no report can pass one off as a GPU.

#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>

#include "sim_state.hpp"

using stload_sim::detail::fail;
using stload_sim::detail::world;

extern "C" {

cudaError_t CUDARTAPI cudaDriverGetVersion(int* driverVersion) {
  if (driverVersion == nullptr) return fail(cudaErrorInvalidValue);
  *driverVersion = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaRuntimeGetVersion(int* runtimeVersion) {
  if (runtimeVersion == nullptr) return fail(cudaErrorInvalidValue);
  *runtimeVersion = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetDeviceProperties(struct cudaDeviceProp* prop, int device) {
  if (world().unloaded()) return fail(cudaErrorCudartUnloading);
  if (prop == nullptr) return fail(cudaErrorInvalidValue);
  if (!world().valid_device(device)) return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "stload simulated device %d (not a GPU)", device);
  prop->totalGlobalMem = world().config().capacity_per_device;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  prop->canMapHostMemory = 1;
  prop->unifiedAddressing = 1;
  prop->asyncEngineCount = 2;
  prop->pciBusID = device + 1;
  prop->warpSize = 32;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
  if (world().unloaded()) return fail(cudaErrorCudartUnloading);
  if (value == nullptr) return fail(cudaErrorInvalidValue);
  if (!world().valid_device(device)) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrComputeCapabilityMajor:
      *value = 9;
      break;
    case cudaDevAttrMultiProcessorCount:
    case cudaDevAttrCanMapHostMemory:
    case cudaDevAttrUnifiedAddressing:
      *value = 1;
      break;
    case cudaDevAttrAsyncEngineCount:
      *value = 2;
      break;
    case cudaDevAttrPciBusId:
      *value = device + 1;
      break;
    default:
      *value = 0;  // cudaComputeModeDefault, PCI domain 0, and every other attribute
      break;
  }
  return cudaSuccess;
}

const char* CUDARTAPI cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorCudartUnloading:
      return "cudaErrorCudartUnloading";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    case cudaErrorInsufficientDriver:
      return "cudaErrorInsufficientDriver";
    default:
      return "cudaErrorUnknown";
  }
}

const char* CUDARTAPI cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorCudartUnloading:
      return "driver shutting down";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorNotReady:
      return "device not ready";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    default:
      return "unknown error (simulated runtime)";
  }
}

}  // extern "C"
