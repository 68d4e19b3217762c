#!/usr/bin/env python3
"""The models of `benches/workloads.rs` on the original library (PyPI
`jaxpurify` on JAX, float64, CPU), timed as `bench_jax.py` times the
reference models, under the same ids, so that `performance_table.py` can set
the two side by side:

    ~/.jaxref/bin/python scripts/bench_workloads_jax.py --out target/jax_workloads.json

Rows are `{model, size, measurement, median_us, p10_us, p90_us, n}`:
`c_jit_forward` times `jax.jit(model)(params, **fixed)` and
`d_jit_value_and_grad` a jitted `jax.value_and_grad` of the model's scalar
output, both compiled before the timed loop. Each row is warmed up three
times, then timed over N calls (N chosen so that the loop takes about 0.5 s,
from 10 to 5000) with Python's garbage collector off, each call ending in
`jax.block_until_ready`. Data are drawn with `numpy`'s seeded generator:
the Rust benchmark's shapes and distributions, not its numbers.

To pin XLA to one thread on one core, as `compare_with_jax.sh --pinned` does:

    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \\
        taskset -c 0 ~/.jaxref/bin/python scripts/bench_workloads_jax.py
"""

import argparse
import gc
import json
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import jax.random as jr  # noqa: E402
import numpy as np  # noqa: E402

import jaxpurify as jp  # noqa: E402
from jaxpurify import purify  # noqa: E402

LN_2PI = float(np.log(2 * np.pi))


def make_mixture(d, k, n):
    strictly_lower = np.tril(np.ones((d, d)), -1)
    eye = np.eye(d)

    def model():
        x = jp.fixed((n, d), name="x")
        means = jp.param((k, d), name="means")
        log_diag = jp.param((k, d), name="log_diag")
        off_diag = jp.param((k, d, d), name="off_diag")
        logits = jp.param(k, name="logits")
        factor = off_diag * strictly_lower + jnp.exp(log_diag)[:, :, None] * eye
        diff = x[None, :, :] - means[:, None, :]
        z = diff @ factor
        log_norm = jnp.sum(log_diag, axis=1) + jax.nn.log_softmax(logits) - 0.5 * d * LN_2PI
        log_p = -0.5 * jnp.sum(z**2, axis=-1) + log_norm[:, None]
        return jnp.sum(jax.scipy.special.logsumexp(log_p, axis=0))

    return model


def make_glm(rows, cols):
    def model():
        x = jp.fixed((rows, cols), name="x")
        y = jp.fixed(rows, name="y")
        beta = jp.param(cols, name="beta")
        intercept = jp.param((), name="intercept")
        eta = x @ beta + intercept
        return jnp.sum(y * eta - jax.nn.softplus(eta))

    return model


def make_hierarchical(groups):
    def model():
        mu = jp.normal_variable("mu", mean=0.0, sigma=5.0)
        tau = jp.log_normal_variable("tau", mean=5.0, sigma=5.0)
        eta = jp.param(groups, name="eta")
        theta = jp.intermediate(mu + tau * eta, name="theta")
        y = jp.fixed(groups, name="y")
        sigma = jp.fixed(groups, name="sigma")
        return jnp.sum(jax.scipy.stats.norm.logpdf(y, theta, sigma))

    return model


def frequency_magnitude(dims):
    k2 = np.zeros(dims)
    for axis, n in enumerate(dims):
        shape = [1] * len(dims)
        shape[axis] = n
        k2 = k2 + np.fft.fftfreq(n).reshape(shape) ** 2
    k = np.sqrt(k2)
    k[(0,) * len(dims)] = np.inf
    return k


def make_field(dims):
    k = frequency_magnitude(dims)

    def model():
        alpha = -jp.log_normal_variable("alpha", mean=3.0, sigma=0.1)
        amplitude = jnp.sqrt(k**alpha)
        xi = jp.param(dims, name="xi")
        field = jp.intermediate(jnp.exp(jnp.fft.ifftn(amplitude * xi).real), name="field")
        data = jp.fixed(dims, name="data")
        return -0.5 * jnp.sum((field - data) ** 2)

    return model


def workloads(rng):
    """(model, size, model function, fixed arrays) of every timed case."""
    for d, k, n in [(2, 5, 1000), (5, 20, 10_000), (20, 50, 10_000)]:
        yield "mixture", f"d={d} k={k} n={n}", make_mixture(d, k, n), {"x": 2.0 * rng.standard_normal((n, d))}
    for rows, cols in [(10_000, 10), (100_000, 50), (1_000_000, 10)]:
        x = rng.standard_normal((rows, cols)) / np.sqrt(cols)
        y = (rng.uniform(size=rows) < 0.5).astype(np.float64)
        yield "glm", f"rows={rows} cols={cols}", make_glm(rows, cols), {"x": x, "y": y}
    for groups in [8, 48, 98]:
        fixed = {"y": 10.0 * rng.standard_normal(groups), "sigma": rng.uniform(5.0, 15.0, groups)}
        yield "hierarchical", f"params={groups + 2}", make_hierarchical(groups), fixed
    for dims in [(128, 128), (512, 512), (64, 64, 64)]:
        data = 1.0 + 0.5 * rng.standard_normal(dims)
        yield "lognormal_field", "x".join(map(str, dims)), make_field(dims), {"data": data}


def steady(rows, model, size, measurement, fn, target_s):
    """Median, p10 and p90 of `fn` over calls that take about `target_s` in all."""
    for _ in range(3):
        jax.block_until_ready(fn())
    start = time.perf_counter()
    jax.block_until_ready(fn())
    estimate = max(time.perf_counter() - start, 1e-7)
    n = int(min(max(target_s / estimate, 10), 5000))
    times = [0.0] * n
    gc.collect()
    gc.disable()
    try:
        for i in range(n):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[i] = time.perf_counter() - start
    finally:
        gc.enable()
    t = np.asarray(times) * 1e6
    row = {
        "model": model,
        "size": size,
        "measurement": measurement,
        "median_us": float(np.median(t)),
        "p10_us": float(np.percentile(t, 10)),
        "p90_us": float(np.percentile(t, 90)),
        "n": n,
    }
    rows.append(row)
    print(f"  {model:<16} {size:<22} {measurement:<22} {row['median_us']:>12.1f} "
          f"({row['p10_us']:.1f}-{row['p90_us']:.1f}) n={n}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="target/jax_workloads.json")
    ap.add_argument("--target-s", type=float, default=0.5)
    ap.add_argument("--only", default=None, help="comma list of models: mixture,glm,hierarchical,lognormal_field")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = []
    print(f"jax {jax.__version__}, XLA_FLAGS={os.environ.get('XLA_FLAGS')}, "
          f"cpus {sorted(os.sched_getaffinity(0))}", flush=True)
    for name, size, make, fixed in workloads(np.random.default_rng(0)):
        if only is not None and name not in only:
            continue
        model = purify(make)
        params = jax.block_until_ready(model.normal(jr.key(0)))
        fixed = {key: jnp.asarray(value) for key, value in fixed.items()}
        forward = jax.jit(model)
        steady(rows, name, size, "c_jit_forward", lambda: forward(params, **fixed), args.target_s)
        value_and_grad = jax.jit(jax.value_and_grad(lambda p, fx: model(p, **fx)))
        steady(rows, name, size, "d_jit_value_and_grad", lambda: value_and_grad(params, fixed), args.target_s)
    meta = {
        "jax": jax.__version__,
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "sched_affinity_cpus": sorted(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "loadavg": open("/proc/loadavg").read().strip(),
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "units": "microseconds (wall clock, perf_counter, after block_until_ready)",
    }
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
