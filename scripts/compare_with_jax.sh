#!/usr/bin/env bash
# Times the reference models, the Gaussian-process likelihood of
# benches/gp_nlml.rs and the workloads of benches/workloads.rs with the
# original Python/JAX library and with this crate on the same machine,
# in one sitting: first each on its default threads, then both pinned to
# one core (XLA single-threaded, RAYON_NUM_THREADS=1), and prints the
# tables of docs/performance.md (ratio: ours / JAX).
#
#   scripts/compare_with_jax.sh            # from the project root
#   PINNED=0 scripts/compare_with_jax.sh   # default threads only
#
# Expects the JAX reference scripts in ../shared/bench-reference beside the
# project, or wherever BENCH_REFERENCE points. Creates the venv ~/.jaxref on
# first use (PyPI must be reachable). Extra arguments are passed to
# bench_jax.py (e.g. --only tiny,mlp).
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
# Built before any timing, so that no sitting waits for the compiler.
cargo bench --bench reference --bench gp_nlml --bench workloads --no-run

one_thread='--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1'
pinned=0
# Runs JAX's command, pinned to one core and one XLA thread when `pinned`.
run_jax() {
    if [ "$pinned" = 1 ]; then XLA_FLAGS="$one_thread" taskset -c 0 "$@"; else "$@"; fi
}
# Runs our command, pinned to one core and one rayon thread when `pinned`.
run_ours() {
    if [ "$pinned" = 1 ]; then RAYON_NUM_THREADS=1 taskset -c 0 "$@"; else "$@"; fi
}

# One sitting in one setting; `$1` names its files.
sitting() {
    local label="$1"
    shift
    echo "== $label: load average before: $(cat /proc/loadavg)"
    run_jax "$venv/bin/python" "$reference/bench_jax.py" --skip-slow-vmap --no-cold \
        --out "target/jax_baseline_$label.json" "$@"
    run_jax "$venv/bin/python" scripts/bench_gp_nlml_jax.py --out "target/jax_gp_nlml_$label.json"
    run_jax "$venv/bin/python" scripts/bench_workloads_jax.py --out "target/jax_workloads_$label.json"
    # Results of removed or renamed benchmarks must not linger in the table.
    for model in tiny gp_readme gp_example mlp soup gp_nlml mixture glm hierarchical lognormal_field; do
        rm -rf "target/criterion/$model"
    done
    run_ours cargo bench --bench reference --bench gp_nlml --bench workloads
    python3 scripts/criterion_to_json.py target/criterion "target/rust_bench_$label.json"
    echo "== $label: load average after: $(cat /proc/loadavg)"
}

sitting default "$@"
tables=(target/jax_baseline_default.json,target/jax_gp_nlml_default.json,target/jax_workloads_default.json target/rust_bench_default.json)
if [ "${PINNED:-1}" != 0 ]; then
    pinned=1
    sitting pinned "$@"
    tables+=(target/jax_baseline_pinned.json,target/jax_gp_nlml_pinned.json,target/jax_workloads_pinned.json target/rust_bench_pinned.json)
fi

python3 "$reference/compare_runs.py" target/jax_baseline_default.json target/rust_bench_default.json
echo
echo "The tables of docs/performance.md (medians and p10-p90 in us, ours / JAX):"
python3 scripts/performance_table.py "${tables[@]}"
