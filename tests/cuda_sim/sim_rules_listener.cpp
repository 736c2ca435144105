#include "sim_rules_listener.hpp"

#include <cuda_runtime_api.h>

namespace stload_sim {

void RulesListener::OnTestStart(const ::testing::TestInfo& /*test*/) {
  reset(config_);
  caller_device_ = config_.devices > 0 ? config_.devices - 1 : 0;
  if (config_.devices > 0) static_cast<void>(cudaSetDevice(caller_device_));
}

void RulesListener::OnTestEnd(const ::testing::TestInfo& /*test*/) {
  int device = -1;
  if (config_.devices > 0 && cudaGetDevice(&device) != cudaErrorCudartUnloading) {
    EXPECT_EQ(device, caller_device_)
        << "cuda-sim rule: the test thread's current device was changed and not restored";
    const cudaError_t left = cudaPeekAtLastError();
    EXPECT_EQ(left, cudaSuccess) << "cuda-sim rule: a CUDA error stayed the last error of the "
                                    "test thread: "
                                 << cudaGetErrorName(left);
  }
  for (const std::string& broken : take_violations())
    ADD_FAILURE() << "cuda-sim rule broken: " << broken;
  for (const std::string& leak : leaks()) ADD_FAILURE() << "cuda-sim leak: " << leak;
  reset(config_);  // joins every stream worker the test left, so none outlives its test
}

}  // namespace stload_sim
