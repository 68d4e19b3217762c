#!/usr/bin/env bash
# Inference end to end beside numpyro and scipy, in one sitting, both on
# the machine's default threads and with both sides pinned to one core:
# eight schools by NUTS (wall time, ESS per second, numpyro's compile time
# apart) and the GP of `gp_hyperparameters` by L-BFGS (compile included).
#
#   scripts/compare_with_numpyro.sh            # from the project root
#
# Creates the venv ~/.jaxref on first use (PyPI must be reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${JAXREF_VENV:-$HOME/.jaxref}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jax, numpyro, arviz, scipy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet jax numpyro arviz scipy numpy
fi
mkdir -p target
echo "load average before: $(cat /proc/loadavg)"

# Default threads: rayon and XLA as they come.
cargo bench --bench inference
python3 scripts/inference_table.py collect default
"$venv/bin/python" scripts/bench_numpyro.py --out target/numpyro_default.json

# Pinned: both sides on core 0, one thread each.
RAYON_NUM_THREADS=1 taskset -c 0 cargo bench --bench inference
python3 scripts/inference_table.py collect pinned
XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
    taskset -c 0 "$venv/bin/python" scripts/bench_numpyro.py --out target/numpyro_pinned.json

echo "load average after: $(cat /proc/loadavg)"
python3 scripts/inference_table.py table default pinned
