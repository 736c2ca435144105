# `cmake --install`: headers, libstload.so and libstload.a, the `stload` CLI, a CMake package
# (stloadConfig.cmake + version file, targets stload::stload and stload::stload_static) and
# pkg-config's stload.pc. Consumers are exercised against an installed tree by tests/package/.
if(NOT STLOAD_INSTALL)
  return()
endif()
include(CMakePackageConfigHelpers)

set(STLOAD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/stload)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/stload ${STLOAD_GENERATED_INCLUDE_DIR}/stload
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT stload_development)
install(TARGETS stload stload_shared EXPORT stloadTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT stload_development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT stload_runtime
                NAMELINK_COMPONENT stload_development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT stload_runtime
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS stload_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT stload_runtime)

install(EXPORT stloadTargets NAMESPACE stload:: DESTINATION ${STLOAD_CMAKE_DIR}
        COMPONENT stload_development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/stloadConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/stloadConfig.cmake
                              INSTALL_DESTINATION ${STLOAD_CMAKE_DIR})
# Which versions find_package(stload X.Y) accepts: the policy of cmake/version.cmake.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/stloadConfigVersion.cmake
                                 COMPATIBILITY ${STLOAD_PACKAGE_COMPATIBILITY})
install(FILES ${PROJECT_BINARY_DIR}/stloadConfig.cmake ${PROJECT_BINARY_DIR}/stloadConfigVersion.cmake
        DESTINATION ${STLOAD_CMAKE_DIR} COMPONENT stload_development)

# pkg-config: `pkg-config --cflags --libs stload` links the shared library; `--static` adds what
# libstload.a needs.
set(STLOAD_PC_LIBS_PRIVATE "-pthread")
if(STLOAD_HAVE_CUDA)
  string(APPEND STLOAD_PC_LIBS_PRIVATE " -L${CUDAToolkit_LIBRARY_DIR} -lcudart_static -ldl -lrt")
endif()
# Relocatable: ${prefix} is found from the .pc file's own place, so `cmake --install --prefix X`
# works whatever CMAKE_INSTALL_PREFIX was at configure time. Absolute install dirs stay as given.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(STLOAD_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _stload_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" _stload_up "${_stload_up}")
  set(STLOAD_PC_PREFIX "\${pcfiledir}/${_stload_up}")
endif()
foreach(dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(STLOAD_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(STLOAD_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/stload.pc.in ${PROJECT_BINARY_DIR}/stload.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/stload.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT stload_development)
