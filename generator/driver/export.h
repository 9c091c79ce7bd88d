// Tuning for machines this one cannot time (an ARM board, another CPU): `convgen tune --export
// DIR` compiles each layer's candidate Choices for the target into DIR together with the layer's
// data, its double-reference output and a standalone benchmark program (generator/driver/
// tune_bench.c, the C runtime's sources, a Makefile); built and run there, the program writes a
// results file that `convgen tune --import FILE` turns into tuning records, with the same rule
// as a local tune: the best candidate must win most paired rounds against the default and be
// kMargin faster.
#pragma once

#include "generator/driver/targets.h"
#include "generator/driver/tune.h"
#include "generator/spec/layer_spec.h"

#include <string>
#include <vector>

namespace convgen {

// Writes DIR (created; files of an earlier export are replaced). Per layer: the default Choice
// and up to `candidates` - 1 others, nearest first (its one-field neighbours, then theirs, in an
// order drawn from o.seed). Returns the number of candidate kernels written. SpecError for bad
// input (a GPU target: its kernels have no Choice fields to search).
int export_tuning(const std::vector<LayerSpec> &layers, const ResolvedTarget &target, const TuneOptions &o,
                  const std::string &dir, int candidates);

// Reads a results file of tune_bench and appends the records it proves to o.db; one outcome per
// layer (Kept, or DefaultKept with the reason). SpecError naming file:line for a malformed file.
std::vector<TuneOutcome> import_tuning(const std::string &results, const TuneOptions &o);

}  // namespace convgen
