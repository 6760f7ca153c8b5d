#!/usr/bin/env bash
# Short smoke run of every fuzz target. Uses nightly when installed, otherwise stable with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
if rustup toolchain list | grep -q '^nightly'; then
  fuzz() { cargo +nightly fuzz "$@"; }
else
  fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi
cd fuzz
fuzz build -O
for target in $(fuzz list); do
  echo "-- fuzz $target for ${seconds}s"
  mkdir -p "corpus/$target"
  # Checked-in seeds (fuzz/seeds/TARGET) are read as a second corpus directory.
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  fuzz run -O "$target" "corpus/$target" "${seeds[@]}" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | tail -n 3
  # a crash makes `fuzz run` exit non-zero, which fails this script (pipefail)
done
