# Every dependency comes from Debian 12's packages (see scripts/setup).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(Protobuf REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)

find_package(gRPC CONFIG REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
# Debian's cnats CMake package names a static library it does not ship: find the shared one directly.
find_path(NATS_INCLUDE_DIR nats/nats.h REQUIRED)
find_library(NATS_LIBRARY nats REQUIRED)
add_library(herald_nats_c INTERFACE)
target_include_directories(herald_nats_c SYSTEM INTERFACE ${NATS_INCLUDE_DIR})
target_link_libraries(herald_nats_c INTERFACE ${NATS_LIBRARY})

# Boost.Asio/Beast are header-only here; define the knobs once.
add_library(herald_boost INTERFACE)
target_link_libraries(herald_boost INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(herald_boost INTERFACE
  BOOST_ASIO_NO_DEPRECATED
  BOOST_BEAST_USE_STD_STRING_VIEW
  BOOST_ASIO_DISABLE_BOOST_COROUTINE)
