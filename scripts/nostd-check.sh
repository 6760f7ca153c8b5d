#!/usr/bin/env bash
# Proves the no_std claims: each core crate builds for a Cortex-M4F target with only the
# features it needs, and the firmware example links.
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
# crate and the minimal features it needs on firmware ("" = none at all).
while read -r crate features; do
  [ -n "$crate" ] || continue
  echo "-- $crate (--no-default-features ${features:+--features $features})"
  cargo build -p "$crate" --target "$target" --no-default-features ${features:+--features "$features"}
done <<'LIST'
medsec-envelope
medsec-envelope alloc
medsec-token
medsec-token alloc
medsec-session
medsec-session alloc
medsec-credential
medsec-credential alloc
LIST
echo "-- firmware example"
cargo build --release --manifest-path examples/firmware/Cargo.toml --target "$target"
