#!/bin/bash
# The boot switch on a real kernel. L2 boots four times: its GPU-like pair (VGA + HD audio) is a
# second card next to a boot display that has other IDs (cirrus: Passage binds by ID, through
# modprobe.d) or the same IDs (std: Passage binds by address, through a udev rule), each without
# and with passage.vfio=off on the kernel command line. Each time passagectl plans "bind the pair
# at boot" on the real sysfs, the plan's files are installed, and udevd replays the pair's
# boot-time "add" events (see payload-boot-switch/run.sh). Without the switch the pair must end
# up on vfio-pci; with it, on its own drivers (bochs-drm, snd_hda_intel).
# usage: build-aux/testbed/test-boot-switch.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=${1:-$HERE/work}
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
cargo build --release -q -p passagectl --manifest-path "$TOP/Cargo.toml"
P=$(mktemp -d); R=$(mktemp -d)
trap 'rm -rf "$P" "$R"' EXIT
cp "$HERE/payload-boot-switch/run.sh" "$TOP/target/release/passagectl" "$P/"
fail=0
boot(){ # NAME HOST_VGA EXTRA_APPEND: one L2 boot; results in $R/NAME
  local rc=0 out=$R/$1
  HOST_VGA=$2 EXTRA_APPEND="$3" "$HERE/exchange.sh" "$W" "$P" "$out" >/dev/null || rc=$?
  [ "${KEEP:-}" ] && { mkdir -p "$KEEP/$1"; cp -r "$out/." "$KEEP/$1/"; }
  [ $rc = 0 ] || { echo "FAIL: $1: L2 did not finish the payload (rc $rc):"; tail -30 "$out/run.log" 2>/dev/null; exit 1; }
}
expect(){ # NAME FILE-THE-PLAN-MUST-WRITE VGA-DRIVER HDA-DRIVER
  local out=$R/$1 got want="0000:01:00.0 $3 0000:01:00.1 $4"
  got=$(tr '\n' ' ' < "$out/drivers.txt" | sed 's/ $//')
  jq -e --arg f "$2" '[.changes[].path] | index($f)' "$out/plan.json" >/dev/null \
    || { echo "FAIL: $1: the plan does not write $2"; fail=1; }
  if [ "$got" = "$want" ]; then echo "ok: $1: $got"
  else echo "FAIL: $1: $got, want $want"; tail -30 "$out/run.log"; fail=1; fi
}
boot by-id cirrus ""
boot by-id-off cirrus "passage.vfio=off"
boot by-address std ""
boot by-address-off std "passage.vfio=off"
for n in by-id-off by-address-off; do grep -qw passage.vfio=off "$R/$n/cmdline.txt" || { echo "FAIL: $n booted without the switch"; fail=1; }; done
expect by-id /etc/modprobe.d/passage-vfio.conf vfio-pci vfio-pci
expect by-id-off /etc/modprobe.d/passage-vfio.conf bochs-drm snd_hda_intel
expect by-address /etc/udev/rules.d/61-passage-vfio.rules vfio-pci vfio-pci
expect by-address-off /etc/udev/rules.d/61-passage-vfio.rules bochs-drm snd_hda_intel
[ $fail = 0 ] || exit 1
echo "boot switch: PASS"
