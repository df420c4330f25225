# Payload (sourced in L2, where Debian's systemd is PID 1): an only-GPU session. The GPU-like
# card is L2's only display card and its boot VGA; a stand-in display manager (a service that
# holds the card's DRM node and the console, aliased as display-manager.service) runs on it.
# Passage's hook (the helper in /usr/libexec) starts an L3 domain of the only-gpu mode:
#  - a process outside the desktop holds the card: the start fails halfway (after the display
#    manager stopped) naming it, and the desktop comes back;
#  - a start stops the display manager, moves the group to vfio-pci, L3 runs with it; after
#    `virsh shutdown` the card and the display manager are back;
#  - the same after kill -9 of QEMU;
#  - the hook's times (start to running, stop to the display manager back).
# Results go to $OUT; test-single-gpu.sh judges them.
P=/opt/payload
VGA=0000:01:00.0; HDA=0000:01:00.1
drv(){ for a in $VGA $HDA; do printf '%s %s\n' $a "$(basename "$(readlink /sys/bus/pci/devices/$a/driver 2>/dev/null)" 2>/dev/null)"; done | tr '\n' ' '; }
ms(){ date +%s%3N; }
state(){ virsh domstate "$1" 2>/dev/null | head -1; }
wait_state(){ for i in $(seq 1 ${3:-240}); do [ "$(state $1)" = "$2" ] && return 0; sleep 0.5; done; return 1; }
wait_log(){ for i in $(seq 1 240); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done; return 1; }
dm(){ systemctl is-active standin-dm.service; }
wait_dm(){ for i in $(seq 1 120); do [ "$(dm)" = active ] && return 0; sleep 0.25; done; return 1; }
set -x
cat /proc/1/comm > $OUT/pid1.txt
ls /sys/bus/pci/devices/*/boot_vga | while read f; do echo "$f $(cat $f)"; done > $OUT/boot-vga.txt
CARD=$(ls /sys/bus/pci/devices/$VGA/drm | grep -m1 '^card')
# The stand-in display manager: holds the card's DRM node and the text console, as a display
# server does; systemd's display-manager.service alias points at it (as `systemctl enable gdm3`).
cat > /etc/systemd/system/standin-dm.service <<UNIT
[Unit]
Description=Stand-in display manager holding /dev/dri/$CARD
[Service]
ExecStart=/bin/bash -c 'exec 3<>/dev/dri/$CARD 4>/dev/tty1; exec sleep infinity'
UNIT
ln -sf /etc/systemd/system/standin-dm.service /etc/systemd/system/display-manager.service
systemctl daemon-reload
systemctl start standin-dm.service
dm > $OUT/dm-before.txt
ls -l /proc/$(systemctl show -p MainPID --value standin-dm.service)/fd > $OUT/dm-fds.txt 2>&1
for v in /sys/class/vtconsole/*; do echo "$v $(cat $v/name) bind=$(cat $v/bind)"; done > $OUT/vtcon-before.txt
ls /sys/bus/platform/drivers/*/ > $OUT/platform-before.txt 2>&1
# Passage as installed: the helper in libexec, libvirt's hook dispatching to it.
install -Dm755 $P/passage-helper /usr/libexec/passage-helper
mkdir -p /etc/libvirt/hooks/qemu.d
# (The dispatcher also writes the helper's own time per operation, for the benchmark.)
cat > /etc/libvirt/hooks/qemu.d/50-passage <<'HOOK'
#!/bin/sh
s=$(date +%s%3N)
/usr/libexec/passage-helper hook "$@"; rc=$?
case "$2" in prepare|release) echo "$2 $(( $(date +%s%3N)-s )) $rc" >> /run/passage-hook-times;; esac
exit $rc
HOOK
chmod 755 /etc/libvirt/hooks/qemu.d/50-passage
cp $P/initrd-acpi.gz /boot/ira.cpio.gz
mkdir -p /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt/qemu
virtlogd -d; libvirtd -d
export LIBVIRT_DEFAULT_URI=qemu:///system
for i in $(seq 1 240); do virsh version >/dev/null 2>&1 && break; sleep 0.5; done
T=qemu; [ -c /dev/kvm ] && T=kvm
cat > /tmp/l3g.xml <<XML
<domain type='$T'>
  <name>l3g</name>
  <metadata><passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'><passage:purpose>gaming</passage:purpose><passage:gpu-mode>only-gpu</passage:gpu-mode></passage:vm></metadata>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>/boot/vmlinuz-l3</kernel><initrd>/boot/ira.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/tmp/l3g.log'/><target port='0'/></serial>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='1'/></source></hostdev>
    <memballoon model='none'/>
  </devices>
</domain>
XML
virsh define /tmp/l3g.xml > /dev/null
U=$(virsh domuuid l3g | tr -d '[:space:]')
mkdir -p /var/lib/passage/authorized
( umask 077; printf '{"uuid":"%s","vm":"l3g","devices":["%s","%s"],"hugepages_kib":0,"cpus":[]}\n' "$U" $VGA $HDA > /var/lib/passage/authorized/$U.json )
drv > $OUT/before.txt
session_state(){ for d in /var/lib/passage/journal/*; do jq -r .state $d/entry.json; done 2>/dev/null | tail -1; }
# 1. A failure halfway: a program outside the desktop holds the card; the display manager has
#    stopped by then, and must come back.
cp /bin/sleep /tmp/card-holder; /tmp/card-holder 600 3</dev/dri/$CARD & HOLDER=$!
echo $HOLDER > $OUT/held.pid
s=$(ms); virsh start l3g > $OUT/held.txt 2>&1; echo $? > $OUT/held.rc; echo $(( $(ms)-s )) > $OUT/held.ms
wait_dm; dm > $OUT/held-dm.txt; drv > $OUT/held-drivers.txt; session_state > $OUT/held-state.txt
kill $HOLDER; wait $HOLDER 2>/dev/null
# 2. Start, then a graceful shutdown.
rm -f /tmp/l3g.log
s=$(ms); virsh start l3g > $OUT/start1.txt 2>&1; echo $? > $OUT/start1.rc; echo $(( $(ms)-s )) > $OUT/start1.ms
dm > $OUT/running-dm.txt; drv > $OUT/running-drivers.txt
systemctl list-timers --all --no-pager 'passage-desktop-watchdog-*' > $OUT/running-timers.txt 2>&1
for v in /sys/class/vtconsole/*; do echo "$v bind=$(cat $v/bind)"; done > $OUT/vtcon-running.txt
wait_log /tmp/l3g.log "GUEST: READY"; cp /tmp/l3g.log $OUT/l3g-1.log
s=$(ms); virsh shutdown l3g > $OUT/shutdown.txt 2>&1
wait_state l3g "shut off"; wait_dm; echo $(( $(ms)-s )) > $OUT/back1.ms
state l3g > $OUT/state1.txt; dm > $OUT/after-shutdown-dm.txt; drv > $OUT/after-shutdown-drivers.txt
systemctl list-timers --all --no-pager 'passage-desktop-watchdog-*' > $OUT/after-timers.txt 2>&1
for v in /sys/class/vtconsole/*; do echo "$v bind=$(cat $v/bind)"; done > $OUT/vtcon-after.txt
# 3. Start, then kill -9 of its QEMU (a crash): libvirt still runs release.
virsh start l3g > $OUT/start2.txt 2>&1; echo $? > $OUT/start2.rc
dm > $OUT/running2-dm.txt; drv > $OUT/running2-drivers.txt
s=$(ms); kill -9 "$(cat /run/libvirt/qemu/l3g.pid)"
wait_state l3g "shut off"; wait_dm; echo $(( $(ms)-s )) > $OUT/back2.ms
state l3g > $OUT/state2.txt; dm > $OUT/after-kill-dm.txt; drv > $OUT/after-kill-drivers.txt
cp /run/passage-hook-times $OUT/hook-times.txt
for d in /var/lib/passage/journal/*; do cat $d/entry.json; echo; done > $OUT/journal.txt
cp /var/log/libvirt/qemu/l3g.log $OUT/qemu-l3g.log 2>/dev/null
journalctl -b --no-pager -u 'passage-desktop-watchdog-*' -u standin-dm > $OUT/units-journal.txt 2>&1
true
