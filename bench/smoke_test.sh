#!/bin/sh
# bench_smoke: runs convgen_bench on the tiny layers and checks the plumbing: exit status 0,
# a TSV with the header and one row per layer, PASS in both check columns (the --png chart is
# drawn when matplotlib is there; without it convgen_bench says so and still exits 0). Not a timing test.
# usage: smoke_test.sh CONVGEN_BENCH LAYERS_TSV WORK_DIR
set -eu
bench=$1 layers=$2 work=$3
mkdir -p "$work"
tsv="$work/smoke.tsv"
rm -f "$tsv" "$work/smoke.png"
"$bench" --layers "$layers" --threads 2 --min-time-ms 5 --rounds 2 --dram-mib 32 --work "$work/kernels" --tsv "$tsv" --png "$work/smoke.png"
expected=$(grep -v '^#' "$layers" | grep -c .)
awk -F'\t' -v want="$expected" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i
          split("layer convgen_us onednn_us ratio gflops roofline_frac convgen_check onednn_check onednn_reorder_us", req, " ")
          for (k in req) if (!(req[k] in col)) { print "bench_smoke: TSV lacks column " req[k]; bad = 1 }
          next }
{ rows++
  if ($col["convgen_check"] != "PASS" || $col["onednn_check"] != "PASS") {
      print "bench_smoke: layer " $col["layer"] ": convgen " $col["convgen_check"] ", oneDNN " $col["onednn_check"]; bad = 1 }
  if (!($col["convgen_us"] > 0) || !($col["onednn_us"] > 0) || !($col["onednn_reorder_us"] > 0)) {
      print "bench_smoke: layer " $col["layer"] " has no time"; bad = 1 } }
END { if (rows != want) { print "bench_smoke: " rows " TSV rows, expected " want; bad = 1 }
      exit bad }' "$tsv"
# scripts/bench_table.py prints the README's tables from the TSV: a header and one row per layer, and the
# two-layout form (here the same file twice) with its geomeans.
table=$(dirname "$0")/../scripts/bench_table.py
[ "$(python3 "$table" "$tsv" | grep -c '^| ')" -eq $((expected + 1)) ] || { echo "bench_smoke: bench_table.py rows"; exit 1; }
python3 "$table" "$tsv" "$tsv" | grep -q '^Geometric means of oneDNN time / convgen time: NHWC' ||
  { echo "bench_smoke: bench_table.py two-layout form"; exit 1; }
# --random: the same seed draws the same layers, printed with the seed, checked like the file's.
out1=$("$bench" --random 2 --random-seed 5 --threads 2 --min-time-ms 2 --rounds 1 --dram-mib 32 --work "$work/random")
out2=$("$bench" --random 2 --random-seed 5 --threads 2 --min-time-ms 2 --rounds 1 --dram-mib 32 --work "$work/random")
echo "$out1" | grep -q '^random layers: --random 2 --random-seed 5$' || { echo "bench_smoke: no seed line"; exit 1; }
echo "$out1" | grep -q '^worst layers' || { echo "bench_smoke: no worst-layers list"; exit 1; }
echo "$out1" | grep -q '^checks: 0 layer' || { echo "bench_smoke: a random layer failed its check"; exit 1; }
# (the layers' specs as the worst-layers list prints them, in either order)
specs() { echo "$1" | grep -E '^  r[12] .*kind=' | awk '{print $1, $NF}' | sort; }
[ "$(specs "$out1")" = "$(specs "$out2")" ] && [ -n "$(specs "$out1")" ] ||
  { echo "bench_smoke: --random-seed 5 drew different layers"; exit 1; }
# --save-layers writes the draw as a layer file that benchmarks the same layers.
"$bench" --random 2 --random-seed 5 --save-layers "$work/drawn.json" --threads 2 --min-time-ms 2 --rounds 1 --dram-mib 32 --work "$work/random" >/dev/null
out3=$("$bench" --layers "$work/drawn.json" --threads 2 --min-time-ms 2 --rounds 1 --dram-mib 32 --work "$work/random")
[ "$(specs "$out3")" = "$(specs "$out1")" ] || { echo "bench_smoke: --save-layers wrote other layers"; exit 1; }
if "$bench" --layers "$layers" --random 2 --work "$work/random" >/dev/null 2>&1; then
  echo "bench_smoke: --layers with --random accepted"; exit 1; fi
echo "bench_smoke: OK ($expected layers, --random)"
