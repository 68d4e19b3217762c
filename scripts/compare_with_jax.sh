#!/usr/bin/env bash
# Times the reference models with the original Python/JAX library and with
# this crate on the same machine, one after the other, and prints the
# medians side by side (last column: ours / JAX).
#
#   scripts/compare_with_jax.sh            # from the project root
#
# Expects the JAX reference scripts in ../shared/bench-reference beside the
# project, or wherever BENCH_REFERENCE points. Creates the venv ~/.jaxref on first use (PyPI must be reachable).
# Extra arguments are passed to bench_jax.py (e.g. --only tiny,mlp).
set -euo pipefail
cd "$(dirname "$0")/.."
reference="${BENCH_REFERENCE:-../shared/bench-reference}"
if [ ! -f "$reference/bench_jax.py" ]; then
    echo "no bench_jax.py in $reference; set BENCH_REFERENCE to its directory" >&2
    exit 1
fi
venv="${JAXREF_VENV:-$HOME/.jaxref}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jax, jaxpurify, numpy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet jax jaxpurify numpy
fi
mkdir -p target
echo "load average before: $(cat /proc/loadavg)"

"$venv/bin/python" "$reference/bench_jax.py" --skip-slow-vmap --no-cold \
    --out target/jax_baseline.json "$@"

# Results of removed or renamed benchmarks must not linger in the table.
for model in tiny gp_readme gp_example mlp soup; do
    rm -rf "target/criterion/$model"
done
cargo bench --bench reference
echo "load average after: $(cat /proc/loadavg)"

python3 scripts/criterion_to_json.py target/criterion target/rust_bench.json
python3 "$reference/compare_runs.py" target/jax_baseline.json target/rust_bench.json
echo
echo "The table of docs/performance.md (medians and p10-p90 in us, ours / JAX):"
python3 scripts/performance_table.py target/jax_baseline.json target/rust_bench.json
