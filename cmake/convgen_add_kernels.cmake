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
#   <target>  Either a new name: an OBJECT library of that name is created, link it into your
#             program (target_link_libraries(app PRIVATE <target>)); or one of your own targets
#             (an executable, or a shared, module, static, object or interface library): the
#             kernels are linked into it directly.
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
#   1. A custom command runs `convgen generate` into
#      ${CMAKE_CURRENT_BINARY_DIR}/convgen_kernels/<BUNDLE>/,
#      which then holds <key>.o/.h per kernel, halide_runtime__<arch>.o, lib<BUNDLE>.a (all
#      objects), convgen_registry.c (the kernel table) and manifest.json. It depends on the layer
#      file and on the convgen executable only, so it reruns when one of those changes, and
#      several calls generate in parallel like any other build steps.
#   2. lib<BUNDLE>.a is imported as <BUNDLE>_bundle, with what it needs: convgen::runtime,
#      Threads, dl and m.
#   3. A new <target> is an OBJECT library made of convgen_registry.c that links the bundle.
#      An existing executable or shared/module library gets convgen_registry.c as a source and
#      links the bundle. An existing static, object or interface library links the bundle and
#      hands the registry's object (an OBJECT library <BUNDLE>_registry) to every program that
#      links it, through $<TARGET_OBJECTS> in its interface.
#   Existing targets are extended through their link properties, never target_link_libraries(),
#   so your own plain or keyword target_link_libraries() calls on them stay valid.
#
# Note (static initializers): the registry registers its table from a constructor function.
#   Were it a member of a static archive, the linker would drop it (nothing refers to it) and
#   no kernel would be found. Every route above puts the object itself on the final link line,
#   so it always runs. If you link the new OBJECT library <target> into a STATIC library of
#   your own, the object becomes a member of that archive again: then call
#   convgen_register_<BUNDLE>() once from your code, or pass that static library itself as
#   <target>.
#
# Result: the target property CONVGEN_OUTPUT_DIR of <target> names the output folder (e.g. to
#   read manifest.json or to install the generated headers).
#
# Examples:
#   find_package(convgen REQUIRED)
#   convgen_add_kernels(mobilenet_kernels LAYERS mobilenet_block.json TARGETS host)
#   target_link_libraries(mobilenet_block PRIVATE mobilenet_kernels)
# or, into a program of yours:
#   add_executable(app main.c)
#   convgen_add_kernels(app LAYERS layers.json TARGETS host)
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
  # Not <binary dir>/<BUNDLE>: that is where an executable named like the bundle is linked.
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/convgen_kernels/${ARG_BUNDLE}")
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
  set(bundle ${ARG_BUNDLE}_bundle)
  add_library(${bundle} STATIC IMPORTED)
  set_target_properties(${bundle} PROPERTIES
    IMPORTED_LOCATION "${library}"
    INTERFACE_LINK_LIBRARIES "convgen::runtime;Threads::Threads;${CMAKE_DL_LIBS};m")

  if(NOT TARGET ${target})
    # The registry as an object of every program linking <target> (see the note above).
    add_library(${target} OBJECT "${registry}")
    target_link_libraries(${target} PUBLIC ${bundle})
  else()
    get_target_property(type ${target} TYPE)
    get_target_property(imported ${target} IMPORTED)
    get_target_property(aliased ${target} ALIASED_TARGET)
    if(imported OR aliased)
      message(FATAL_ERROR "convgen_add_kernels(${target}): ${target} is an imported or alias target; "
                          "pass a target of this project, or a new name")
    endif()
    if(type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY)$")
      target_sources(${target} PRIVATE "${registry}")
      set_property(TARGET ${target} APPEND PROPERTY LINK_LIBRARIES ${bundle})
    elseif(type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|INTERFACE_LIBRARY)$")
      add_library(${ARG_BUNDLE}_registry OBJECT "${registry}")
      target_link_libraries(${ARG_BUNDLE}_registry PUBLIC ${bundle})
      if(NOT type STREQUAL "INTERFACE_LIBRARY")
        set_property(TARGET ${target} APPEND PROPERTY LINK_LIBRARIES ${bundle})
      endif()
      set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_LIBRARIES
                   ${bundle} "$<TARGET_OBJECTS:${ARG_BUNDLE}_registry>")
    else()
      message(FATAL_ERROR "convgen_add_kernels(${target}): cannot link kernels into a target of type ${type}")
    endif()
  endif()
  set_target_properties(${target} PROPERTIES CONVGEN_OUTPUT_DIR "${dir}")
endfunction()
