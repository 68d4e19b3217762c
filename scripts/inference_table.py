#!/usr/bin/env python3
"""The inference table of `docs/performance.md`: `benches/inference.rs`
beside `scripts/bench_numpyro.py`, from one sitting.

    python3 scripts/inference_table.py collect LABEL     # criterion -> target/inference_LABEL.json
    python3 scripts/inference_table.py table default pinned

`collect` reads criterion's results for the `eight_schools` and `gp_map`
groups and the ESS the benchmark wrote (`target/inference_ess.json`);
`table` prints, for each label, ours beside numpyro's and scipy's rows in
`target/numpyro_LABEL.json`. ESS per second divides the bulk ESS of one
run at the benchmark's seed by the median wall time (numpyro's without its
compile). Only the standard library is needed.
"""
import json
import os
import sys


def criterion_row(group, bench):
    # Criterion writes a function id's "/" as "_" in its directory name.
    new_dir = os.path.join("target", "criterion", group, bench.replace("/", "_"), "new")
    with open(os.path.join(new_dir, "estimates.json")) as fh:
        estimates = json.load(fh)
    with open(os.path.join(new_dir, "sample.json")) as fh:
        sample = json.load(fh)
    per_iteration = sorted(t / i / 1e3 for t, i in zip(sample["times"], sample["iters"]))
    pick = lambda q: per_iteration[min(len(per_iteration) - 1, int(q * (len(per_iteration) - 1) + 0.5))]
    return {
        "median_us": estimates["median"]["point_estimate"] / 1e3,
        "p10_us": pick(0.1),
        "p90_us": pick(0.9),
        "n": len(per_iteration),
    }


def collect(label):
    with open("target/inference_ess.json") as fh:
        ess = json.load(fh)
    rows = {
        "nuts": dict(criterion_row("eight_schools", "nuts_4x1000"), **ess),
        "log_density_and_grad": criterion_row("eight_schools", "log_density_and_grad"),
    }
    for n in (60, 200):
        rows[f"gp_map_{n}"] = criterion_row("gp_map", f"lbfgs_with_compile/{n}")
    rows["loadavg"] = open("/proc/loadavg").read().strip()
    with open(f"target/inference_{label}.json", "w") as fh:
        json.dump(rows, fh, indent=1)
    print(f"wrote target/inference_{label}.json")


def seconds(us):
    return f"{us / 1e6:.3f}"


def table(labels):
    print("| setting | run | wall time, s (p10-p90) | compile, s | ESS mu | ESS tau | ESS/s mu | ESS/s tau | ours / numpyro ESS/s (mu, tau) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in labels:
        with open(f"target/inference_{label}.json") as fh:
            ours = json.load(fh)
        with open(f"target/numpyro_{label}.json") as fh:
            python = {r["measurement"]: r for r in json.load(fh)["rows"]}
        nuts = ours["nuts"]
        mine = [nuts["mu_ess_bulk"] / (nuts["median_us"] / 1e6), nuts["tau_ess_bulk"] / (nuts["median_us"] / 1e6)]
        print(f"| {label} | ours | {seconds(nuts['median_us'])} ({seconds(nuts['p10_us'])}-{seconds(nuts['p90_us'])}) | in the run "
              f"| {nuts['mu_ess_bulk']:.0f} | {nuts['tau_ess_bulk']:.0f} | {mine[0]:.0f} | {mine[1]:.0f} | |")
        for method in ("parallel", "vectorized"):
            row = python[f"numpyro_nuts_{method}"]
            theirs = [row["mu_ess_bulk"] / (row["median_us"] / 1e6), row["tau_ess_bulk"] / (row["median_us"] / 1e6)]
            print(f"| {label} | numpyro {method} | {seconds(row['median_us'])} ({seconds(row['p10_us'])}-{seconds(row['p90_us'])}) "
                  f"| {seconds(row['compile_us'])} | {row['mu_ess_bulk']:.0f} | {row['tau_ess_bulk']:.0f} | {theirs[0]:.0f} | {theirs[1]:.0f} "
                  f"| {mine[0] / theirs[0]:.1f}, {mine[1] / theirs[1]:.1f} |")
    print()
    print("| setting | GP MAP, n | ours, ms (p10-p90) | scipy L-BFGS-B + jax, ms (p10-p90) | ours / scipy |")
    print("|---|---|---|---|---|")
    for label in labels:
        with open(f"target/inference_{label}.json") as fh:
            ours = json.load(fh)
        with open(f"target/numpyro_{label}.json") as fh:
            python = {(r["model"], r["size"]): r for r in json.load(fh)["rows"]}
        for n in (60, 200):
            mine, theirs = ours[f"gp_map_{n}"], python[("gp_map", n)]
            ms = lambda r: f"{r['median_us'] / 1e3:.2f} ({r['p10_us'] / 1e3:.2f}-{r['p90_us'] / 1e3:.2f})"
            print(f"| {label} | {n} | {ms(mine)} | {ms(theirs)} | {mine['median_us'] / theirs['median_us']:.3f} |")


if __name__ == "__main__":
    if sys.argv[1] == "collect":
        collect(sys.argv[2])
    else:
        table(sys.argv[2:])
