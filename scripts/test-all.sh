#!/usr/bin/env bash
# Runs every test: unit, integration, doc tests, known-answer vectors, cross-implementation
# checks against Python libraries, and the PostgreSQL-backed tests (throwaway clusters).
set -euo pipefail
cd "$(dirname "$0")/.."
# Independent implementations (PyPI) used by cross-implementation tests.
bash scripts/python-env.sh
export MEDSEC_PYTHON="$PWD/.venv/bin/python"
cargo test --workspace --all-features --all-targets
cargo test --workspace --all-features --doc
