#!/usr/bin/env bash
# The evaluation: drives `medsec-cli` through its contracts with embedded defaults, on a fresh
# machine, with no external services. Each step prints what it shows; any unexpected result
# stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example medsec-cli --quiet
CLI="${CARGO_TARGET_DIR:-target}/release/examples/medsec-cli"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }
expect_exit() { # expect_exit CODE cmd...
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  if [ "$got" != "$want" ]; then echo "FAILED: expected exit $want, got $got: $*" >&2; exit 1; fi
}

step "Envelope encryption: a keyring with one primary key-encryption key"
"$CLI" keyring new --out "$work/keyring"
"$CLI" keyring list --keyring "$work/keyring"

step "Seal a reading, bound to a patient pseudonym (not stored) and a record kind (stored)"
printf 'glucose 5.4 mmol/L 2026-11-29T07:30Z' > "$work/reading.txt"
"$CLI" seal --keyring "$work/keyring" --context patient=p-7f3a9c --stored-context record-kind=cgm \
  --in "$work/reading.txt" --out "$work/reading.env"
echo "envelope: $(wc -c < "$work/reading.env") bytes; pseudonym in clear? $(grep -c p-7f3a9c "$work/reading.env" || true)"

step "Open with the expected context"
"$CLI" open --keyring "$work/keyring" --context patient=p-7f3a9c --context record-kind=cgm --in "$work/reading.env"; echo

step "Open with another patient's context: refused (exit 1)"
expect_exit 1 "$CLI" open --keyring "$work/keyring" --context patient=p-000000 --context record-kind=cgm --in "$work/reading.env"

step "Tamper with one bit: refused (exit 1)"
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-1]^=1; open(sys.argv[2],'wb').write(b)" \
  "$work/reading.env" "$work/tampered.env"
expect_exit 1 "$CLI" open --keyring "$work/keyring" --context patient=p-7f3a9c --context record-kind=cgm --in "$work/tampered.env"

step "Rotate the KEK, re-wrap the envelope (body untouched), destroy the old KEK"
old=$("$CLI" keyring list --keyring "$work/keyring" | awk '$2=="primary"{print $1}')
"$CLI" keyring rotate --keyring "$work/keyring" >/dev/null
"$CLI" rewrap --keyring "$work/keyring" --context patient=p-7f3a9c --context record-kind=cgm \
  --in "$work/reading.env" --out "$work/rewrapped.env"
"$CLI" keyring destroy --keyring "$work/keyring" --key-id "$old"
"$CLI" keyring list --keyring "$work/keyring"
expect_exit 1 "$CLI" open --keyring "$work/keyring" --context patient=p-7f3a9c --context record-kind=cgm --in "$work/reading.env"
echo "old envelope: unrecoverable (crypto-shredded)"
"$CLI" open --keyring "$work/keyring" --context patient=p-7f3a9c --context record-kind=cgm --in "$work/rewrapped.env"; echo

step "A device seals an export to the backend's public key (HPKE) in 16 KiB chunks"
"$CLI" recipient keygen --out "$work/backend" --id backend-2026
head -c 3000000 /dev/urandom > "$work/export.bin"
"$CLI" seal --recipient "$work/backend.pub" --stream --context device=pump-0042 --in "$work/export.bin" --out "$work/export.env"
"$CLI" open --recipient-key "$work/backend" --context device=pump-0042 --in "$work/export.env" --out "$work/export.out"
cmp "$work/export.bin" "$work/export.out" && echo "3 MB export: round trip ok"
head -c 1000000 "$work/export.env" > "$work/export-cut.env"
expect_exit 1 "$CLI" open --recipient-key "$work/backend" --context device=pump-0042 --in "$work/export-cut.env" --out "$work/cut.out"
echo "truncated export: refused, no partial output file: $([ -e "$work/cut.out" ] && echo present || echo absent)"

step "The backend rotates its key pair: re-address the export (body untouched), retire the old key"
"$CLI" recipient keygen --out "$work/backend-2027" --id backend-2027
"$CLI" rewrap --recipient-key "$work/backend" --to-recipient "$work/backend-2027.pub" --retire backend-2026 \
  --context device=pump-0042 --in "$work/export.env" --out "$work/export-2027.env"
cmp <(tail -c 1000000 "$work/export.env") <(tail -c 1000000 "$work/export-2027.env") && echo "last 1 MB of the body: byte-identical"
"$CLI" open --recipient-key "$work/backend-2027" --context device=pump-0042 --in "$work/export-2027.env" --out "$work/export-2027.out"
cmp "$work/export.bin" "$work/export-2027.out" && echo "new key opens the rotated export"
expect_exit 1 "$CLI" open --recipient-key "$work/backend" --context device=pump-0042 --in "$work/export-2027.env" --out "$work/old.out"
echo "retired key: refused"

step "A break-glass custodian appointed later is added to the existing export"
"$CLI" recipient keygen --out "$work/custodian" --id custodian
"$CLI" rewrap --recipient-key "$work/backend-2027" --add-recipient "$work/custodian.pub" \
  --context device=pump-0042 --in "$work/export-2027.env" --out "$work/export-custodian.env"
for key in custodian backend-2027; do
  "$CLI" open --recipient-key "$work/$key" --context device=pump-0042 --in "$work/export-custodian.env" --out "$work/$key.out"
  cmp "$work/export.bin" "$work/$key.out" && echo "$key opens the export"
done

# Later issues add their sections below (credentials, tokens, sessions).
if [ -f scripts/evaluate.d/order ]; then
  while read -r part; do
    [ -n "$part" ] && CLI="$CLI" WORK="$work" bash "scripts/evaluate.d/$part"
  done < scripts/evaluate.d/order
fi

printf '\nevaluation: all steps behaved as expected\n'
