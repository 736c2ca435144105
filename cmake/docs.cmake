# `docs`: Doxygen HTML of the public headers, when Doxygen is installed (never required).
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  return()
endif()
set(DOXYGEN_PROJECT_NAME stload)
set(DOXYGEN_PROJECT_NUMBER ${PROJECT_VERSION})
set(DOXYGEN_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/docs)
set(DOXYGEN_EXTRACT_ALL NO)
set(DOXYGEN_WARN_IF_UNDOCUMENTED YES)
set(DOXYGEN_WARN_NO_PARAMDOC NO)
set(DOXYGEN_STRIP_FROM_INC_PATH ${PROJECT_SOURCE_DIR}/include ${STLOAD_GENERATED_INCLUDE_DIR})
set(DOXYGEN_USE_MDFILE_AS_MAINPAGE ${PROJECT_SOURCE_DIR}/docs/cpp.md)
set(DOXYGEN_GENERATE_LATEX NO)
doxygen_add_docs(docs ${PROJECT_SOURCE_DIR}/include ${STLOAD_GENERATED_INCLUDE_DIR}
                 ${PROJECT_SOURCE_DIR}/docs
                 COMMENT "Doxygen HTML of the public API into ${PROJECT_BINARY_DIR}/docs")
