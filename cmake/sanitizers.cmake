# STLOAD_SANITIZE applies to every target in the tree, so that gtest and our code agree on the ABI.
if(STLOAD_SANITIZE)
  list(JOIN STLOAD_SANITIZE "," _stload_sanitizers)
  add_compile_options(-fsanitize=${_stload_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_stload_sanitizers})
  message(STATUS "stload: sanitizers ${_stload_sanitizers}")
endif()
