#!/bin/bash
# Benchmark: `passagectl scan --json` against one `lspci -nnk` and against the classic
# per-device loop of the public tutorial (`for d in /sys/kernel/iommu_groups/*/devices/*; do
# … lspci -nns …; done`), all pointed at the same fixture tree; and, in the same run, what is
# start-up: `passagectl --version`, and `passagectl-vm --version` (the VM commands' program, the
# one that links libvirt) for what loading libvirt would cost. The demo host is x570-tutorial
# (`scan --demo` would also time writing its 1,800 files). Prints medians and ratios.
# Targets (issues 2 and 24): ≥ 300× faster than the loop, ≤ 0.3× one lspci -nnk, and under
# 50 ms on the 2,000-device tree.
# usage: build-aux/bench-scan.sh [TREE...]     (default: x570-tutorial sriov-server)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null && command -v lspci >/dev/null || build-aux/install-deps.sh
cargo build --release -q -p passagectl -p passage-fixtures
BIN=$PWD/target/release
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
trees=("$@"); [ ${#trees[@]} -gt 0 ] || trees=(x570-tutorial sriov-server)

cat > "$TMP/loop.sh" <<'LOOP'
T=$1
for d in $T/sys/kernel/iommu_groups/*/devices/*; do
  n=${d#*/iommu_groups/}; n=${n%%/*}
  printf 'IOMMU Group %s ' "$n"
  lspci -A linux-sysfs -O sysfs.path=$T/sys/bus/pci -nns "${d##*/}"
done
LOOP

hyperfine -N --warmup 5 --runs 50 --export-json "$TMP/version.json" \
  "$BIN/passagectl --version" >/dev/null 2>&1
hyperfine -N --warmup 5 --runs 50 --export-json "$TMP/vm-version.json" \
  "$BIN/passagectl-vm --version" >/dev/null 2>&1

for t in "${trees[@]}"; do
  T=$TMP/$t; "$BIN/passage-fixtures" "$t" "$T"
  n=$(ls "$T/sys/bus/pci/devices" | wc -l)
  # Fewer runs for the slow loop on large trees; medians need at least three.
  loop_runs=5; [ "$n" -gt 500 ] && loop_runs=3
  hyperfine -N --warmup 3 --runs 30 --export-json "$TMP/$t-scan.json" \
    "$BIN/passagectl scan --json --root $T" >/dev/null 2>&1
  hyperfine -N --warmup 2 --runs 10 --export-json "$TMP/$t-lspci.json" \
    "lspci -A linux-sysfs -O sysfs.path=$T/sys/bus/pci -nnk" >/dev/null 2>&1
  hyperfine --warmup 1 --runs $loop_runs --export-json "$TMP/$t-loop.json" \
    "bash $TMP/loop.sh $T" >/dev/null 2>&1
  echo "$t $n" >> "$TMP/trees"
done

python3 - "$TMP" <<'PY'
import json, sys, os
tmp = sys.argv[1]
def med(path):
    r = json.load(open(path))["results"][0]
    return r["median"] * 1000
for name, f in [("passagectl --version", "version"), ("passagectl-vm --version (links libvirt)", "vm-version")]:
    print(f"{name:<42}{med(f'{tmp}/{f}.json'):>8.2f} ms")
print()
print(f"{'tree':<23}{'devices':>8}{'scan ms':>10}{'lspci -nnk ms':>15}{'loop ms':>11}{'loop/scan':>11}{'scan/lspci':>12}")
for line in open(os.path.join(tmp, "trees")):
    t, n = line.split()
    s, l, p = med(f"{tmp}/{t}-scan.json"), med(f"{tmp}/{t}-lspci.json"), med(f"{tmp}/{t}-loop.json")
    name = t + (" (demo)" if t == "x570-tutorial" else "")
    print(f"{name:<23}{n:>8}{s:>10.2f}{l:>15.2f}{p:>11.0f}{p/s:>10.0f}×{s/l:>11.2f}×")
print("targets: loop/scan ≥ 300×, scan/lspci ≤ 0.3×, scan < 50 ms on the 2,000-device tree (medians; baseline: pciutils " +
      os.popen("lspci --version").read().split()[-1] + ")")
PY
