# herald_warnings: the warning set every Herald target builds with.
# (-Wnull-dereference is left out: at -O2 GCC 12 reports false positives inside Boost.Asio.)
add_library(herald_warnings INTERFACE)
target_compile_options(herald_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wcast-align
  $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
  -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
if(HERALD_WERROR)
  target_compile_options(herald_warnings INTERFACE -Werror)
endif()

# Sanitizer build types are selected by presets through CMAKE_BUILD_TYPE.
set(CMAKE_CXX_FLAGS_ASANUBSAN
    "-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
    CACHE STRING "" FORCE)
set(CMAKE_C_FLAGS_ASANUBSAN "${CMAKE_CXX_FLAGS_ASANUBSAN}" CACHE STRING "" FORCE)
set(CMAKE_EXE_LINKER_FLAGS_ASANUBSAN "-fsanitize=address,undefined" CACHE STRING "" FORCE)
set(CMAKE_SHARED_LINKER_FLAGS_ASANUBSAN "-fsanitize=address,undefined" CACHE STRING "" FORCE)
set(CMAKE_CXX_FLAGS_TSAN "-O1 -g -fno-omit-frame-pointer -fsanitize=thread" CACHE STRING "" FORCE)
set(CMAKE_C_FLAGS_TSAN "${CMAKE_CXX_FLAGS_TSAN}" CACHE STRING "" FORCE)
set(CMAKE_EXE_LINKER_FLAGS_TSAN "-fsanitize=thread" CACHE STRING "" FORCE)
set(CMAKE_SHARED_LINKER_FLAGS_TSAN "-fsanitize=thread" CACHE STRING "" FORCE)
