# Payload (sourced in L2): VM sessions on a real kernel with a real libvirtd. Passage's plan for
# "lend the card while the VM runs" installs libvirt's hook; L3 domains then start and stop:
#  - a holder of the card's DRM node makes the start fail with its name, nothing changes;
#  - a session VM's start moves the GPU-like group (VGA + HD audio) to vfio-pci and reserves
#    its hugepages; a graceful shutdown (ACPI power button) and a kill -9 of its QEMU each give
#    everything back;
#  - a domain without Passage's metadata starts and stops untouched;
#  - the hook's own prepare/release times (benchmark).
# Results go to $OUT; test-session.sh judges them.
P=/opt/payload
VGA=0000:01:00.0; HDA=0000:01:00.1
drv(){ for a in $VGA $HDA; do printf '%s %s\n' $a "$(basename "$(readlink /sys/bus/pci/devices/$a/driver 2>/dev/null)" 2>/dev/null)"; done | tr '\n' ' '; }
hp(){ awk '/^HugePages_Total/ {print $2}' /proc/meminfo; }
ms(){ date +%s%3N; }
state(){ virsh domstate "$1" 2>/dev/null | head -1; }
wait_state(){ for i in $(seq 1 ${3:-240}); do [ "$(state $1)" = "$2" ] && return 0; sleep 0.5; done; return 1; }
wait_log(){ for i in $(seq 1 240); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done; return 1; }
set -x
# The card has no monitor (QEMU's virtual connectors say connected; bochs-drm says so again
# each time it takes the card back, so before each start), and the console is not on its
# framebuffer (as on a desktop whose screen is on the other GPU).
nomon(){ for c in /sys/bus/pci/devices/$VGA/drm/card*/card*-*; do echo off > $c/status; done; }
nomon
for v in /sys/class/vtconsole/*; do grep -q "frame buffer" $v/name && echo 0 > $v/bind; done
# Passage as installed: the helper in libexec, the hook from the plan's own file.
# A GRUB host whose IOMMU is on already (the plan then leaves /etc/default/grub alone).
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\nGRUB_CMDLINE_LINUX=""\n' > /etc/default/grub
install -m755 $P/passage-helper /usr/libexec/passage-helper
cp $P/initrd-acpi.gz /boot/ira.cpio.gz
$P/passagectl plan --gpu $VGA --gpu-mode running --json > $OUT/plan.json || { echo "plan failed"; return 1; }
H=/etc/libvirt/hooks/qemu.d/50-passage
mkdir -p /etc/libvirt/hooks/qemu.d
jq -e -r --arg f $H '.changes[] | select(.path == $f) | .after' $OUT/plan.json > $H || { echo "no hook in the plan"; return 1; }
chmod "$(printf %o "$(jq -r --arg f $H '.changes[] | select(.path == $f) | .mode' $OUT/plan.json)")" $H
cp $H $OUT/hook.sh
# libvirtd reads its hooks when it starts (the plan's note says so).
mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
mkdir -p /dev/hugepages && mount -t hugetlbfs hugetlbfs /dev/hugepages
mkdir -p /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt/qemu
virtlogd -d; libvirtd -d
export LIBVIRT_DEFAULT_URI=qemu:///system
for i in $(seq 1 240); do virsh version >/dev/null 2>&1 && break; sleep 0.5; done
T=qemu; [ -c /dev/kvm ] && T=kvm
mk(){ # NAME META HOSTDEVS HUGEPAGES
  local mb=""; [ "$4" = yes ] && mb="<memoryBacking><hugepages/></memoryBacking>"
  cat > /tmp/$1.xml <<XML
<domain type='$T'>
  <name>$1</name>
  <metadata><passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'>$2</passage:vm></metadata>
  <memory unit='MiB'>256</memory>
  $mb
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>/boot/vmlinuz-l3</kernel><initrd>/boot/ira.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/tmp/$1.log'/><target port='0'/></serial>
    $3
    <memballoon model='none'/>
  </devices>
</domain>
XML
  virsh define /tmp/$1.xml >/dev/null; }
HD="<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='1'/></source></hostdev>"
META="<passage:purpose>gaming</passage:purpose><passage:gpu-mode>running</passage:gpu-mode><passage:session-hugepages>yes</passage:session-hugepages>"
mk l3s "$META" "$HD" yes
mk l3plain "<passage:purpose>gaming</passage:purpose>" "" no
# What an administrator authorized for l3s (the record AuthorizeVm writes; no polkit in L2):
# the hook takes nothing for a domain without one.
U=$(virsh domuuid l3s | tr -d '[:space:]')
mkdir -p /var/lib/passage/authorized
( umask 077; printf '{"uuid":"%s","vm":"l3s","devices":["0000:01:00.0","0000:01:00.1"],"hugepages_kib":262144,"cpus":[]}\n' "$U" > /var/lib/passage/authorized/$U.json )
drv > $OUT/before.txt; hp > $OUT/hp-before.txt
# 1. Someone holds the card: the start fails with their name, nothing changes.
CARD=$(ls /sys/bus/pci/devices/$VGA/drm | grep -m1 '^card')
cp /bin/sleep /tmp/card-holder; /tmp/card-holder 600 3</dev/dri/$CARD & HOLDER=$!
sleep 0.5
virsh start l3s > $OUT/held.txt 2>&1; echo $? > $OUT/held.rc
echo $HOLDER > $OUT/held.pid
drv > $OUT/held-drivers.txt; hp > $OUT/hp-held.txt
kill $HOLDER; wait $HOLDER 2>/dev/null
# 2. Start, then a graceful shutdown (the guest powers off on the ACPI power button).
rm -f /tmp/l3s.log
s=$(ms); virsh start l3s > $OUT/start1.txt 2>&1; echo $? > $OUT/start1.rc; echo $(( $(ms)-s )) > $OUT/start1.ms
drv > $OUT/running-drivers.txt; hp > $OUT/hp-running.txt
wait_log /tmp/l3s.log "GUEST: READY"; cp /tmp/l3s.log $OUT/l3s-1.log
virsh shutdown l3s > $OUT/shutdown.txt 2>&1
wait_state l3s "shut off"; state l3s > $OUT/state1.txt
drv > $OUT/after-shutdown-drivers.txt; hp > $OUT/hp-after-shutdown.txt
# 3. Start, then kill -9 of its QEMU (a crash): libvirt still runs release.
nomon; virsh start l3s > $OUT/start2.txt 2>&1; echo $? > $OUT/start2.rc
drv > $OUT/running2-drivers.txt
kill -9 "$(cat /run/libvirt/qemu/l3s.pid)"
wait_state l3s "shut off"; state l3s > $OUT/state2.txt
sleep 1
drv > $OUT/after-kill-drivers.txt; hp > $OUT/hp-after-kill.txt
# 4. A domain without Passage's session metadata: the hook leaves it alone.
nomon; n0=$(ls /var/lib/passage/journal | wc -l)
virsh start l3plain > $OUT/plain.txt 2>&1; echo $? > $OUT/plain.rc
drv > $OUT/plain-drivers.txt
virsh destroy l3plain >/dev/null 2>&1; wait_state l3plain "shut off"
echo "$n0 $(ls /var/lib/passage/journal | wc -l)" > $OUT/plain-journal.txt
# 5. The hook's own times, run as libvirt runs it (the domain on stdin), 5 times each: the
#    whole session (group + hugepages), and the group alone.
virsh dumpxml --inactive l3s > /tmp/with.xml
sed 's#<passage:session-hugepages>yes#<passage:session-hugepages>no#' /tmp/with.xml > /tmp/without.xml
for kind in with without; do
  for i in 1 2 3 4 5; do
    nomon; s=$(ms); $H l3s prepare begin - < /tmp/$kind.xml >> $OUT/bench.log 2>&1; p=$(( $(ms)-s ))
    s=$(ms); $H l3s release end - < /tmp/$kind.xml >> $OUT/bench.log 2>&1; r=$(( $(ms)-s ))
    echo "$kind $p $r" >> $OUT/bench.txt
  done
done
drv > $OUT/after-bench-drivers.txt; hp > $OUT/hp-after-bench.txt
# The journal as Passage recorded the sessions, and libvirt's log of the domain.
for d in /var/lib/passage/journal/*; do cat $d/entry.json; echo; done > $OUT/journal.txt
cp /var/log/libvirt/qemu/l3s.log $OUT/qemu-l3s.log 2>/dev/null
# 6. The card inside the guest: passagectl vm verify against qemu-ga in L3.
. $P/verify.sh
