# ctest driver for one CMake consumer: configure SOURCE into BINARY with ARGS, build it, then run
# each program in RUN (paths relative to BINARY) with SCRATCH as its argument.
foreach(var IN ITEMS SOURCE BINARY GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: ${var} not set")
  endif()
endforeach()
string(REPLACE "|" ";" ARGS "${ARGS}")
string(REPLACE "|" ";" RUN "${RUN}")
string(REPLACE "|" ";" BUILD_ARGS "${BUILD_ARGS}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "failed (${result}): ${command}")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR} ${ARGS})
run(${CMAKE_COMMAND} --build ${BINARY} ${BUILD_ARGS})
foreach(program IN LISTS RUN)
  run(${BINARY}/${program} ${BINARY}/scratch)
endforeach()
