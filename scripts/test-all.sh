#!/usr/bin/env bash
# Runs every test: unit, integration, doc tests, known-answer vectors, cross-implementation
# checks against Python libraries, and the PostgreSQL-backed tests (throwaway clusters).
set -euo pipefail
cd "$(dirname "$0")/.."
# Independent implementations (PyPI) used by cross-implementation tests.
bash scripts/python-env.sh
export MEDSEC_PYTHON="$PWD/.venv/bin/python"
# Benches are compiled by clippy in CI but not run here (their setups are sized for release).
cargo test --workspace --all-features --lib --bins --tests --examples
cargo test --workspace --all-features --doc
