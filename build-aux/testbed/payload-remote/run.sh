# Payload (sourced in L2): L2 as a remote host. Its libvirtd holds an L3 domain (the ACPI
# guest, which powers off on the power button); sshd listens on port 22 of a user-mode NIC that
# L1 forwards to, with the host key and authorized key test-remote.sh generated; Passage's
# passagectl is on PATH, as installed. Then it waits until L1 is done (it touches
# /tmp/l1-done over SSH) or 600 s pass. Results go to $OUT; test-remote.sh judges them.
P=/opt/payload
set -x
# The NIC (QEMU's user networking: the guest is 10.0.2.15, L1 forwards a port to its 22).
modprobe virtio_net
for i in $(seq 1 50); do ip link show eth0 >/dev/null 2>&1 && break; sleep 0.2; done
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
# The GPU-like pair is a second card (HOST_VGA=cirrus is the boot display) with no monitor
# (QEMU's virtual connectors say connected) and no console on it, as in payload-session.
VGA=0000:01:00.0
for c in /sys/bus/pci/devices/$VGA/drm/card*/card*-*; do echo off > $c/status; done
for v in /sys/class/vtconsole/*; do grep -q "frame buffer" $v/name && echo 0 > $v/bind; done
# A GRUB host whose IOMMU is on already (as payload-session's), so a plan can be made here.
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\nGRUB_CMDLINE_LINUX=""\n' > /etc/default/grub
# Passage as installed.
install -m755 $P/passagectl $P/passagectl-vm /usr/bin/
install -m644 $P/initrd-acpi.gz /boot/ira.cpio.gz
# libvirtd with the L3 domain (as payload-session starts it).
mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
mkdir -p /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt/qemu
virtlogd -d; libvirtd -d
export LIBVIRT_DEFAULT_URI=qemu:///system
for i in $(seq 1 240); do virsh version >/dev/null 2>&1 && break; sleep 0.5; done
T=qemu; [ -c /dev/kvm ] && T=kvm
cat > /tmp/l3-remote.xml <<XML
<domain type='$T'>
  <name>l3-remote</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>/boot/vmlinuz-l3</kernel><initrd>/boot/ira.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/tmp/l3-remote.log'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
virsh define /tmp/l3-remote.xml > $OUT/define.txt 2>&1
# sshd: the host key and authorized key from L1 (throwaway, made by test-remote.sh).
mkdir -p /run/sshd /root/.ssh; chmod 700 /root/.ssh
install -m600 $P/host_key /etc/ssh/passage_host_key
install -m600 $P/authorized_keys /root/.ssh/authorized_keys
cat > /etc/ssh/sshd_passage <<CONF
Port 22
HostKey /etc/ssh/passage_host_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
CONF
/usr/sbin/sshd -f /etc/ssh/sshd_passage -E $OUT/sshd.log
echo up > $OUT/ready.txt
say "L2: sshd and libvirtd up; waiting for L1"
set +x
for i in $(seq 1 1200); do [ -f /tmp/l1-done ] && break; sleep 0.5; done
[ -f /tmp/l1-done ] && echo done > $OUT/l1-done.txt
cp /tmp/l3-remote.log $OUT/l3-remote.log 2>/dev/null
virsh domstate l3-remote > $OUT/state-end.txt 2>&1
true
