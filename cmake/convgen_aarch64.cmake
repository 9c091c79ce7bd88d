# The aarch64 runtime and runner of `convgen run --target arm-64-linux`, built at build time.
#
# Included by the top-level CMakeLists.txt after the convgen target. Where Debian's cross compiler
# (aarch64-linux-gnu-gcc) is found, cmake/aarch64/ is built as a sub-build with the toolchain file
# cmake/aarch64-linux-gnu.cmake and installed into CONVGEN_AARCH64_PREFIX (build/aarch64/):
# lib/libconvgen_runtime.a, lib/libconvgen_arm_runner.a, include/convgen/convgen.h. convgen finds
# that folder through a compile definition (and, installed, in <libdir>/convgen/aarch64/); tests/arm
# links its runtime. Without the cross compiler none of it is built and ARM runs say so.
find_program(CONVGEN_AARCH64_CC aarch64-linux-gnu-gcc)
find_program(CONVGEN_AARCH64_CXX aarch64-linux-gnu-g++)
find_program(CONVGEN_QEMU_AARCH64 qemu-aarch64)
set(CONVGEN_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "the aarch64 libraries qemu-aarch64 loads (-L)")
set(CONVGEN_AARCH64_PREFIX ${CMAKE_BINARY_DIR}/aarch64)
set(CONVGEN_AARCH64_RUNTIME ${CONVGEN_AARCH64_PREFIX}/lib/libconvgen_runtime.a)
set(CONVGEN_AARCH64_RUNNER ${CONVGEN_AARCH64_PREFIX}/lib/libconvgen_arm_runner.a)
if(NOT CONVGEN_AARCH64_CC)
  message(STATUS "aarch64 runtime: not built (no aarch64-linux-gnu-gcc; Debian package gcc-aarch64-linux-gnu)")
  return()
endif()

include(ExternalProject)
get_target_property(_convgen_halide_runtime_inc Halide::Runtime INTERFACE_INCLUDE_DIRECTORIES)
set(_convgen_aarch64_args
  -DCMAKE_TOOLCHAIN_FILE=${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake
  -DCMAKE_INSTALL_PREFIX=${CONVGEN_AARCH64_PREFIX}
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_MAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}
  -DCONVGEN_AARCH64_SYSROOT=${CONVGEN_AARCH64_SYSROOT}
  -DCONVGEN_SOURCE_DIR=${PROJECT_SOURCE_DIR}
  -DCONVGEN_HALIDE_INCLUDE_DIR=${_convgen_halide_runtime_inc})
if(CMAKE_C_COMPILER_LAUNCHER)
  list(APPEND _convgen_aarch64_args -DCMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER})
endif()
ExternalProject_Add(convgen_aarch64
  SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}/aarch64
  BINARY_DIR ${CMAKE_BINARY_DIR}/aarch64-build
  INSTALL_DIR ${CONVGEN_AARCH64_PREFIX}
  CMAKE_ARGS ${_convgen_aarch64_args}
  # Its sources are the runtime's and the runner's: let the sub-build's own dependency scan decide.
  BUILD_ALWAYS ON
  BUILD_BYPRODUCTS ${CONVGEN_AARCH64_RUNTIME} ${CONVGEN_AARCH64_RUNNER}
  USES_TERMINAL_BUILD OFF)
add_dependencies(convgen convgen_aarch64)
set_property(SOURCE generator/driver/qemu_runner.cpp APPEND PROPERTY COMPILE_DEFINITIONS
  CONVGEN_AARCH64_BUILD_PREFIX="${CONVGEN_AARCH64_PREFIX}"
  CONVGEN_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}")
install(DIRECTORY ${CONVGEN_AARCH64_PREFIX}/lib ${CONVGEN_AARCH64_PREFIX}/include
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/convgen/aarch64)
