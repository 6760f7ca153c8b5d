#!/usr/bin/env bash
# Builds the firmware example (examples/firmware) with semihosting and runs it on an emulated
# Cortex-M4 board (ARM MPS2 AN386) under QEMU. Exit 0 when the firmware reports that it opened
# the embedded envelope, found the expected plaintext and refused a tampered copy; non-zero
# otherwise. Not part of CI. Needs `qemu-system-arm` (Debian: apt-get install qemu-system-arm).
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
if ! command -v qemu-system-arm >/dev/null; then
  echo "qemu-system-arm not found; install it (Debian: apt-get install qemu-system-arm)" >&2
  exit 2
fi
rustup target add "$target" >/dev/null 2>&1 || true
cargo build --release --manifest-path examples/firmware/Cargo.toml --target "$target" \
  --features semihosting
elf=examples/firmware/target/$target/release/medsec-firmware-example
size -A "$elf" | grep -E '^\.(vector_table|text|rodata|data|bss) ' || true
# -semihosting-config target=native: semihosting calls go to QEMU itself (console + exit code).
timeout 60 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
  -serial none -semihosting-config enable=on,target=native -kernel "$elf"
