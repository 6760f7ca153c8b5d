#!/usr/bin/env bash
# Evaluation part: access tokens (medsec-token). Called by scripts/evaluate.sh with CLI and WORK.
set -euo pipefail
step() { printf '\n== %s\n' "$*"; }
expect_exit() { local want=$1; shift; set +e; "$@"; local got=$?; set -e
  [ "$got" = "$want" ] || { echo "FAILED: expected exit $want, got $got: $*" >&2; exit 1; }; }

step "Role-scoped tokens: an Ed25519 issuer key; the device holds only the public key"
"$CLI" token keygen --out "$WORK/issuer" >/dev/null
"$CLI" token mint --key "$WORK/issuer" --role patient --subject alice --audience pump-0042 --ttl 3600 > "$WORK/patient.tok"
echo "patient token: $(wc -c < "$WORK/patient.tok") bytes (COSE_Sign1 CWT)"
step "Verify offline on the device: claims and scopes (maintenance data only, no raw readings)"
"$CLI" token verify --key "$WORK/issuer.pub" --audience pump-0042 < "$WORK/patient.tok"
step "Wrong audience, tampered token: rejected (exit 1)"
expect_exit 1 "$CLI" token verify --key "$WORK/issuer.pub" --audience pump-9999 < "$WORK/patient.tok"
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[len(b)//2]^=1; sys.stdout.buffer.write(b)" "$WORK/patient.tok" > "$WORK/tampered.tok"
expect_exit 1 "$CLI" token verify --key "$WORK/issuer.pub" --audience pump-0042 < "$WORK/tampered.tok"
step "A patient token cannot be minted with clinician scopes (exit 1)"
expect_exit 1 "$CLI" token mint --key "$WORK/issuer" --role patient --subject alice --audience pump-0042 --ttl 60 --scope readings/raw:read
step "A clinician token for raw readings of one patient"
"$CLI" token mint --key "$WORK/issuer" --role clinician --subject dr-lee --audience clinic-api --ttl 900 --patient p-7f3a9c \
  --scope readings/raw:read --scope readings/export:export > "$WORK/clinician.tok"
"$CLI" token verify --key "$WORK/issuer.pub" --audience clinic-api < "$WORK/clinician.tok" | grep -E '"(role|patient)"'
