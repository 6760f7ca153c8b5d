#!/usr/bin/env bash
# Creates .venv with the independent implementations used by cross-implementation tests.
set -euo pipefail
cd "$(dirname "$0")/.."
want="cryptography argon2-cffi pycose cbor2<6"
if [ -x .venv/bin/python ] && .venv/bin/python -c "import cryptography, argon2, pycose, cbor2" 2>/dev/null; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check $want
.venv/bin/python -c "import cryptography, argon2, pycose, cbor2; print('python cross-check env ready')"
