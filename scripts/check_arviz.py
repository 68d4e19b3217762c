"""Reads Stan CSV files written by the Rust runtime with ArviZ and checks them.

Write the files first with

    cargo test -p jaxpurify-runtime write_files_for_arviz -- --ignored

(four chains of 25 draws in `target/stan_csv_check/check_{1..4}.csv`, from
`jaxpurify-runtime/src/infer/stan_csv_tests.rs`), then run
`~/.jaxref/bin/python scripts/check_arviz.py`. It reads them with
`arviz.from_cmdstan` and checks every variable's shape and every value
against the formula the Rust test used: element `e` (row-major position in
the draw) of draw `d` of chain `c` is `1000 c + d + e / 4`, and the sampler
statistics of draw `d`.
"""

import pathlib
import sys

import arviz as az
import numpy as np

# name, shape, offset of the leaf in a draw (row-major), as in the Rust layout
LEAVES = [("mu", (), 0), ("theta", (3,), 1), ("a", (2, 3), 4), ("field__xi", (2,), 10), ("b", (2, 1, 2), 12)]
CHAINS, DRAWS = 4, 25


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    files = sorted(str(p) for p in (root / "target" / "stan_csv_check").glob("check_*.csv"))
    if len(files) != CHAINS:
        sys.exit("run the ignored Rust test write_files_for_arviz first")
    data = az.from_cmdstan(posterior=files)
    post, stats = data.posterior, data.sample_stats
    c = np.arange(CHAINS).reshape(-1, 1)
    d = np.arange(DRAWS).reshape(1, -1)
    for name, shape, offset in LEAVES:
        values = post[name].values
        assert values.shape == (CHAINS, DRAWS, *shape), (name, values.shape)
        size = int(np.prod(shape, dtype=int))
        position = offset + np.arange(size).reshape(shape)
        expected = (1000.0 * c + d).reshape(CHAINS, DRAWS, *([1] * len(shape))) + 0.25 * position
        assert np.array_equal(values, expected), name
    assert np.array_equal(stats["lp"].values, np.broadcast_to(-3.5 - d, (CHAINS, DRAWS)))
    assert np.array_equal(stats["n_steps"].values, np.broadcast_to(7 + d, (CHAINS, DRAWS)))
    assert np.array_equal(stats["diverging"].values, np.broadcast_to(d % 2 == 1, (CHAINS, DRAWS)))
    assert np.all(stats["tree_depth"].values == 3)
    assert np.all(stats["step_size"].values == 0.1)
    assert np.array_equal(stats["energy"].values, np.broadcast_to(4.0 + 0.5 * d, (CHAINS, DRAWS)))
    print(az.summary(data, var_names=["mu", "a"], kind="stats"))
    print(f"ArviZ {az.__version__} read {len(files)} files: every shape and value as written")


if __name__ == "__main__":
    main()
