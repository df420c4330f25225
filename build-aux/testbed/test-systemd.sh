#!/bin/bash
# The helper under Debian's systemd as PID 1 (L2 booted with l2init=/lib/systemd/systemd): its
# installed unit is D-Bus-activated, an apply whose rebuild runs the real update-initramfs
# inside the unit's sandbox succeeds (the initramfs gains vfio) and its undo brings the files
# back and rebuilds again (vfio gone), the helper exits when idle and the next call activates it
# again; passage-helper-recover.service gives back a VM session left half done. Prints
# `systemd-analyze security`'s rating of the unit and RESULT: PASS or RESULT: FAIL.
# usage: build-aux/testbed/test-systemd.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=${1:-$HERE/work}
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
P=$(mktemp -d); OUT=$(mktemp -d); chmod 755 "$P"
trap 'rm -rf "$P" "$OUT"' EXIT
cp "$HERE/payload-systemd/run.sh" "$TOP/target/release/passagectl" "$TOP/target/release/passage-helper" \
   "$TOP/data/io.github.passage.policy" "$TOP/data/io.github.passage.Helper1.conf" \
   "$TOP/data/io.github.passage.Helper1.service.in" "$TOP/data/passage-helper.service.in" \
   "$TOP/data/passage-helper-recover.service.in" "$P/"
rc=0; HOST_VGA=cirrus EXTRA_APPEND="l2init=/lib/systemd/systemd systemd.unit=passage-testbed.service" \
  "$HERE/exchange.sh" "$W" "$P" "$OUT" >/dev/null || rc=$?
[ "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp -r "$OUT/." "$KEEP/"; }
if [ $rc != 0 ]; then echo "FAIL: L2 did not finish the payload (rc $rc)"; tail -40 "$OUT/run.log" 2>/dev/null; echo "RESULT: FAIL"; exit 1; fi
fail=0
is(){ local got; got=$(cat "$OUT/$2" 2>/dev/null || echo "(missing)")
  if [ "$got" = "$3" ]; then echo "ok: $1: $got"; else echo "FAIL: $1: got '$got', want '$3'"; fail=1; fi; }
has(){ if grep -qF -- "$3" "$OUT/$2" 2>/dev/null; then echo "ok: $1"; else echo "FAIL: $1: no '$3' in $2"; head -c 800 "$OUT/$2" 2>/dev/null; echo; fail=1; fi; }
line(){ sed -n "${2}p" "$OUT/$1" 2>/dev/null; }
is "systemd is PID 1" pid1.txt systemd
is "Debian's update-initramfs made the first initramfs" initramfs-create.rc 0
is "the helper is not running before the first call" state-0.txt inactive
is "apply through D-Bus activation and the unit succeeds" apply.rc 0
has "the unit ran it" state-apply.txt "ActiveState=active"
[ "$(line initrd-applied.txt 1)" != "$(line initrd-before.txt 1)" ] && echo "ok: update-initramfs rebuilt the initramfs inside the sandbox" || { echo "FAIL: the initramfs did not change"; fail=1; }
[ "$(line initrd-applied.txt 2)" -gt "$(line initrd-before.txt 2)" ] 2>/dev/null && echo "ok: the rebuilt initramfs has vfio ($(line initrd-applied.txt 2) files)" || { echo "FAIL: no vfio in the rebuilt initramfs"; fail=1; }
has "initramfs-tools' modules list has vfio-pci" modules-applied.txt "vfio"
is "undo succeeds" undo.rc 0
[ "$(line initrd-undone.txt 2)" = "$(line initrd-before.txt 2)" ] && echo "ok: after undo the initramfs has what it had" || { echo "FAIL: vfio files after undo: $(line initrd-undone.txt 2), before: $(line initrd-before.txt 2)"; fail=1; }
grep -q vfio "$OUT/modules-undone.txt" 2>/dev/null && { echo "FAIL: modules still lists vfio after undo"; fail=1; } || echo "ok: the modules list is back"
grep -q passage "$OUT/modprobe-undone.txt" 2>/dev/null && { echo "FAIL: a modprobe.d file is left"; fail=1; } || echo "ok: no modprobe.d file left"
is "bind through the unit" bind.rc 0
is "the pair on vfio-pci" bind-drivers.txt "vfio-pci vfio-pci "
is "restore through the unit" restore.rc 0
is "the pair back on its drivers" restore-drivers.txt "bochs-drm snd_hda_intel "
is "hugepages through the unit" huge.rc 0
is "16 hugepages reserved" huge-total.txt 16
is "and given back" huge-total-after.txt 0
is "the boot-time recovery unit runs" recover.rc 0
is "it gave back the half-done session's hugepages" recover-huge.txt 0
is "and closed the session" recover-state.txt undone
has "its log says so" recover-journal.txt "was unfinished; everything it took is back"
is "the recovery is bounded (TimeoutStartSec)" recover-timeout.txt 10min
is "the journal's directory is root's alone (StateDirectoryMode)" state-mode.txt 700
is "the helper exits when idle" state-idle.txt inactive
is "the next call activates it again" history.rc 0
is "and it runs again" state-again.txt active
has "the journal shows the idle exit" helper-journal.txt "idle for 5 s, exiting"
echo "systemd-analyze security: $(grep -E 'Overall exposure level' "$OUT/security.txt" | sed 's/^ *//' || echo '(no rating)')"
[ $fail = 0 ] && echo "RESULT: PASS" || { echo "--- L2 payload log (tail)"; tail -60 "$OUT/run.log"; echo "--- helper journal"; tail -30 "$OUT/helper-journal.txt" 2>/dev/null; echo "RESULT: FAIL"; exit 1; }
