#!/usr/bin/env bash
# Times the reference models with the original Python/JAX library and with
# this crate on the same machine, one after the other, and prints the
# medians side by side (last column: ours / JAX).
#
#   scripts/compare_with_jax.sh            # from the project root
#
# Expects the JAX reference scripts in ../shared/bench-reference beside the
# project, or wherever BENCH_REFERENCE points. Creates the venv ~/.jaxref on
# first use (PyPI must be reachable). Extra arguments are passed to
# bench_jax.py (e.g. --only tiny,mlp).
#
# Then the Gaussian-process likelihood (benches/gp_nlml.rs beside
# scripts/bench_gp_nlml_jax.py) twice: on the machine's default threads,
# and with both sides pinned to one core (taskset -c 0; XLA without its
# thread pool, RAYON_NUM_THREADS=1 for ours). SKIP_GP=1 skips it,
# SKIP_REFERENCE=1 the reference models.
set -euo pipefail
cd "$(dirname "$0")/.."
reference="${BENCH_REFERENCE:-../shared/bench-reference}"
if [ ! -f "$reference/bench_jax.py" ]; then
    echo "no bench_jax.py in $reference; set BENCH_REFERENCE to its directory" >&2
    exit 1
fi
venv="${JAXREF_VENV:-$HOME/.jaxref}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jax, jaxpurify, numpy, scipy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet jax jaxpurify numpy scipy
fi
mkdir -p target
echo "load average before: $(cat /proc/loadavg)"

if [ -z "${SKIP_REFERENCE:-}" ]; then
    "$venv/bin/python" "$reference/bench_jax.py" --skip-slow-vmap --no-cold \
        --out target/jax_baseline.json "$@"

    # Results of removed or renamed benchmarks must not linger in the table.
    for model in tiny gp_readme gp_example mlp soup; do
        rm -rf "target/criterion/$model"
    done
    cargo bench --bench reference
    echo "load average after the reference models: $(cat /proc/loadavg)"

    python3 scripts/criterion_to_json.py target/criterion target/rust_bench.json
    python3 "$reference/compare_runs.py" target/jax_baseline.json target/rust_bench.json
    echo
    echo "The table of docs/performance.md (medians and p10-p90 in us, ours / JAX):"
    python3 scripts/performance_table.py target/jax_baseline.json target/rust_bench.json
fi

if [ -z "${SKIP_GP:-}" ]; then
    single_thread_xla="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    cargo bench --bench gp_nlml --no-run
    rm -rf target/criterion/gp_nlml target/criterion-pinned/gp_nlml
    echo "GP likelihood, default threads; load average: $(cat /proc/loadavg)"
    "$venv/bin/python" scripts/bench_gp_nlml_jax.py --out target/jax_gp_nlml.json
    cargo bench --bench gp_nlml
    echo "GP likelihood, one core; load average: $(cat /proc/loadavg)"
    XLA_FLAGS="$single_thread_xla" taskset -c 0 "$venv/bin/python" scripts/bench_gp_nlml_jax.py \
        --out target/jax_gp_nlml_pinned.json
    CRITERION_HOME=target/criterion-pinned RAYON_NUM_THREADS=1 taskset -c 0 cargo bench --bench gp_nlml
    echo "load average after: $(cat /proc/loadavg)"
    python3 scripts/criterion_to_json.py target/criterion target/rust_gp_nlml.json gp_nlml
    python3 scripts/criterion_to_json.py target/criterion-pinned target/rust_gp_nlml_pinned.json gp_nlml
    echo
    echo "GP likelihood, default threads (medians and p10-p90 in us, ours / JAX):"
    python3 scripts/performance_table.py target/jax_gp_nlml.json target/rust_gp_nlml.json
    echo
    echo "GP likelihood, both pinned to one core:"
    python3 scripts/performance_table.py target/jax_gp_nlml_pinned.json target/rust_gp_nlml_pinned.json
fi
