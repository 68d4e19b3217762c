#!/usr/bin/env python3
"""The Python side of `benches/inference.rs`, in float64 on the CPU:

* eight schools, non-centred, with numpyro's NUTS: 4 chains of 1000
  warm-up and 1000 draws. The first run includes tracing and compiling;
  the later runs reuse the compiled sampler, so their median is the
  sampling time, and the first minus it is the compile time. The bulk ESS
  of `mu` and `tau` comes from ArviZ. Both of numpyro's chain methods are
  timed: `parallel` (one XLA device per chain) and `vectorized`.
* the GP of the `gp_hyperparameters` example: MAP by
  `scipy.optimize.minimize(method="L-BFGS-B")` on `jax.value_and_grad` of
  the same whitened log density, on the data the Rust benchmark wrote to
  `target/gp_map_data_N.json`. The first fit includes `jax.jit`'s compile;
  later fits reuse it.

    python scripts/bench_numpyro.py --out target/numpyro_bench.json [--repeats 5]

Rows are `{model, size, measurement, median_us, p10_us, p90_us, n}` plus
extra fields, as `bench-reference/bench_jax.py` writes them.
"""
import argparse
import json
import os
import statistics
import time

# One XLA device per chain for numpyro's `parallel` chain method.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

import arviz as az  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from numpyro.infer import MCMC, NUTS  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def eight_schools(sigma, y=None):
    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
    with numpyro.plate("school", 8):
        theta_tilde = numpyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        theta = numpyro.deterministic("theta", mu + tau * theta_tilde)
        numpyro.sample("obs", dist.Normal(theta, sigma), obs=y)


def percentiles(times):
    ordered = sorted(times)
    return {
        "median_us": statistics.median(ordered) * 1e6,
        "p10_us": float(np.percentile(ordered, 10)) * 1e6,
        "p90_us": float(np.percentile(ordered, 90)) * 1e6,
        "n": len(ordered),
    }


def time_nuts(chain_method, repeats):
    mcmc = MCMC(
        NUTS(eight_schools),
        num_warmup=1000,
        num_samples=1000,
        num_chains=4,
        chain_method=chain_method,
        progress_bar=False,
        # Keeps the compiled sampler for later runs with arguments of the
        # same shapes.
        jit_model_args=True,
    )
    times = []
    for seed in range(repeats + 1):
        started = time.perf_counter()
        mcmc.run(jax.random.PRNGKey(seed), SIGMA, y=Y)
        jax.block_until_ready(mcmc.get_samples())
        times.append(time.perf_counter() - started)
    data = az.from_numpyro(mcmc)
    ess = az.ess(data, method="bulk")
    divergences = int(np.sum(mcmc.get_extra_fields()["diverging"]))
    first, warm = times[0], times[1:]
    row = {"model": "eight_schools", "size": 4000, "measurement": f"numpyro_nuts_{chain_method}"}
    row.update(percentiles(warm))
    row.update(
        {
            "first_run_us": first * 1e6,
            "compile_us": (first - statistics.median(warm)) * 1e6,
            "mu_ess_bulk": float(ess["mu"]),
            "tau_ess_bulk": float(ess["tau"]),
            "divergences": divergences,
        }
    )
    return row


def log_normal(xi, mean, sigma):
    """NIFTy's log-normal from a whitened xi, as `priors::LogNormal`."""
    log_variance = np.log1p((sigma / mean) ** 2)
    s = np.sqrt(log_variance)
    mu = np.log(mean) - 0.5 * log_variance
    return jnp.exp(mu + s * xi)


def gp_negative_log_density(z, x, y):
    amplitude = log_normal(z[0], 1.0, 1.0)
    length = log_normal(z[1], 2.0, 1.5)
    noise = log_normal(z[2], 0.5, 0.5)
    n = x.shape[0]
    d = x[:, None] - x[None, :]
    k = amplitude**2 * jnp.exp(-(d**2) / (2.0 * length**2)) + noise**2 * jnp.eye(n)
    chol = jnp.linalg.cholesky(k)
    alpha = jax.scipy.linalg.solve_triangular(chol, y, lower=True)
    log_likelihood = -0.5 * alpha @ alpha - jnp.sum(jnp.log(jnp.diag(chol))) - 0.5 * n * jnp.log(2.0 * jnp.pi)
    return -(log_likelihood - 0.5 * z @ z)


def time_gp_map(n, repeats):
    with open(f"target/gp_map_data_{n}.json") as fh:
        data = json.load(fh)
    x, y = jnp.asarray(data["x"]), jnp.asarray(data["y"])

    def fit():
        value_and_grad = jax.jit(jax.value_and_grad(lambda z: gp_negative_log_density(z, x, y)))

        def fun(z):
            value, grad = value_and_grad(jnp.asarray(z))
            return float(value), np.asarray(grad, dtype=np.float64)

        started = time.perf_counter()
        result = minimize(fun, np.zeros(3), jac=True, method="L-BFGS-B")
        return time.perf_counter() - started, result

    times, results = [], []
    for _ in range(repeats):
        jax.clear_caches()
        elapsed, result = fit()
        times.append(elapsed)
        results.append(result)
    row = {"model": "gp_map", "size": n, "measurement": "scipy_lbfgsb_with_compile"}
    row.update(percentiles(times))
    best = results[-1]
    row.update({"nit": int(best.nit), "nfev": int(best.nfev), "fun": float(best.fun), "success": bool(best.success)})
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="target/numpyro_bench.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = [time_nuts(method, args.repeats) for method in ("parallel", "vectorized")]
    rows += [time_gp_map(n, args.repeats) for n in (60, 200)]
    meta = {"jax": jax.__version__, "numpyro": numpyro.__version__, "arviz": az.__version__, "devices": len(jax.devices())}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
