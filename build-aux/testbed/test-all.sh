#!/bin/bash
# The test command's real-kernel stages, two at a time. Each stage boots L2 (or, for the shutdown
# stage, a guest of a private libvirtd) as one emulated CPU (TCG, -smp 1): one core each, so on a
# two-core machine two lanes take about half the time of one. What the stages share is made
# here first, once — the test bed, its extra initramfs images, the release programs and the
# checking tests — so that no stage writes a file another one reads; each L2 boot has its own
# exchange disks and serial log (exchange.sh). Every stage runs, and each one's output is
# printed under its title; the exit status is the first failure's.
# usage: build-aux/testbed/test-all.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=$(mkdir -p "${1:-$HERE/work}" && cd "${1:-$HERE/work}" && pwd)
T0=$(date +%s)
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
[ -f "$W/initrd-acpi.gz" ] || (cd "$W" && MD=$(echo kernel/lib/modules/*) && . "$HERE/initrd.sh" && mkacpi)
[ -f "$W/initrd-ga.gz" ] || (cd "$W" && MD=$(echo kernel/lib/modules/*) && . "$HERE/initrd.sh" && . "$HERE/initrd-ga.sh" && mkga)
# The same cargo commands the stages run, so that theirs find nothing to rebuild or relink.
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
cargo test -q --no-run -p passagectl --manifest-path "$TOP/Cargo.toml" --test cli --test helper_bus --test vm_session
echo "test bed and programs ready (+$(( $(date +%s) - T0 ))s)"

# Each lane: "script|title" lines, run one after another; about 4.5 minutes each here (the
# boot switch's four boots and systemd's in one, the VM sessions' and the remote host's in
# the other).
LANE1="test-boot-switch.sh|real kernel and udev: passage.vfio=off keeps the card on its own drivers; without it, vfio-pci takes it at boot
test-systemd.sh|Debian's systemd as PID 1: the helper's hardened unit D-Bus-activated, update-initramfs inside its sandbox, idle exit and activation again
test-scan.sh|real kernel: passagectl inside the nested QEMU test bed
test-helper.sh|real kernel: passage-helper binds a group to vfio-pci and gives it back (polkit in the loop)
test-shutdown.sh|a real guest: vm start --wait, then vm shutdown by the ACPI power button; a stubborn guest forced off only when asked"
LANE2="test-session.sh|real kernel and libvirtd: a VM session lends the card at start and gives it back at shutdown and after kill -9; a holder refuses the start by name
test-single-gpu.sh|real kernel, systemd and libvirtd: an only-GPU session stops the display manager on the only card, lends it to L3 and brings it back after shutdown and kill -9; a failure halfway gives the desktop back
test-remote.sh|a remote host over SSH: from L1, passagectl --connect qemu+ssh lists, starts and shuts down an L3 domain on L2, and shows a plan made there"
logs=$(mktemp -d); trap 'rm -rf "$logs"' EXIT
lane(){ # N LIST: runs the lane's stages; each one's output in $logs/N.K.log, its status in .rc
  local n=$1 k=0 script title
  while IFS='|' read -r script title; do
    k=$((k + 1))
    { echo; echo "=== $title (lane $n, +$(( $(date +%s) - T0 ))s)"; } > "$logs/$n.$k.log"
    local rc=0; "$HERE/$script" "$W" >> "$logs/$n.$k.log" 2>&1 </dev/null || rc=$?
    echo "--- $script: exit $rc (+$(( $(date +%s) - T0 ))s)" >> "$logs/$n.$k.log"
    echo "$rc" > "$logs/$n.$k.rc"
  done <<< "$2"
}
lane 1 "$LANE1" & p1=$!
lane 2 "$LANE2" & p2=$!
wait "$p1" "$p2" || true
status=0
for f in $(ls "$logs"/*.log | sort -V); do
  cat "$f"
  rc=$(cat "${f%.log}.rc" 2>/dev/null || echo 1)
  [ "$rc" = 0 ] || { [ $status != 0 ] || status=$rc; }
done
echo "real-kernel stages: $( [ $status = 0 ] && echo all passed || echo "a stage failed (exit $status)" ), +$(( $(date +%s) - T0 ))s"
exit "$status"
