# STLOAD_SANITIZE applies to every target in the tree, so that gtest and our code agree on the ABI.
if(STLOAD_SANITIZE)
  list(JOIN STLOAD_SANITIZE "," _stload_sanitizers)
  add_compile_options(-fsanitize=${_stload_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_stload_sanitizers})
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND "undefined" IN_LIST STLOAD_SANITIZE)
    # Known undefined behaviour in dependencies, not ours to fix; each entry cites its upstream fix.
    add_compile_options(-fsanitize-ignorelist=${CMAKE_CURRENT_LIST_DIR}/ubsan.ignorelist)
  endif()
  message(STATUS "stload: sanitizers ${_stload_sanitizers}")
endif()
