#!/usr/bin/env bash
# Evaluation part: passwords (medsec-credential). Called by scripts/evaluate.sh with CLI and WORK.
set -euo pipefail
step() { printf '\n== %s\n' "$*"; }
expect_exit() { local want=$1; shift; set +e; "$@"; local got=$?; set -e
  [ "$got" = "$want" ] || { echo "FAILED: expected exit $want, got $got: $*" >&2; exit 1; }; }

step "Password policy (NIST SP 800-63B): too short, or built on a context word -> rejected (exit 1)"
printf 'password123' | expect_exit 1 "$CLI" password check
printf 'st-marys-clinic-2026-alice' | expect_exit 1 "$CLI" password check --context st-marys-clinic
step "A long passphrase is accepted (exit 0)"
printf 'violet kettle under the stairs' | "$CLI" password check && echo accepted
step "Argon2id (server preset, m=19 MiB t=2 p=1): hash, verify, wrong password (exit 1)"
phc=$(printf 'violet kettle under the stairs' | "$CLI" password hash --preset server)
echo "$phc"
printf 'violet kettle under the stairs' | "$CLI" password verify "$phc" && echo "match"
printf 'violet kettle under the chair' | expect_exit 1 "$CLI" password verify "$phc"
step "A stored hash with absurd cost parameters is refused before any work (exit 1)"
printf 'x' | expect_exit 1 "$CLI" password verify '$argon2id$v=19$m=4294967295,t=4294967295,p=255$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY'
