# Warnings apply to our own targets only (linked privately), never to consumers of the package.
add_library(stload_warnings INTERFACE)
target_compile_options(stload_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
    -Wno-sign-conversion>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${STLOAD_WERROR}>>:-Werror>)
