# CMake toolchain file for AArch64 Linux with Debian's GNU cross tools (gcc-aarch64-linux-gnu,
# g++-aarch64-linux-gnu) and qemu-user: programs built with it run here under qemu-aarch64, which
# CMAKE_CROSSCOMPILING_EMULATOR gives to ctest, add_custom_command and try_run.
#   cmake -S <project> -B <build> -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# CONVGEN_AARCH64_SYSROOT: the target's libraries for qemu's -L (default /usr/aarch64-linux-gnu).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CONVGEN_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "the aarch64 libraries qemu-aarch64 loads (-L)")
find_program(CONVGEN_QEMU_AARCH64 qemu-aarch64)
if(CONVGEN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CONVGEN_QEMU_AARCH64} -L ${CONVGEN_AARCH64_SYSROOT})
endif()
# Libraries and headers of the target only; programs (the build's tools) of the host.
set(CMAKE_FIND_ROOT_PATH ${CONVGEN_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
