#!/usr/bin/env python3
"""Criterion results of `cargo bench --bench reference`, `--bench
workloads` and `--bench gp_nlml` in the JSON layout of
`../shared/bench-reference/bench_jax.py`, so that `compare_runs.py` and
`performance_table.py` can set them beside the JAX rows they mirror.

    python3 scripts/criterion_to_json.py [target/criterion] [target/rust_bench.json] [models]

The benches name their benchmarks `model/measurement/size` with the JAX
scripts' names; each benchmark directory's `benchmark.json` holds those
three parts. The median is criterion's estimate of the median time per
iteration; p10 and p90 are percentiles of the per-iteration times of the
samples (`sample.json`: total time / iterations of each sample); `n` is the
number of samples. `models` (comma-separated, by default all of them)
keeps only those models' rows. Only the standard library is needed.
"""
import glob
import json
import os
import platform
import re
import subprocess
import sys
import time

# The models of the three benches, in the order their rows are written.
MODELS = ("tiny", "gp_readme", "gp_example", "mlp", "soup", "gp_nlml", "mixture", "glm", "hierarchical", "lognormal_field")


def percentile(sorted_values, q):
    """Linear interpolation between closest ranks, as numpy's default."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def natural(text):
    """`text` as a key that orders the numbers in it by value."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def read_row(new_dir, models):
    with open(os.path.join(new_dir, "benchmark.json")) as fh:
        bench = json.load(fh)
    if bench["group_id"] not in models:
        return None
    with open(os.path.join(new_dir, "estimates.json")) as fh:
        estimates = json.load(fh)
    with open(os.path.join(new_dir, "sample.json")) as fh:
        sample = json.load(fh)
    per_iteration_us = sorted(t / i / 1e3 for t, i in zip(sample["times"], sample["iters"]))
    return {
        "model": bench["group_id"],
        "size": bench["value_str"],
        "measurement": bench["function_id"],
        "median_us": estimates["median"]["point_estimate"] / 1e3,
        "p10_us": percentile(per_iteration_us, 10),
        "p90_us": percentile(per_iteration_us, 90),
        "min_us": per_iteration_us[0],
        "n": len(per_iteration_us),
    }


def command_output(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError as e:
        return f"error: {e}"


def main():
    criterion_dir = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
    out = sys.argv[2] if len(sys.argv) > 2 else "target/rust_bench.json"
    models = sys.argv[3].split(",") if len(sys.argv) > 3 else MODELS
    rows = []
    for new_dir in glob.glob(os.path.join(criterion_dir, "**", "new"), recursive=True):
        if os.path.exists(os.path.join(new_dir, "benchmark.json")):
            row = read_row(new_dir, models)
            if row is not None:
                rows.append(row)
    # The JAX script's order: models as listed, then size (its numbers as
    # numbers: n=500 before n=1000) and measurement.
    rows.sort(key=lambda r: (MODELS.index(r["model"]), natural(r["size"]), r["measurement"]))
    meta = {
        "source": "cargo bench (criterion)",
        "rustc": command_output("rustc --version"),
        "nproc": command_output("nproc"),
        "cpu_model": command_output("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
        "loadavg": command_output("cat /proc/loadavg"),
        "platform": platform.platform(),
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "units": "microseconds (wall clock per iteration)",
    }
    with open(out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    print(f"wrote {out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
