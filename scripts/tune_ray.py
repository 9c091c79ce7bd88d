#!/usr/bin/env python3
"""Tunes the layers of a layer file on a Ray cluster: one `convgen tune` per layer and Ray task.

    scripts/tune_ray.py --layers layers/suite.tsv --target x86_avx2 --budget 60 --threads 2
    scripts/tune_ray.py --layer kind=pointwise,c=16,h=8,w=8,cout=32 --address ray://head:10001

Each task reserves --threads CPUs (num_cpus), so two tuners never share a core, and runs
`convgen tune --layer L --target T --budget B --threads N --jobs N` into a database and a work
folder of its own (temporary, on the worker). The task returns the database's text, so workers
need no shared filesystem, only convgen at the same path (--convgen) and a CPU of the target.
The driver then runs `convgen tune --merge` over the existing output database (kept, first) and
the tasks' databases, so each record is in the output once. Without --address a local Ray
instance is started with this machine's CPUs. CONVGEN_* environment variables reach the tasks.

Prints one line per finished layer (kept: a faster choice was proven and recorded; default: the
default choice stays; failed: convgen's message) and a summary line. Exit status: 0; 2 bad input
(one line naming the value, e.g. convgen's own message for a layer it rejects, with its status);
otherwise the status of the first failed task (3 when Ray lost it) or of the merge.
Requires the Python package ray (scripts/requirements.txt); stdlib otherwise.
"""
import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Fail(Exception):
    """A one-line message for stderr and the exit status."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise Fail(f"tune_ray: error: {message}")


def message_of(stderr, stdout=""):
    """convgen's last `convgen: ...` line (its error), else the last line it printed."""
    lines = [l.strip() for l in (stderr + "\n" + stdout).splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("convgen:")]
    return (errors or lines or ["(no output)"])[-1]


def convgen_cmd(convgen, *args):
    try:
        p = subprocess.run([convgen, *args], capture_output=True, text=True)
    except OSError as e:
        raise Fail(f"tune_ray: error: --convgen: cannot run {convgen}: {e.strerror}", 3)
    if p.returncode != 0:
        raise Fail(message_of(p.stderr, p.stdout), p.returncode)
    return p.stdout


def layers_of(args):
    """(name, canonical layer string) of each layer, as `convgen info --json` reads them."""
    layers = []
    if args.layers:
        if not os.path.isfile(args.layers):
            raise Fail(f"tune_ray: error: --layers: {args.layers}: no such file")
        for l in json.loads(convgen_cmd(args.convgen, "info", "--layers", args.layers, "--json")):
            layers.append((l["name"] or l["spec"], l["spec"]))
    for text in args.layer or []:
        layers.append((text, json.loads(convgen_cmd(args.convgen, "info", "--layer", text, "--json"))["spec"]))
    if not layers:
        raise Fail("tune_ray: error: give --layers FILE or --layer LAYER")
    return layers


def target_key(args):
    """`host` resolved here (so every worker tunes the same target) and the key convgen names
    its default database by; a Halide target string outside the table has no key (None)."""
    table = convgen_cmd(args.convgen, "targets").splitlines()
    if args.target == "host":
        return (next(l.split()[-1] for l in table if l.startswith("host resolves to:")),) * 2
    key = next((l.split()[0] for l in table[1:] if l.split()[:2].count(args.target)), None)
    return args.target, key


def tune_layer(convgen, layer, target, budget, threads, env):
    """The Ray task: (exit status, stdout, stderr, the database's text) of one `convgen tune`."""
    with tempfile.TemporaryDirectory(prefix="convgen-tune-ray-") as tmp:
        db = os.path.join(tmp, "db.jsonl")
        cmd = [convgen, "tune", "--layer", layer, "--target", target, "--budget", str(budget), "--db", db,
               "--work", os.path.join(tmp, "work"), "--threads", str(threads), "--jobs", str(threads)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
        except OSError as e:
            return 3, "", f"convgen: tool error: cannot run {convgen} on this worker: {e.strerror}", ""
        text = open(db).read() if os.path.exists(db) else ""
        return p.returncode, p.stdout, p.stderr, text


def main():
    ap = Parser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", metavar="FILE", help="a layer file (.tsv suite or JSON), as convgen reads it")
    ap.add_argument("--layer", action="append", metavar="LAYER", help="one layer key=value,... (repeatable)")
    ap.add_argument("--target", default="host", help="a target the workers run (default host: this machine's)")
    ap.add_argument("--budget", type=float, default=60, help="search seconds per layer (default 60)")
    ap.add_argument("--threads", type=int, default=2, help="threads (and CPUs reserved) per task (default 2)")
    ap.add_argument("--db", metavar="OUTPUT", help="the database to merge into (default tuning/<target key>.jsonl)")
    ap.add_argument("--address", help="Ray cluster address (default: start a local Ray instance)")
    ap.add_argument("--convgen", metavar="PATH", help="the convgen tool (default build/convgen, else convgen on PATH)")
    args = ap.parse_args()
    if args.budget <= 0:
        raise Fail(f"tune_ray: error: --budget: {args.budget:g} must be > 0 seconds")
    if args.threads < 1:
        raise Fail(f"tune_ray: error: --threads: {args.threads} must be >= 1")
    built = os.path.join(ROOT, "build", "convgen")
    args.convgen = os.path.abspath(args.convgen) if args.convgen else built if os.path.exists(built) else "convgen"
    layers = layers_of(args)
    target, key = target_key(args)
    if not args.db and not key:
        raise Fail(f"tune_ray: error: --target: {args.target} has no key in `convgen targets`: give --db FILE")
    output = args.db or os.path.join("tuning", key + ".jsonl")
    if os.path.exists(output):  # a corrupt output database is refused before any tuning
        with tempfile.TemporaryDirectory(prefix="convgen-tune-ray-") as tmp:
            convgen_cmd(args.convgen, "tune", "--merge", output, "-o", os.path.join(tmp, "check.jsonl"))

    host, _, port = args.address.split("://")[-1].rpartition(":") if args.address else ("", "", "")
    if port.isdigit():  # Ray would retry an unreachable address for ever
        try:
            socket.create_connection((host, int(port)), timeout=10).close()
        except OSError as e:
            raise Fail(f"tune_ray: error: --address: {args.address}: cannot connect ({e.strerror or e})", 3)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise Fail("tune_ray: error: the Python package ray is missing (pip install -r scripts/requirements.txt)", 3)
    try:
        if args.address:
            ray.init(address=args.address, log_to_driver=False, logging_level=logging.ERROR)
        else:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as e:  # ConnectionError, a bad address, a local instance that cannot start
        what = f"--address: {args.address}" if args.address else "a local Ray instance"
        raise Fail(f"tune_ray: error: {what}: {(str(e).strip().splitlines() or [type(e).__name__])[0]}", 3)
    try:
        cpus = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)
        if args.threads > cpus:  # such a task would wait forever
            raise Fail(f"tune_ray: error: --threads: {args.threads} is more than any Ray node's CPUs ({cpus:g})")
        env = {k: v for k, v in os.environ.items() if k.startswith("CONVGEN_")}
        task = ray.remote(tune_layer).options(num_cpus=args.threads, max_retries=0)
        pending = {task.remote(args.convgen, spec, target, args.budget, args.threads, env): name
                   for name, spec in layers}
        counts, texts, status = {"kept": 0, "default": 0, "failed": 0}, [], 0
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            name = pending.pop(ref)
            try:
                rc, out, err, text = ray.get(ref)
            except ray.exceptions.RayError as e:
                rc, out, err, text = 3, "", f"ray: {str(e).strip().splitlines()[0]}", ""
            records = [json.loads(l) for l in text.splitlines() if l.strip()] if rc == 0 else []
            if rc != 0:
                result, detail = "failed", f": {message_of(err, out)} (exit {rc})"
                status = status or rc
            elif records:
                r = records[-1]
                result = "kept"
                detail = f" {r['default']['median_us']:.1f} -> {r['tuned']['median_us']:.1f} us ({r['choice']})"
                texts.append(text)
            else:
                # convgen's row: layer kind default_us tuned_us speedup wins tried search_s result choice; why
                row = next((l.split() for l in out.splitlines() if "; " in l), [])
                why = " ".join(row).split("; ", 1)[-1] if row else "no faster choice proven"
                result, detail = "default", f" ({why}; {row[6]} tried in {row[7]} s)" if len(row) > 8 else f" ({why})"
            counts[result] += 1
            print(f"tune_ray: {name} {result}{detail}", flush=True)
    finally:
        ray.shutdown()

    summary = f"tune_ray: {len(layers)} layer(s): " + ", ".join(f"{v} {k}" for k, v in counts.items())
    if texts:
        with tempfile.TemporaryDirectory(prefix="convgen-tune-ray-") as tmp:
            inputs = [output] if os.path.exists(output) else []
            for i, text in enumerate(texts):
                inputs.append(os.path.join(tmp, f"task{i}.jsonl"))
                with open(inputs[-1], "w") as f:
                    f.write(text)
            os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
            summary += "; " + convgen_cmd(args.convgen, "tune", "--merge", *inputs, "-o", output).strip()
    else:
        summary += f"; no new record for {output}"
    print(summary)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print(e, file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        sys.exit(130)
