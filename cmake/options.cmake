# Build switches, one place. Defaults suit a developer machine; CI passes its own.
option(STLOAD_CUDA "Build the CUDA engine when a CUDA toolkit is found" ON)
option(STLOAD_CUDA_SIM "Build the cuda-sim tests (CUDA engine on a simulated runtime) when the CUDA headers are found" ON)
option(STLOAD_BUILD_TESTS "Build the GoogleTest suites and register them with ctest" ON)
option(STLOAD_BUILD_BENCH "Build the C++ benchmarks under bench/" ON)
option(STLOAD_BUILD_FUZZ "Build libFuzzer targets (needs clang); replay mains are always built" OFF)
# Off by default: a consumer's build (any build type, any compiler version) must not fail on a
# warning a newer or older compiler invents (GCC 12 -O3 reports false -Wrestrict in std::string
# concatenations). The developers' presets and CI (scripts/test.sh) turn it on.
option(STLOAD_WERROR "Treat warnings in stload's own code as errors" OFF)
set(STLOAD_SANITIZE "" CACHE STRING "Sanitizers for every target: '', 'address;undefined' or 'thread'")
# Install rules by default only when stload is the top-level project (not under add_subdirectory).
option(STLOAD_INSTALL "Generate stload's install rules" ${PROJECT_IS_TOP_LEVEL})
