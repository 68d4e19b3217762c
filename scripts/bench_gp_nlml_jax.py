#!/usr/bin/env python3
"""The Gaussian-process negative log marginal likelihood of `benches/gp_nlml.rs`
on JAX (float64, CPU): `jax.jit(jax.value_and_grad(nlml))` in the three log
hyperparameters, at n = 100, 500 and 1000, written the same two ways
(`cho_solve`, and the whitened residual from `solve_triangular`), on the same
data.

    ~/.jaxref/bin/python scripts/bench_gp_nlml_jax.py --out target/jax_gp_nlml.json

Rows have the layout of `../shared/bench-reference/bench_jax.py` (model,
size, measurement, median_us, p10_us, p90_us, min_us, n), so that
`scripts/criterion_to_json.py` output and the table scripts set them side
by side: model `gp_nlml`, size `n=N idiom`, measurement
`d_jit_value_and_grad`. A `check` row per size holds the value and gradient,
to compare with what the Rust benchmark prints.

Timing as in bench_jax.py: warm-up calls, then N timed calls (N chosen so the
loop takes about --target-s seconds, within [--min-reps, --max-reps]), each
until `block_until_ready`, with Python's garbage collector off; median, p10
and p90 over the calls.
"""

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import jax.scipy.linalg as jsl  # noqa: E402
import numpy as np  # noqa: E402

LOG_AMPLITUDE, LOG_LENGTH, LOG_NOISE = 0.1, -0.5, -1.5


def data(n):
    """The formulas of `data` in benches/gp_nlml.rs."""
    i = np.arange(n, dtype=np.float64)
    x = 10.0 * (i + 0.5 + 0.4 * np.sin(1.7 * i)) / n
    y = np.sin(x) + 0.3 * np.cos(3.0 * x) + 0.1 * np.sin(i * i * 0.7311 + 0.3)
    return jnp.asarray(x), jnp.asarray(y)


def squared_exponential(x, p):
    d = x[:, None] - x[None, :]
    k = jnp.exp(2.0 * p["log_amplitude"]) * jnp.exp(-(d**2) / (2.0 * jnp.exp(2.0 * p["log_length"])))
    return k + jnp.exp(2.0 * p["log_noise"]) * jnp.eye(x.shape[0])


def nlml_cho_solve(p, x, y):
    n = x.shape[0]
    chol = jnp.linalg.cholesky(squared_exponential(x, p))
    alpha = jsl.cho_solve((chol, True), y)
    return 0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diagonal(chol))) + 0.5 * n * jnp.log(2 * jnp.pi)


def nlml_triangular(p, x, y):
    n = x.shape[0]
    chol = jnp.linalg.cholesky(squared_exponential(x, p))
    z = jsl.solve_triangular(chol, y, lower=True)
    return 0.5 * jnp.sum(z**2) + jnp.sum(jnp.log(jnp.diagonal(chol))) + 0.5 * n * jnp.log(2 * jnp.pi)


def steady(fn, args):
    for _ in range(args.warmup):
        jax.block_until_ready(fn())
    start = time.perf_counter()
    jax.block_until_ready(fn())
    estimate = max(time.perf_counter() - start, 1e-7)
    reps = int(min(max(args.target_s / estimate, args.min_reps), args.max_reps))
    times = [0.0] * reps
    gc.collect()
    gc.disable()
    try:
        for r in range(reps):
            s = time.perf_counter()
            jax.block_until_ready(fn())
            times[r] = time.perf_counter() - s
    finally:
        gc.enable()
    t = np.asarray(times) * 1e6
    return {
        "median_us": float(np.median(t)),
        "p10_us": float(np.percentile(t, 10)),
        "p90_us": float(np.percentile(t, 90)),
        "min_us": float(np.min(t)),
        "n": int(len(t)),
    }


def command_output(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError as e:
        return f"error: {e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="target/jax_gp_nlml.json")
    ap.add_argument("--sizes", default="100,500,1000")
    ap.add_argument("--target-s", type=float, default=2.0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-reps", type=int, default=20)
    ap.add_argument("--max-reps", type=int, default=5000)
    args = ap.parse_args()

    params = {k: jnp.float64(v) for k, v in
              [("log_amplitude", LOG_AMPLITUDE), ("log_length", LOG_LENGTH), ("log_noise", LOG_NOISE)]}
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        x, y = data(n)
        for idiom, nlml in [("cho_solve", nlml_cho_solve), ("triangular", nlml_triangular)]:
            size = f"n={n} {idiom}"
            vg = jax.jit(jax.value_and_grad(nlml))
            row = {"model": "gp_nlml", "size": size, "measurement": "d_jit_value_and_grad"}
            row.update(steady(lambda: vg(params, x, y), args))
            rows.append(row)
            value, grads = vg(params, x, y)
            rows.append({"model": "gp_nlml", "size": size, "measurement": "check",
                         "value": float(value), "gradient": [float(grads[k]) for k in params]})
            print(f"  {size:<18} {row['median_us']:>12.1f} {row['p10_us']:>12.1f} {row['p90_us']:>12.1f}"
                  f"  n={row['n']:<5} value {float(value):.12e} gradient "
                  + ", ".join(f"{float(grads[k]):.12e}" for k in params), flush=True)

    import jaxlib
    meta = {
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "nproc": command_output("nproc"),
        "sched_affinity_cpus": sorted(os.sched_getaffinity(0)),
        "cpu_model": command_output("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "x64": bool(jax.config.jax_enable_x64),
        "env": {k: os.environ.get(k) for k in ("XLA_FLAGS", "JAX_PLATFORMS", "OMP_NUM_THREADS")},
        "loadavg": command_output("cat /proc/loadavg"),
        "args": vars(args),
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "units": "microseconds (wall clock, perf_counter, after block_until_ready)",
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
