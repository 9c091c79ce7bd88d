# lit configuration: every *.test here runs its RUN lines in a shell, with these substitutions:
#   %convgen  the built tool        %python  the project's venv Python (numpy)
#   %S        this test's folder    %t       a scratch path for this test
#   %src      the project root    %status CMD  runs CMD, prints its output then "exit=N"
# FileCheck and not come from LLVM's tools (llvm-14-tools).
import os
import lit.formats

config.name = "convgen"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.convgen), "tests", "lit", "out")
config.substitutions.append(("%convgen", config.convgen))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%src", config.source_root))
config.substitutions.append(("%status", "sh " + os.path.join(os.path.dirname(__file__), "Inputs", "status.sh")))
config.environment["PATH"] = os.pathsep.join([config.llvm_tools_dir, os.environ.get("PATH", "")])
# Kernels that `convgen run` builds are cached per test, never in the user's home.
config.environment["HOME"] = config.test_exec_root
# The sanitizer options of a CONVGEN_SANITIZE tree (scripts/test.sh) reach the tool too.
for var in ("CC", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
# Features for REQUIRES: lines.
import shutil
# avx512-host: this CPU runs x86_avx512 kernels (Halide's avx512_skylake: F, CD, VL, BW, DQ).
try:
    _flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
except (OSError, StopIteration):
    _flags = []
if all(f in _flags for f in ("avx512f", "avx512cd", "avx512vl", "avx512bw", "avx512dq")):
    config.available_features.add("avx512-host")
if shutil.which("qemu-aarch64") and shutil.which("aarch64-linux-gnu-gcc"):
    config.available_features.add("aarch64-emulation")
# MLIR import: convgen-mlir-import (built with libmlir-19-dev) and MLIR 19's mlir-opt.
_mlir_opt = "/usr/lib/llvm-19/bin/mlir-opt"
config.substitutions.append(("%mlir-opt", _mlir_opt))
if os.path.exists(os.path.join(os.path.dirname(config.convgen), "convgen-mlir-import")) and os.path.exists(_mlir_opt):
    config.available_features.add("mlir")
