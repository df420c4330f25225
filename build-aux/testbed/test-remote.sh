#!/bin/bash
# A remote host over SSH: L2 runs sshd and libvirtd (payload-remote/run.sh) and L1 reaches it
# through QEMU's user networking (a hostfwd to L2's port 22). From L1, `passagectl --connect
# qemu+ssh://root@127.0.0.1:PORT/system` lists the L3 domain on L2, starts it (its pre-flight
# reads L2's host with `passagectl scan --json` there), shuts it down by the power button, and
# shows a plan for L2's GPU-like card made there. The key pair and L2's host key are throwaway,
# made here; ssh runs with its own config (-F), a known_hosts file written here and
# StrictHostKeyChecking, never ~/.ssh. Prints RESULT: PASS or RESULT: FAIL.
# usage: build-aux/testbed/test-remote.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=$(mkdir -p "${1:-$HERE/work}" && cd "${1:-$HERE/work}" && pwd)
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
[ -f "$W/initrd-acpi.gz" ] || (cd "$W" && MD=$(echo kernel/lib/modules/*) && . "$HERE/initrd.sh" && mkacpi)
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
BIN=${CARGO_TARGET_DIR:-$TOP/target}/release
P=$(mktemp -d); OUT=$(mktemp -d); K=$(mktemp -d); chmod 755 "$P"
L2PID=""
cleanup(){ [ -n "$L2PID" ] && kill "$L2PID" 2>/dev/null; rm -rf "$P" "$OUT" "$K"; }
trap cleanup EXIT
ssh-keygen -q -t ed25519 -N '' -f "$K/id"; ssh-keygen -q -t ed25519 -N '' -f "$K/host_key"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cat "$K/host_key.pub")" > "$K/known_hosts"
printf 'Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 10\n' "$K/id" "$K/known_hosts" > "$K/ssh_config"
printf '#!/bin/sh\nexec ssh -F %s "$@"\n' "$K/ssh_config" > "$K/ssh"; chmod 755 "$K/ssh"
cp "$HERE/payload-remote/run.sh" "$BIN/passagectl" "$BIN/passagectl-vm" "$W/initrd-acpi.gz" "$K/host_key" "$P/"
cp "$K/id.pub" "$P/authorized_keys"
HOST_VGA=cirrus EXTRA_QEMU="-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22 -device virtio-net-pci,netdev=n0,bus=pcie.0,addr=0x9" \
  "$HERE/exchange.sh" "$W" "$P" "$OUT" > "$OUT/exchange.log" 2>&1 &
L2PID=$!
S=("$K/ssh" -p "$PORT" root@127.0.0.1)
t0=$(date +%s); up=0
while kill -0 "$L2PID" 2>/dev/null && [ $(( $(date +%s) - t0 )) -lt 400 ]; do
  "${S[@]}" true 2>/dev/null && { up=1; break; }; sleep 2
done
fail=0
ok(){ echo "ok: $1"; }
bad(){ echo "FAIL: $1"; fail=1; }
if [ $up = 1 ]; then
  ok "L1 logs in to L2 over ssh (host key checked against the known_hosts written here), after $(( $(date +%s) - t0 )) s"
  URI="qemu+ssh://root@127.0.0.1:$PORT/system?command=$K/ssh"
  pc(){ NO_COLOR=1 "$BIN/passagectl" --connect "$URI" "$@"; }
  s=$(date +%s%3N); pc vm list > "$OUT/list.txt" 2>&1 || true; ms_list=$(( $(date +%s%3N) - s ))
  grep -q '^l3-remote .*shut off' "$OUT/list.txt" && ok "vm list over qemu+ssh shows L2's domain (${ms_list} ms)" || { bad "vm list"; cat "$OUT/list.txt"; }
  s=$(date +%s%3N)
  if pc vm start l3-remote --wait > "$OUT/start.txt" 2>&1; then ok "vm start --wait over qemu+ssh ($(( $(date +%s%3N) - s )) ms, pre-flight included)"; else bad "vm start"; cat "$OUT/start.txt"; fi
  grep -q 'root@127.0.0.1 is a remote host: the pre-flight checked its devices and memory (read there over SSH)' "$OUT/start.txt" \
    && ok "the pre-flight read L2's host there and says what it did not check" || { bad "the pre-flight's remote words"; cat "$OUT/start.txt"; }
  for i in $(seq 1 120); do "${S[@]}" grep -q 'GUEST: READY' /tmp/l3-remote.log 2>/dev/null && break; sleep 1; done
  "${S[@]}" virsh -c qemu:///system domstate l3-remote > "$OUT/state-running.txt" 2>&1 || true
  grep -q '^running' "$OUT/state-running.txt" && ok "L2's libvirt says the domain runs" || bad "state after start: $(cat "$OUT/state-running.txt")"
  if pc vm shutdown l3-remote --timeout 120 > "$OUT/shutdown.txt" 2>&1 && grep -q 'VM l3-remote shut down.' "$OUT/shutdown.txt"; then
    ok "vm shutdown over qemu+ssh: the guest powered off on the power button"
  else bad "vm shutdown"; cat "$OUT/shutdown.txt"; fi
  prc=0; pc plan --gpu 0000:01:00.0 > "$OUT/plan.txt" 2>&1 || prc=$?
  [ $prc = 0 ] && grep -q 'vfio-pci' "$OUT/plan.txt" && grep -q 'GRUB_CMDLINE_LINUX_DEFAULT\|/etc/modprobe.d' "$OUT/plan.txt" \
    && ok "a plan for L2's GPU-like card, made on L2 and shown here" || { bad "plan through ssh"; head -30 "$OUT/plan.txt"; }
  pc apply --gpu 0000:01:00.0 > "$OUT/apply.txt" 2>&1 && bad "apply ran over --connect" || true
  grep -qF "ssh -t -p $PORT root@127.0.0.1 'passagectl apply --gpu 0000:01:00.0'" "$OUT/apply.txt" \
    && ok "apply is not run from here: the ssh -t command to run there is named" || { bad "apply's words"; cat "$OUT/apply.txt"; }
  "${S[@]}" touch /tmp/l1-done || true
else
  bad "L1 could not log in to L2 over ssh within 400 s"
fi
wait "$L2PID" || true; L2PID=""
[ -f "$OUT/l1-done.txt" ] || { bad "L2 did not see L1 finish"; tail -30 "$OUT/run.log" 2>/dev/null; tail -20 "$OUT/exchange.log"; }
grep -q 'shut off' "$OUT/state-end.txt" 2>/dev/null && ok "the domain is off at the end" || bad "the domain at the end: $(cat "$OUT/state-end.txt" 2>/dev/null)"
[ "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp -r "$OUT/." "$KEEP/"; }
[ $fail = 0 ] && echo "RESULT: PASS" || { echo "--- L2 payload log (tail)"; tail -40 "$OUT/run.log" 2>/dev/null; cat "$OUT/sshd.log" 2>/dev/null | tail -10; echo "RESULT: FAIL"; exit 1; }
