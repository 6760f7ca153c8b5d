#!/usr/bin/env python3
"""Prints the issue-2 envelope benchmark ratios from the last `cargo bench --bench envelope`.

Reads criterion's output (<target>/criterion/<group>/<function>/<size>/new/{benchmark,estimates}.json),
prints every throughput, then each ratio against its target.

Usage: python3 scripts/bench-ratios.py [CRITERION_DIR] [--stat median|mean] [--check]
  CRITERION_DIR  defaults to $CARGO_TARGET_DIR/criterion, else ./target/criterion
  --stat         which criterion estimate to use (default: median, steadier on a shared machine)
  --check        exit 1 if any target is missed
Standard library only.
"""
import json
import os
import sys
from pathlib import Path

SIZES = {"256B": 256, "4KiB": 4096, "1MiB": 1 << 20}


def load(root: Path, stat: str):
    results = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        ns = est[stat]["point_estimate"]
        key = (meta["group_id"], meta["function_id"], meta["value_str"])
        size = SIZES.get(meta["value_str"])
        results[key] = (ns, size)
    return results


def fmt_rate(bytes_per_ns: float) -> str:
    bps = bytes_per_ns * 1e9
    for unit, div in (("GiB/s", 1 << 30), ("MiB/s", 1 << 20), ("KiB/s", 1 << 10)):
        if bps >= div:
            return f"{bps / div:8.2f} {unit}"
    return f"{bps:8.0f} B/s"


def main() -> int:
    args = [a for a in sys.argv[1:]]
    check = "--check" in args
    stat = "median"
    if "--stat" in args:
        stat = args[args.index("--stat") + 1]
    positional = [a for i, a in enumerate(args)
                  if not a.startswith("--") and (i == 0 or args[i - 1] != "--stat")]
    if positional:
        root = Path(positional[0])
    else:
        root = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    res = load(root, stat)
    if not res:
        print(f"no criterion results under {root}; run `cargo bench --bench envelope` first")
        return 2

    def rate(group, fn, size):
        ns, n = res[(group, fn, size)]
        return n / ns

    print(f"# throughput ({stat} time per operation)")
    for (group, fn, size) in sorted(res, key=lambda k: (k[0], SIZES.get(k[2], 0), k[1])):
        if group.split("-")[0] not in ("seal", "open", "pk"):
            continue
        ns, n = res[(group, fn, size)]
        print(f"{group:12} {size:5} {fn:26} {ns / 1000:12.2f} us {fmt_rate(n / ns)}")

    rows = []  # (label, ratio, target)

    def add(label, num, den, target):
        try:
            rows.append((label, rate(*num) / rate(*den), target))
        except KeyError:
            rows.append((label, None, target))

    for suite in ("gcmsiv", "gcm"):
        for op in ("seal", "open"):
            g = f"{op}-{suite}"
            for prov in ("rustcrypto", "awslc"):
                for size, target in (("1MiB", 0.95), ("4KiB", 0.6), ("256B", None)):
                    add(f"{g} {size} envelope/raw {prov}",
                        (g, f"envelope-{prov}", size), (g, f"raw-{prov}", size), target)
            for prov in ("rustcrypto", "awslc"):
                for size in ("1MiB", "4KiB", "256B"):
                    add(f"{g} {size} envelope-inplace/raw {prov} (info)",
                        (g, f"envelope-{prov}-inplace", size), (g, f"raw-{prov}", size), None)
                for size in ("4KiB", "256B"):
                    add(f"{g} {size} floor/raw {prov} (bound)",
                        (g, f"floor-{prov}", size), (g, f"raw-{prov}", size), None)
                if op == "seal":
                    for size in ("1MiB", "4KiB", "256B"):
                        add(f"{g} {size} sketch-v2/raw {prov} (proposal)",
                            (g, f"sketch-v2-{prov}", size), (g, f"raw-{prov}", size), None)
                        add(f"{g} {size} sketch-lean/raw {prov} (proposal)",
                            (g, f"sketch-lean-{prov}", size), (g, f"raw-{prov}", size), None)
            if op == "open":
                for prov in ("rustcrypto", "awslc"):
                    for size in ("1MiB", "4KiB"):
                        add(f"{g} {size} envelope-nowipe/raw {prov} (info)",
                            (g, f"envelope-{prov}-nowipe", size), (g, f"raw-{prov}", size), None)
            add(f"{g} 1MiB envelope awslc/rustcrypto",
                (g, "envelope-awslc", "1MiB"), (g, "envelope-rustcrypto", "1MiB"), 2.5)
            add(f"{g} 1MiB raw awslc/rustcrypto",
                (g, "raw-awslc", "1MiB"), (g, "raw-rustcrypto", "1MiB"), None)
    for prov in ("rustcrypto", "awslc", "awslc-unwiped"):
        # awslc-unwiped is the opt-in provider that leaves HPKE secrets in freed heap memory.
        note = " (opt-in)" if prov.endswith("unwiped") else ""
        add(f"pk-seal 256B envelope-hpke-{prov}/age{note}",
            ("pk-seal", f"envelope-hpke-{prov}", "256B"), ("pk-seal", "age-x25519", "256B"), 1.0)
        add(f"pk-seal 1MiB envelope-hpke-{prov}/age{note}",
            ("pk-seal", f"envelope-hpke-{prov}", "1MiB"), ("pk-seal", "age-x25519", "1MiB"), 1.5)
        add(f"pk-open 256B envelope-hpke-{prov}/age (info)",
            ("pk-open", f"envelope-hpke-{prov}", "256B"), ("pk-open", "age-x25519", "256B"), None)

    print("\n# ratios (throughput / throughput)")
    missed = 0
    for label, ratio, target in rows:
        if ratio is None:
            print(f"{label:48} {'missing':>8}")
            continue
        if target is None:
            verdict = ""
        elif ratio >= target:
            verdict = f">= {target:<4} ok"
        else:
            verdict = f">= {target:<4} MISSED"
            missed += 1
        print(f"{label:48} {ratio:8.3f}x  {verdict}")
    print(f"\n{missed} target(s) missed")
    return 1 if (check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
