#!/bin/bash
# VM sessions on a real kernel: libvirtd in L2 with Passage's hook (from the plan for "lend the
# card while the VM runs") starts L3 domains; see payload-session/run.sh for what runs there.
# Checked here: the GPU-like group (VGA + HD audio, a second card next to the boot display)
# is on bochs-drm + snd_hda_intel before L3 starts, on vfio-pci while it runs, and back after
# a graceful shutdown and after kill -9 of its QEMU; the hugepages appear while it runs and
# are gone after; a process holding the card's DRM node makes the start fail with its name and
# nothing changes; a domain without Passage's metadata is left alone. Prints the hook's
# prepare and release times (benchmark, medians of 5) and RESULT: PASS or RESULT: FAIL.
# usage: build-aux/testbed/test-session.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=${1:-$HERE/work}
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
[ -f "$W/initrd-acpi.gz" ] || (cd "$W" && MD=$(echo kernel/lib/modules/*) && . "$HERE/initrd.sh" && mkacpi)
[ -f "$W/initrd-ga.gz" ] || (cd "$W" && MD=$(echo kernel/lib/modules/*) && . "$HERE/initrd.sh" && . "$HERE/initrd-ga.sh" && mkga)
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
P=$(mktemp -d); OUT=$(mktemp -d); chmod 755 "$P"
trap 'rm -rf "$P" "$OUT"' EXIT
cp "$HERE/payload-session/run.sh" "$TOP/target/release/passagectl" "$TOP/target/release/passage-helper" "$W/initrd-acpi.gz" "$P/"
cp "$HERE/payload-session/verify.sh" "$TOP/target/release/passagectl-vm" "$W/initrd-ga.gz" "$P/"
rc=0; HOST_VGA=cirrus "$HERE/exchange.sh" "$W" "$P" "$OUT" >/dev/null || rc=$?
[ "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp -r "$OUT/." "$KEEP/"; }
if [ $rc != 0 ]; then echo "FAIL: L2 did not finish the payload (rc $rc)"; tail -40 "$OUT/run.log" 2>/dev/null; echo "RESULT: FAIL"; exit 1; fi
fail=0
HOSTS="0000:01:00.0 bochs-drm 0000:01:00.1 snd_hda_intel "
VFIO="0000:01:00.0 vfio-pci 0000:01:00.1 vfio-pci "
is(){ # WHAT FILE WANT
  local got; got=$(cat "$OUT/$2" 2>/dev/null || echo "(missing)")
  if [ "$got" = "$3" ]; then echo "ok: $1: $got"; else echo "FAIL: $1: got '$got', want '$3'"; fail=1; fi
}
has(){ # WHAT FILE TEXT
  if grep -qF -- "$3" "$OUT/$2" 2>/dev/null; then echo "ok: $1"; else echo "FAIL: $1: no '$3' in $2:"; head -c 600 "$OUT/$2" 2>/dev/null; echo; fail=1; fi
}
HP0=$(cat "$OUT/hp-before.txt" 2>/dev/null || echo 0)
is "the card is the host's before" before.txt "$HOSTS"
# The holder: refused with its name, nothing changed.
[ "$(cat "$OUT/held.rc" 2>/dev/null)" != 0 ] && echo "ok: a held card refuses the start" || { echo "FAIL: the start went on while a process held the card"; fail=1; }
has "libvirt's error names the holder" held.txt "card-holder (PID $(cat "$OUT/held.pid" 2>/dev/null)) has /dev/dri/"
is "a refused start leaves the card" held-drivers.txt "$HOSTS"
is "a refused start leaves no hugepages" hp-held.txt "$HP0"
# Graceful shutdown.
is "the session VM started" start1.rc 0
is "the group is on vfio-pci while L3 runs" running-drivers.txt "$VFIO"
is "its hugepages are reserved while it runs" hp-running.txt "$((HP0 + 128))"
has "L3 ran with the card" l3s-1.log "GUEST: READY"
is "graceful shutdown ends the domain" state1.txt "shut off"
is "the card is back after a graceful shutdown" after-shutdown-drivers.txt "$HOSTS"
is "the hugepages are gone after it" hp-after-shutdown.txt "$HP0"
# kill -9.
is "the session VM started again" start2.rc 0
is "the group is on vfio-pci again" running2-drivers.txt "$VFIO"
is "kill -9 of QEMU ends the domain" state2.txt "shut off"
is "the card is back after kill -9" after-kill-drivers.txt "$HOSTS"
is "the hugepages are gone after kill -9" hp-after-kill.txt "$HP0"
# Not a session VM.
is "a domain without session metadata starts" plain.rc 0
is "and the card stays the host's" plain-drivers.txt "$HOSTS"
n=$(cat "$OUT/plain-journal.txt" 2>/dev/null || echo "x y"); [ "${n% *}" = "${n#* }" ] && echo "ok: the hook recorded nothing for it" || { echo "FAIL: journal entries before/after the plain domain: $n"; fail=1; }
n=$(grep -c '"verb": "vm-session"' "$OUT/journal.txt" 2>/dev/null || true)
[ "$n" = 12 ] && echo "ok: the journal holds the two L3 sessions and the ten of the benchmark (a start refused before anything was taken records none)" || { echo "FAIL: $n sessions in the journal, want 12"; fail=1; }
has "every session ended" journal.txt '"state": "undone"'
grep -q '"state": "applied"' "$OUT/journal.txt" && { echo "FAIL: a session is still open"; fail=1; }
is "after the benchmark the card is the host's" after-bench-drivers.txt "$HOSTS"
is "and no hugepages are left" hp-after-bench.txt "$HP0"
# Benchmark: the hook as libvirt runs it, on this emulated (TCG) L2 — slower than real hardware.
med(){ sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "?")}'; }
if [ -s "$OUT/bench.txt" ]; then
  wp=$(awk '$1=="with"{print $2}' "$OUT/bench.txt" | med); wr=$(awk '$1=="with"{print $3}' "$OUT/bench.txt" | med)
  gp=$(awk '$1=="without"{print $2}' "$OUT/bench.txt" | med); gr=$(awk '$1=="without"{print $3}' "$OUT/bench.txt" | med)
  echo "benchmark (median of 5, ms, emulated L2): prepare ${wp} / release ${wr} with 256 MiB of hugepages; prepare ${gp} / release ${gr} for the group alone; hugepage reservation ≈ $((wp - gp)) ms; virsh start of the session VM $(cat "$OUT/start1.ms") ms"
else
  echo "FAIL: no benchmark figures"; fail=1
fi
# The card inside the guest (issue 22): passagectl vm verify against a real qemu-ga.
. "$HERE/verify-judge.sh"
[ $fail = 0 ] && echo "RESULT: PASS" || { echo "--- L2 payload log (tail)"; tail -60 "$OUT/run.log"; echo "RESULT: FAIL"; exit 1; }
