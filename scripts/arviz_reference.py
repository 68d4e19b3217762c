"""Reference diagnostics from ArviZ for the arrays of the Rust tests.

The arrays are drawn in Rust (Xoshiro256++, fixed seeds) by
`jaxpurify-runtime/src/infer/diagnostics_tests.rs`; write them first with

    cargo test -p jaxpurify-runtime write_reference_cases -- --ignored

then run `~/.jaxref/bin/python scripts/arviz_reference.py`, which reads
`target/arviz_cases.txt` and prints the Rust table `REFERENCES` with
ArviZ's mean, sd (ddof 1), 5 % and 95 % quantiles, MCSE of the mean, bulk
and tail ESS and rank-normalised split R-hat of each case.
"""

import pathlib
import sys

import arviz as az
import numpy as np
import scipy


def rust_float(x):
    x = float(x)
    if np.isnan(x):
        return "f64::NAN"
    return repr(x) if ("." in repr(x) or "e" in repr(x)) else repr(x) + ".0"


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    path = root / "target" / "arviz_cases.txt"
    if not path.exists():
        sys.exit(f"{path} is missing: run the ignored Rust test write_reference_cases first")
    print(f"// ArviZ {az.__version__}, NumPy {np.__version__}, SciPy {scipy.__version__}")
    print("// name: mean, sd, q5, q95, mcse_mean, ess_bulk, ess_tail, r_hat")
    print("const REFERENCES: &[(&str, [f64; 8])] = &[")
    for line in path.read_text().splitlines():
        name, chains, *values = line.split()
        ary = np.array([float(v) for v in values]).reshape(int(chains), -1)
        q5, q95 = np.quantile(ary, [0.05, 0.95])
        row = [
            ary.mean(),
            ary.std(ddof=1),
            q5,
            q95,
            az.mcse(ary, method="mean"),
            az.ess(ary, method="bulk"),
            az.ess(ary, method="tail"),
            az.rhat(ary, method="rank"),
        ]
        print(f'    ("{name}", [{", ".join(rust_float(v) for v in row)}]),')
    print("];")


if __name__ == "__main__":
    main()
