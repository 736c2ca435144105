# Warnings apply to our own targets only (linked privately), never to consumers of the package.
add_library(stload_warnings INTERFACE)
target_compile_options(stload_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
    -Wno-sign-conversion>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${STLOAD_WERROR}>>:-Werror>
  # RapidJSON 1.1.0's member iterators define operator!= that C++20 finds ambiguous with its
  # reversed form; clang warns about the library's code, not ours.
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:Clang>>:-Wno-ambiguous-reversed-operator>)
