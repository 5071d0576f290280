# Helpers that register unit tests and fuzz targets in one line each.
include(CMakeParseArguments)

# herald_add_unit_test(<name> SOURCES a_test.cc ... LIBS lib ...)
function(herald_add_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT HERALD_BUILD_TESTS)
    return()
  endif()
  # While several people add tests at once, a developer build may skip tests whose sources are
  # not written yet. CI never sets this.
  if(HERALD_TOLERATE_MISSING_TESTS)
    foreach(src ${ARG_SOURCES})
      if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${src})
        message(WARNING "skipping ${name}: ${src} missing")
        return()
      endif()
    endforeach()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} herald_warnings GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  gtest_discover_tests(${name} TEST_PREFIX "${name}." DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()

# herald_add_fuzzer(<name> SOURCES a_fuzz.cc LIBS lib ...): built only with HERALD_BUILD_FUZZERS
# (clang, -fsanitize=fuzzer); the corpus lives in tests/fuzz/corpus/<name>/.
function(herald_add_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT HERALD_BUILD_FUZZERS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()

if(HERALD_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()

# Adds every direct subdirectory that has a CMakeLists.txt, in name order, so that layers and test
# folders can be added without editing their parent.
function(herald_add_child_directories)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child}
       AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
