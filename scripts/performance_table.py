#!/usr/bin/env python3
"""The table of `docs/performance.md` from one sitting: every row this
crate times, beside the JAX row it mirrors, as medians with (p10-p90) in
microseconds and the ratio ours / JAX.

    python3 scripts/performance_table.py target/jax_baseline.json target/rust_bench.json

Rows are ordered as the JAX script times them; rows without a JAX
counterpart (`*_eager_*`, `h_map_batch_grad`, ...) follow their model's
rows with `-` for JAX. The JAX script's rows of its own (`a_purify`,
`f_eager_forward`) are left out. Only the standard library is needed.
"""
import json
import sys


def load(path):
    with open(path) as fh:
        return json.load(fh)["rows"]


def cell(row):
    """`median (p10-p90)`, with precision for sub-microsecond times."""
    digits = 2 if row["median_us"] < 10 else 1
    return f"{row['median_us']:.{digits}f} ({row['p10_us']:.{digits}f}-{row['p90_us']:.{digits}f})"


def main(jax_path, ours_path):
    jax = {(r["model"], r["size"], r["measurement"]): r for r in load(jax_path)}
    ours = load(ours_path)
    keyed = {(r["model"], r["size"], r["measurement"]): r for r in ours}
    print("| model | size | measurement | JAX | ours | ratio |")
    print("|---|---|---|---|---|---|")
    shown = set()
    models = []
    for key in list(jax) + list(keyed):
        if key[0] not in models:
            models.append(key[0])
    for model in models:
        for key, row in jax.items():
            if key[0] == model and key in keyed:
                ratio = keyed[key]["median_us"] / row["median_us"]
                print(f"| {key[0]} | {key[1]} | {key[2]} | {cell(row)} | {cell(keyed[key])} | {ratio:.2f} |")
                shown.add(key)
        for key, row in keyed.items():
            if key[0] == model and key not in shown:
                print(f"| {key[0]} | {key[1]} | {key[2]} | - | {cell(row)} | - |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
