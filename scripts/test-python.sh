#!/usr/bin/env bash
# The Python suite: builds the extension into python/.venv (created when
# missing), then runs stubtest, mypy --strict on the typed example, and pytest.
# Works on a fresh machine with python3 and a Rust toolchain.
# Usage: bash scripts/test-python.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

# Share the Rust build with `cargo test`.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

venv="$root/python/.venv"
if [ ! -x "$venv/bin/python" ]; then
    echo "-- creating $venv"
    "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
unset CONDA_PREFIX

echo "-- installing build and test tools"
"$py" -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt

# The variant pip installs on this Python: the abi3-py310 wheel from 3.10 on
# (test-packages.sh runs the suite on the cp39-abi3 wheel under 3.9).
features=()
if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    features=(--no-default-features --features abi3-py310)
fi
echo "-- building postpolicy._native (maturin develop ${features[*]})"
(cd python && maturin develop --quiet "${features[@]}")

echo "-- stubtest: python/postpolicy/_native.pyi against the built module"
(cd python && "$py" -m mypy.stubtest postpolicy._native --allowlist stubtest-allowlist.txt)

echo "-- mypy --strict: the typed examples (and the tests) against the package"
(cd python && "$py" -m mypy --strict examples tests benchmarks)

echo "-- pytest"
cd python
"$py" -m pytest "$@"
