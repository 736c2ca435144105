# The version policy, in one place. project(VERSION) gives the public header's macros
# (include/stload/version.h, generated), the shared library's soname, the symbol version node of
# its exports and the CMake package's compatibility rule, so they cannot disagree:
#   0.x:       any minor release may break the API or ABI. Soname libstload.so.0.MINOR, symbols
#              versioned STLOAD_0.MINOR, find_package(stload 0.MINOR) accepts 0.MINOR.* only
#              (SameMinorVersion); patch releases keep both.
#   from 1.0:  only a major release breaks. Soname libstload.so.MAJOR, STLOAD_MAJOR,
#              SameMajorVersion.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(STLOAD_SOVERSION 0.${PROJECT_VERSION_MINOR})
  set(STLOAD_PACKAGE_COMPATIBILITY SameMinorVersion)
else()
  set(STLOAD_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(STLOAD_PACKAGE_COMPATIBILITY SameMajorVersion)
endif()
set(STLOAD_SYMBOL_VERSION STLOAD_${STLOAD_SOVERSION})

# Generated headers live in the build tree (never in the source tree) and install beside the rest.
set(STLOAD_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in
               ${STLOAD_GENERATED_INCLUDE_DIR}/stload/version.h @ONLY)
