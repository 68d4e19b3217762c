#!/usr/bin/env python3
"""The tables of `docs/performance.md` from one sitting: every row this
crate times, beside the JAX row it mirrors, as medians with (p10-p90) in
microseconds and the ratio ours / JAX, on both cores and pinned to one.

    python3 scripts/performance_table.py JAX OURS [JAX_PINNED OURS_PINNED]

Each argument is a JSON file of rows `{model, size, measurement,
median_us, p10_us, p90_us, n}` (the JAX scripts' layout; ours from
`criterion_to_json.py`); several JAX files may be joined with commas. The
reference models come first, as the JAX script orders them; rows without
a JAX counterpart (`*_eager_*`, `h_map_batch_grad`, ...) follow their
model's rows with `-` for JAX. Then the workloads of `benches/workloads.rs`,
one row per model and size with, for each setting, the compiled value and
gradient beside JAX's, the hand-written value and gradient beside ours,
and the ratio of our value and gradient to our value. The JAX script's
rows of its own (`a_purify`, `f_eager_forward`) are left out. Only the
standard library is needed.
"""
import json
import sys

WORKLOADS = ("mixture", "glm", "hierarchical", "lognormal_field")


def load(paths):
    rows = []
    for path in paths.split(","):
        with open(path) as fh:
            rows.extend(r for r in json.load(fh)["rows"] if "median_us" in r)
    return rows


def keyed(rows):
    return {(r["model"], r["size"], r["measurement"]): r for r in rows}


def cell(row):
    """`median (p10-p90)`, with precision for sub-microsecond times."""
    if row is None:
        return "-"
    digits = 2 if row["median_us"] < 10 else 1
    return f"{row['median_us']:.{digits}f} ({row['p10_us']:.{digits}f}-{row['p90_us']:.{digits}f})"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a['median_us'] / b['median_us']:.2f}"


def reference_table(settings, order):
    """The reference models: JAX, ours and the ratio in each setting."""
    names = ["", " 1 core"][: len(settings)]
    head = " | ".join(f"JAX{n} | ours{n} | ratio{n}" for n in names)
    print(f"| model | size | measurement | {head} |")
    print("|---|---|---|" + "---|" * 3 * len(settings))
    for key in order:
        if key[0] in WORKLOADS or key[2].startswith("z_hand"):
            continue
        cells = []
        for jax, ours in settings:
            j, o = jax.get(key), ours.get(key)
            cells += [cell(j), cell(o), ratio(o, j)]
        if any(ours.get(key) for _, ours in settings):
            print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |")


def workload_table(settings, sizes):
    """One row per workload and size: value and gradient beside JAX's and
    the hand-written code's, and beside our value."""
    parts = []
    for name in ["", " 1 core"][: len(settings)]:
        parts.append(f"JAX{name} | ours{name} | ratio{name} | hand{name} | ours / hand{name} | vg / v{name}")
    print("| model | size | " + " | ".join(parts) + " |")
    print("|---|---|" + "---|" * 6 * len(settings))
    for model, size in sizes:
        cells = []
        for jax, ours in settings:
            vg = ours.get((model, size, "d_jit_value_and_grad"))
            value = ours.get((model, size, "c_jit_forward"))
            hand = ours.get((model, size, "z_hand_value_and_grad"))
            jax_vg = jax.get((model, size, "d_jit_value_and_grad"))
            cells += [cell(jax_vg), cell(vg), ratio(vg, jax_vg), cell(hand), ratio(vg, hand), ratio(vg, value)]
        print(f"| {model} | {size} | " + " | ".join(cells) + " |")


def main(paths):
    settings = [(keyed(load(paths[i])), keyed(load(paths[i + 1]))) for i in range(0, len(paths), 2)]
    order = []
    for jax, ours in settings:
        for key in list(jax) + list(ours):
            if key not in order:
                order.append(key)
    # A model's rows together, in the order the JAX script first names it.
    models = list(dict.fromkeys(k[0] for k in order))
    order.sort(key=lambda k: models.index(k[0]))
    reference_table(settings, order)
    sizes = list(dict.fromkeys((k[0], k[1]) for k in order if k[0] in WORKLOADS))
    if sizes:
        print()
        workload_table(settings, sizes)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    main(sys.argv[1:])
