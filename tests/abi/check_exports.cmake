# ctest driver: fails unless the shared library LIBRARY exports stload's public API and nothing
# else (cmake/exports.cmake sets what it exports; this checks the result independently of how).
#   cmake -DLIBRARY=libstload.so -DNM=nm -DREADELF=readelf -DSONAME=libstload.so.0.1
#         -DSYMBOL_VERSION=STLOAD_0.1 "-DINTERNAL=detail|c_api" -P check_exports.cmake
# Allowed: the C API (stload_*), and demangled C++ names in namespace stload (with the typeinfo,
# vtable, ... of its classes) outside its internal namespaces; each bound to SYMBOL_VERSION; plus
# that version node itself. Everything else (RapidJSON, NVTX, libstdc++ instances) is a failure.
foreach(var IN ITEMS LIBRARY NM READELF SONAME SYMBOL_VERSION INTERNAL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_exports.cmake: ${var} not set")
  endif()
endforeach()

execute_process(COMMAND ${NM} -D --defined-only --demangle ${LIBRARY}
                OUTPUT_VARIABLE listing RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()

set(kinds "(typeinfo for |typeinfo name for |vtable for |VTT for |guard variable for "
          "|non-virtual thunk to |virtual thunk to )?")
string(JOIN "" kinds ${kinds})
set(internal "${INTERNAL}")  # already "a|b", a regex alternation
string(REPLACE ";" "\\;" listing "${listing}")  # demangled names may hold ';' (none should)
string(REPLACE "\n" ";" lines "${listing}")
set(exported 0)
set(foreign "")
set(unversioned "")
foreach(line IN LISTS lines)
  # "ADDRESS TYPE NAME@@VERSION"; an absolute symbol (the version node) has the same shape.
  if(NOT line MATCHES "^[0-9a-fA-F]+ [A-Za-z] (.+)$")
    continue()
  endif()
  set(symbol "${CMAKE_MATCH_1}")
  math(EXPR exported "${exported} + 1")
  if(symbol STREQUAL SYMBOL_VERSION)
    continue()
  endif()
  set(version "")
  if(symbol MATCHES "^(.*[^@])@@?([^@]+)$")
    set(symbol "${CMAKE_MATCH_1}")
    set(version "${CMAKE_MATCH_2}")
  endif()
  if(symbol MATCHES "^stload_" OR (symbol MATCHES "^${kinds}stload::"
                                   AND NOT symbol MATCHES "^${kinds}stload::(${internal})::"))
    if(NOT version STREQUAL SYMBOL_VERSION)
      list(APPEND unversioned "${symbol} (version '${version}')")
    endif()
  else()
    list(APPEND foreign "${symbol}")
  endif()
endforeach()

execute_process(COMMAND ${READELF} -d ${LIBRARY} OUTPUT_VARIABLE dynamic)
set(soname "")
if(dynamic MATCHES "Library soname: \\[([^]]+)\\]")
  set(soname "${CMAKE_MATCH_1}")
endif()

list(LENGTH foreign foreign_count)
list(LENGTH unversioned unversioned_count)
message(STATUS "${LIBRARY}: soname ${soname}, ${exported} defined dynamic symbols, "
               "${foreign_count} not stload's public API, ${unversioned_count} of the API not "
               "bound to ${SYMBOL_VERSION}")
if(foreign_count GREATER 0)
  list(JOIN foreign "\n  " foreign)
  message(SEND_ERROR "exported but not stload's public API:\n  ${foreign}")
endif()
if(unversioned_count GREATER 0)
  list(JOIN unversioned "\n  " unversioned)
  message(SEND_ERROR "not bound to the symbol version ${SYMBOL_VERSION}:\n  ${unversioned}")
endif()
if(NOT soname STREQUAL SONAME)
  message(SEND_ERROR "soname is '${soname}'; the policy (cmake/version.cmake) says ${SONAME}")
endif()
