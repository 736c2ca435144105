# Every dependency comes from the machine's package manager (Debian) or the CUDA toolkit.
# Nothing is vendored and nothing is downloaded at build time.
find_package(Threads REQUIRED)

# rapidjson-dev ships RapidJSONConfig.cmake with include dirs but no imported target.
find_package(RapidJSON CONFIG REQUIRED)
add_library(stload_rapidjson INTERFACE)
target_include_directories(stload_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS} ${RapidJSON_INCLUDE_DIRS})

# DLPack (libdlpack-dev) is header-only: the C API's tensor export and include/stload/dlpack.hpp.
find_package(dlpack CONFIG REQUIRED)

# SHA-256 for `stload digest` comes from OpenSSL's libcrypto.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)

if(STLOAD_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
