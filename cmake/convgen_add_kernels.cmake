# convgen_add_kernels(): generate convolution kernels at build time and link them into a program.
#
# Loaded by find_package(convgen) (installed beside convgenConfig.cmake) and by convgen's own
# CMakeLists.txt, so the same call works against an install and inside the convgen tree. Both
# define the targets it uses: convgen::convgen (the tool) and convgen::runtime (the C runtime).

include_guard(GLOBAL)

# convgen_add_kernels()
#
# Generates the kernels of a layer file with `convgen generate` when the project is built, and
# makes them a target that a program links to run them through the convgen C API
# (include/convgen/convgen.h: convgen_find_kernel, convgen_prepare_params, convgen_run).
#
#   convgen_add_kernels(<target>
#                       LAYERS <file>
#                       TARGETS <target-string> [<target-string> ...]
#                       [BUNDLE <name>]
#                       [SET <key=value,...> ...])
#
# Parameters:
#   <target>  Name of the CMake target created: link it into your program
#             (target_link_libraries(app PRIVATE <target>)).
#   LAYERS    The layer file (a JSON array of layer objects, or a suite .tsv), relative to
#             the current source folder. Editing it regenerates the kernels.
#   TARGETS   Halide targets to generate every layer for: a name from `convgen targets`
#             (host, x86_avx2, x86_avx512, ...) or a Halide target string. Several targets give
#             one kernel per layer and target; convgen_find_kernel_for_layer() then picks the
#             best this CPU runs. `host` means the build machine. Cross targets (e.g.
#             arm-64-linux) are passed through as they are: the project must then be built
#             with a matching cross toolchain, since the registry is compiled and everything
#             is linked with the project's compiler.
#   BUNDLE    Name of the bundle, a C identifier (default: <target>): gives lib<BUNDLE>.a and
#             the function convgen_register_<BUNDLE>().
#   SET       Overrides applied to every layer, each passed as `--set <key=value,...>`
#             (e.g. SET layout=nhwc).
#
# What it does:
#   1. A custom command runs `convgen generate` into ${CMAKE_CURRENT_BINARY_DIR}/<BUNDLE>/,
#      which then holds <key>.o/.h per kernel, halide_runtime__<arch>.o, lib<BUNDLE>.a (all
#      objects), convgen_registry.c (the kernel table) and manifest.json. It depends on the layer
#      file and on the convgen executable only, so it reruns when one of those changes, and
#      several calls generate in parallel like any other build steps.
#   2. <target> is an OBJECT library made of convgen_registry.c. Its usage requirements link
#      lib<BUNDLE>.a (imported as <target>_bundle), convgen::runtime, Threads, dl and m.
#
# Note (static initializers): the registry registers its table from a constructor function.
#   Were it a member of a static archive, the linker would drop it (nothing refers to it) and
#   no kernel would be found. As an OBJECT library its object goes straight into every target
#   that links <target> directly, so it always runs. If you instead link <target> into a
#   STATIC library of your own, the object becomes a member of that archive again: then call
#   convgen_register_<BUNDLE>() once from your code, or link that library whole-archive.
#
# Result: the target property CONVGEN_OUTPUT_DIR of <target> names the output folder (e.g. to
#   read manifest.json or to install the generated headers).
#
# Example:
#   find_package(convgen REQUIRED)
#   convgen_add_kernels(mobilenet_kernels LAYERS mobilenet_block.json TARGETS host)
#   target_link_libraries(mobilenet_block PRIVATE mobilenet_kernels)
function(convgen_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "LAYERS;BUNDLE" "TARGETS;SET")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "convgen_add_kernels(${target}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_LAYERS)
    message(FATAL_ERROR "convgen_add_kernels(${target}): LAYERS <file> is required")
  endif()
  if(NOT ARG_TARGETS)
    message(FATAL_ERROR "convgen_add_kernels(${target}): TARGETS <target> ... is required (e.g. TARGETS host)")
  endif()
  if(NOT ARG_BUNDLE)
    set(ARG_BUNDLE ${target})
  endif()
  if(NOT ARG_BUNDLE MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "convgen_add_kernels(${target}): BUNDLE '${ARG_BUNDLE}' must be a C identifier "
                        "(letters, digits, _); pass BUNDLE <name> when the target name is not one")
  endif()
  if(NOT TARGET convgen::convgen OR NOT TARGET convgen::runtime)
    message(FATAL_ERROR "convgen_add_kernels(${target}): convgen::convgen and convgen::runtime are not "
                        "defined; call find_package(convgen REQUIRED) first")
  endif()
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(NOT "C" IN_LIST languages)
    message(FATAL_ERROR "convgen_add_kernels(${target}): the generated registry is C; enable it with "
                        "project(<name> LANGUAGES C ...) or enable_language(C)")
  endif()

  cmake_path(ABSOLUTE_PATH ARG_LAYERS BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${ARG_BUNDLE}")
  set(library "${dir}/lib${ARG_BUNDLE}.a")
  set(registry "${dir}/convgen_registry.c")
  list(JOIN ARG_TARGETS "," targets)  # convgen takes --target a,b,c
  set(set_args)
  foreach(item IN LISTS ARG_SET)
    list(APPEND set_args --set "${item}")
  endforeach()

  # convgen itself reuses the kernels of the previous run whose layer, target and convgen
  # binary are unchanged (manifest.json fingerprints), so editing one layer recompiles one kernel.
  add_custom_command(
    OUTPUT "${library}" "${registry}" "${dir}/manifest.json"
    COMMAND convgen::convgen generate --layers "${ARG_LAYERS}" --target "${targets}"
            --bundle "${ARG_BUNDLE}" -o "${dir}" ${set_args}
    DEPENDS "${ARG_LAYERS}" convgen::convgen
    COMMENT "convgen: generating kernels of ${ARG_BUNDLE} (${targets})"
    VERBATIM)

  # lib<BUNDLE>.a: the kernels and one Halide runtime per architecture. The Halide runtime
  # needs pthreads, dl and m (Threads::Threads is looked up in this folder: find it here).
  find_package(Threads REQUIRED)
  add_library(${target}_bundle STATIC IMPORTED)
  set_target_properties(${target}_bundle PROPERTIES
    IMPORTED_LOCATION "${library}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")

  # The registry as an object of every program linking <target> (see the note above).
  add_library(${target} OBJECT "${registry}")
  target_link_libraries(${target} PUBLIC ${target}_bundle convgen::runtime)
  set_target_properties(${target} PROPERTIES CONVGEN_OUTPUT_DIR "${dir}")
endfunction()
