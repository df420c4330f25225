# Payload (sourced in L2, where Debian's systemd is PID 1): passage-helper as its package
# installs it — the hardened unit, D-Bus activation through systemd, the busconfig and polkit
# actions — applies "the GPU-like pair to vfio-pci at boot", whose rebuild runs the real
# update-initramfs inside the unit's sandbox, and undoes it; then the helper exits when idle and
# is activated again by the next call. Results go to $OUT; test-systemd.sh judges them.
P=/opt/payload
VGA=0000:01:00.0; HDA=0000:01:00.1
KV=$(uname -r)
set -x
cat /proc/1/comm > $OUT/pid1.txt
# No monitor on the pair's card (QEMU's virtual connectors say connected).
for c in /sys/bus/pci/devices/$VGA/drm/card*/card*-*; do echo off > $c/status; done
# Small and quick to rebuild in this emulated guest: only the modules this machine needs.
sed -i 's/^MODULES=.*/MODULES=dep/' /etc/initramfs-tools/initramfs.conf
# A Debian host's kernel and initramfs, as the kernel package installs them (update-initramfs
# -k all means the kernels in /boot).
cp /boot/vmlinuz-l3 /boot/vmlinuz-$KV
update-initramfs -c -k $KV > $OUT/initramfs-create.log 2>&1; echo $? > $OUT/initramfs-create.rc
initrd(){ sha256sum /boot/initrd.img-$KV | cut -d' ' -f1; lsinitramfs /boot/initrd.img-$KV | grep -c 'vfio' ; }
initrd > $OUT/initrd-before.txt
# Passage's helper, installed as build-aux/install-helper.sh installs it (prefix /usr).
sub(){ sed "s|@libexecdir@|/usr/libexec|g" "$1"; }
install -Dm755 $P/passage-helper /usr/libexec/passage-helper
install -Dm644 $P/io.github.passage.Helper1.conf /usr/share/dbus-1/system.d/io.github.passage.Helper1.conf
sub $P/io.github.passage.Helper1.service.in > /usr/share/dbus-1/system-services/io.github.passage.Helper1.service
sub $P/passage-helper.service.in > /lib/systemd/system/passage-helper.service
sub $P/passage-helper-recover.service.in > /lib/systemd/system/passage-helper-recover.service
install -Dm644 $P/io.github.passage.policy /usr/share/polkit-1/actions/io.github.passage.policy
# Only for the test: exit after 5 idle seconds instead of 120.
mkdir -p /etc/systemd/system/passage-helper.service.d
printf '[Service]\nEnvironment=PASSAGE_HELPER_IDLE_SECS=5\n' > /etc/systemd/system/passage-helper.service.d/idle.conf
systemctl daemon-reload
systemctl reload dbus.service || busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
systemctl is-active passage-helper > $OUT/state-0.txt
systemd-analyze security passage-helper.service --no-pager > $OUT/security.txt 2>&1
$P/passagectl plan --vfio $VGA --vfio $HDA --json > $OUT/plan.json 2>&1
# Apply through D-Bus activation: the unit starts, the plan's files are written, and the
# rebuild (update-initramfs -u) runs inside the sandbox.
$P/passagectl apply --vfio $VGA --vfio $HDA > $OUT/apply.txt 2>&1; echo $? > $OUT/apply.rc
systemctl show -p ActiveState -p MainPID -p ExecMainStartTimestamp passage-helper > $OUT/state-apply.txt
initrd > $OUT/initrd-applied.txt
cp /etc/initramfs-tools/modules $OUT/modules-applied.txt 2>/dev/null
id=$(sed -n 's/.*(change \([0-9]*\)).*/\1/p; s/^Change \([0-9]*\):.*/\1/p' $OUT/apply.txt | head -1)
$P/passagectl history --json > $OUT/history-applied.json 2>&1
[ -n "$id" ] || id=$(jq -r '.[0].id' $OUT/history-applied.json)
echo "$id" > $OUT/change-id.txt
cp /var/lib/passage/journal/$id/entry.json $OUT/entry-applied.json 2>/dev/null
$P/passagectl undo "$id" > $OUT/undo.txt 2>&1; echo $? > $OUT/undo.rc
initrd > $OUT/initrd-undone.txt
cp /etc/initramfs-tools/modules $OUT/modules-undone.txt 2>/dev/null
ls /etc/modprobe.d > $OUT/modprobe-undone.txt
# The runtime verbs under the same sandbox: the pair to vfio-pci now and back (sysfs), 16
# hugepages and back.
drv(){ for a in $VGA $HDA; do printf '%s ' "$(basename "$(readlink /sys/bus/pci/devices/$a/driver)")"; done; }
$P/passagectl bind $VGA $HDA > $OUT/bind.txt 2>&1; echo $? > $OUT/bind.rc
drv > $OUT/bind-drivers.txt
$P/passagectl restore $VGA $HDA > $OUT/restore.txt 2>&1; echo $? > $OUT/restore.rc
drv > $OUT/restore-drivers.txt
$P/passagectl hugepages 16 > $OUT/huge.txt 2>&1; echo $? > $OUT/huge.rc
awk '/^HugePages_Total/ {print $2}' /proc/meminfo > $OUT/huge-total.txt
$P/passagectl hugepages --release > $OUT/huge-release.txt 2>&1; echo $? > $OUT/huge-release.rc
awk '/^HugePages_Total/ {print $2}' /proc/meminfo > $OUT/huge-total-after.txt
# Boot-time recovery: a VM session left half done (16 hugepages taken, the helper killed before
# it recorded the end) is given back by passage-helper-recover.service.
echo 16 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
mkdir -p /var/lib/passage/journal/000099
printf '{"id":"000099","created":1,"uid":0,"verb":"vm-session","summary":"Session of the VM \\"gone\\"","state":"applying","change":{"kind":"session","vm":"gone","boot_id":"%s","taken":[{"what":"hugepages","size_kib":2048,"node":null,"before":0,"added":16}]}}' \
  "$(cat /proc/sys/kernel/random/boot_id)" > /var/lib/passage/journal/000099/entry.json
systemctl start passage-helper-recover.service; echo $? > $OUT/recover.rc
awk '/^HugePages_Total/ {print $2}' /proc/meminfo > $OUT/recover-huge.txt
jq -r .state /var/lib/passage/journal/000099/entry.json > $OUT/recover-state.txt
journalctl -b -u passage-helper-recover --no-pager > $OUT/recover-journal.txt 2>&1
systemctl show -p TimeoutStartUSec --value passage-helper-recover > $OUT/recover-timeout.txt
# The helper has run (apply, undo…): systemd made its state directory root's alone.
stat -c %a /var/lib/passage > $OUT/state-mode.txt
# Idle exit, then activation again by the next call.
for i in $(seq 1 40); do [ "$(systemctl is-active passage-helper)" = active ] || break; sleep 0.5; done
systemctl is-active passage-helper > $OUT/state-idle.txt
$P/passagectl history > $OUT/history.txt 2>&1; echo $? > $OUT/history.rc
systemctl is-active passage-helper > $OUT/state-again.txt
journalctl -b -u passage-helper --no-pager > $OUT/helper-journal.txt 2>&1
true
