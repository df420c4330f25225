#!/bin/bash
# An only-GPU session on a real kernel under Debian's systemd as PID 1: the GPU-like card is L2's
# only display card (its boot VGA; no second VGA), a stand-in display manager holds its DRM node
# and the console; see payload-single-gpu/run.sh for what runs there. Checked here: a start that
# fails halfway (a program outside the desktop holds the card) names it and the display manager
# runs again; a start stops the display manager and moves the group to vfio-pci, L3 runs with
# it, and after `virsh shutdown` and after kill -9 of QEMU the card is on its driver and the
# display manager runs again. Prints the hook's times and RESULT: PASS or RESULT: FAIL.
# usage: build-aux/testbed/test-single-gpu.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=${1:-$HERE/work}
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
[ -f "$W/initrd-acpi.gz" ] || (cd "$W" && MD=$(echo kernel/lib/modules/*) && . "$HERE/initrd.sh" && mkacpi)
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
P=$(mktemp -d); OUT=$(mktemp -d); chmod 755 "$P"
trap 'rm -rf "$P" "$OUT"' EXIT
cp "$HERE/payload-single-gpu/run.sh" "$TOP/target/release/passage-helper" "$W/initrd-acpi.gz" "$P/"
rc=0; EXTRA_APPEND="l2init=/lib/systemd/systemd systemd.unit=passage-testbed.service" \
  "$HERE/exchange.sh" "$W" "$P" "$OUT" >/dev/null || rc=$?
[ "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp -r "$OUT/." "$KEEP/"; }
if [ $rc != 0 ]; then echo "FAIL: L2 did not finish the payload (rc $rc)"; tail -40 "$OUT/run.log" 2>/dev/null; echo "RESULT: FAIL"; exit 1; fi
fail=0
HOSTS="0000:01:00.0 bochs-drm 0000:01:00.1 snd_hda_intel "
VFIO="0000:01:00.0 vfio-pci 0000:01:00.1 vfio-pci "
is(){ local got; got=$(cat "$OUT/$2" 2>/dev/null || echo "(missing)")
  if [ "$got" = "$3" ]; then echo "ok: $1: $got"; else echo "FAIL: $1: got '$got', want '$3'"; fail=1; fi; }
has(){ if grep -qF -- "$3" "$OUT/$2" 2>/dev/null; then echo "ok: $1"; else echo "FAIL: $1: no '$3' in $2"; head -c 800 "$OUT/$2" 2>/dev/null; echo; fail=1; fi; }
is "systemd is PID 1" pid1.txt systemd
has "the card is the boot VGA" boot-vga.txt "0000:01:00.0/boot_vga 1"
is "the stand-in display manager runs" dm-before.txt active
has "and holds the card" dm-fds.txt "/dev/dri/card"
is "the card is the host's before" before.txt "$HOSTS"
# A failure halfway.
[ "$(cat "$OUT/held.rc" 2>/dev/null)" != 0 ] && echo "ok: a held card fails the start" || { echo "FAIL: the start went on while a process held the card"; fail=1; }
has "libvirt's error names the holder" held.txt "card-holder (PID $(cat "$OUT/held.pid" 2>/dev/null)) has /dev/dri/"
is "the display manager runs again after the failure" held-dm.txt active
is "the card stays the host's" held-drivers.txt "$HOSTS"
is "the session is rolled back" held-state.txt rolled-back
# Graceful shutdown.
is "the only-GPU VM started" start1.rc 0
is "the display manager is stopped while it runs" running-dm.txt inactive
is "the group is on vfio-pci while L3 runs" running-drivers.txt "$VFIO"
has "the watchdog timer runs with the session" running-timers.txt "passage-desktop-watchdog-"
has "L3 ran with the card" l3g-1.log "GUEST: READY"
is "graceful shutdown ends the domain" state1.txt "shut off"
is "the card is back after a graceful shutdown" after-shutdown-drivers.txt "$HOSTS"
is "the display manager runs again after it" after-shutdown-dm.txt active
grep -q "passage-desktop-watchdog-" "$OUT/after-timers.txt" 2>/dev/null && { echo "FAIL: the watchdog timer is left"; fail=1; } || echo "ok: the watchdog timer is stopped"
# kill -9.
is "the only-GPU VM started again" start2.rc 0
is "the display manager is stopped again" running2-dm.txt inactive
is "the group is on vfio-pci again" running2-drivers.txt "$VFIO"
is "kill -9 of QEMU ends the domain" state2.txt "shut off"
is "the card is back after kill -9" after-kill-drivers.txt "$HOSTS"
is "the display manager runs again after kill -9" after-kill-dm.txt active
# The hook's own times: prepare and release of the held start, the shutdown and the kill -9.
echo "the hook's own times (this emulated L2; operation ms exit): $(tr '\n' ';' < "$OUT/hook-times.txt" 2>/dev/null)"
n=$(grep -c '^release .* 0$' "$OUT/hook-times.txt" 2>/dev/null || true)
[ "${n:-0}" -ge 2 ] && ! grep -q '^release .* [1-9][0-9]*$' "$OUT/hook-times.txt" && echo "ok: every release succeeded ($n)" || { echo "FAIL: a release failed, or fewer than 2 ran"; fail=1; }
echo "times (this emulated L2): failed start $(cat "$OUT/held.ms" 2>/dev/null) ms, start $(cat "$OUT/start1.ms" 2>/dev/null) ms, shutdown to the display manager back $(cat "$OUT/back1.ms" 2>/dev/null) ms, kill -9 to the display manager back $(cat "$OUT/back2.ms" 2>/dev/null) ms"
[ $fail = 0 ] && echo "RESULT: PASS" || { echo "--- L2 payload log (tail)"; tail -60 "$OUT/run.log"; echo "--- journal"; tail -c 3000 "$OUT/journal.txt" 2>/dev/null; echo "RESULT: FAIL"; exit 1; }
