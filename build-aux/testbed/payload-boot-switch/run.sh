# Payload (sourced in L2): what Passage writes for "bind at boot", as the real udev and kmod of a
# booting system read it, on a kernel booted with or without passage.vfio=off.
#  1. passagectl plans binding the GPU-like group (VGA + HD audio) at boot, on this real sysfs,
#     and Debian's grub-mkconfig writes a grub.cfg with the plan's entry without passthrough;
#  2. its modprobe.d file and udev rule are written to /etc (the guest is thrown away afterwards);
#  3. the devices are taken back to the state before their drivers loaded (unbound, modules
#     removed), and udevd replays their "add" events as at boot: 80-drivers.rules loads the
#     drivers through kmod, which reads Passage's softdeps and install command, after
#     Passage's rule (61-) set driver_override where it binds by address;
#  4. which driver each device ended up with is left in $OUT/drivers.txt.
P=/opt/payload
VGA=0000:01:00.0; HDA=0000:01:00.1
set -x
cat /proc/cmdline > $OUT/cmdline.txt
# No monitor on the card that goes to VMs (QEMU's virtual connectors always say connected).
for c in /sys/bus/pci/devices/$VGA/drm/card*/card*-*; do echo off > $c/status; done
# GRUB: Debian's grub-mkconfig, on this guest's real root device, with a kernel in /boot and
# arguments (IOMMU on, and vfio-pci.ids) in /etc/default/grub, runs Passage's grub.d script.
KV=$(uname -r)
mv /boot/vmlinuz-l3 /boot/vmlinuz-$KV && echo initrd > /boot/initrd.img-$KV && mkdir -p /boot/grub
cat > /etc/default/grub <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on vfio-pci.ids=1234:1111,8086:293e"
GRUB_CMDLINE_LINUX=""
GRUB
mkdir -p /etc/initramfs-tools && touch /etc/initramfs-tools/initramfs.conf
$P/passagectl plan --vfio $VGA --vfio $HDA --json > $OUT/plan.json || { echo "plan failed"; return 1; }
S=/etc/grub.d/99_passage_without_vfio
jq -e -r --arg f $S '.changes[] | select(.path == $f) | .after' $OUT/plan.json > $S || { echo "no grub.d script in the plan"; return 1; }
chmod "$(printf %o "$(jq -r --arg f $S '.changes[] | select(.path == $f) | .mode' $OUT/plan.json)")" $S
grub-mkconfig -o /boot/grub/grub.cfg > $OUT/grub-mkconfig.log 2>&1 || { cat $OUT/grub-mkconfig.log; return 1; }
cp /boot/grub/grub.cfg $OUT/grub.cfg
# The plan's boot files, as the helper would write them (the initramfs is not used here).
for f in /etc/modprobe.d/passage-vfio.conf /etc/udev/rules.d/61-passage-vfio.rules; do
  jq -e -r --arg f $f '.changes[] | select(.path == $f) | .after' $OUT/plan.json > $f || rm -f $f
  [ -f $f ] && cp $f $OUT/
done
# Back to before the drivers loaded: fbcon lets go of bochs, then unbind and unload.
for v in /sys/class/vtconsole/*; do grep -q "frame buffer" $v/name && echo 0 > $v/bind; done
for a in $VGA $HDA; do [ -e /sys/bus/pci/devices/$a/driver ] && echo $a > /sys/bus/pci/devices/$a/driver/unbind; done
for m in bochs snd_hda_intel vfio_pci; do rmmod $m; done
lsmod | grep -E '^(bochs|snd_hda_intel|vfio_pci) ' && { echo "modules still loaded"; return 1; }
/lib/systemd/systemd-udevd --daemon --resolve-names=never
udevadm trigger --action=add /sys/bus/pci/devices/$VGA /sys/bus/pci/devices/$HDA
udevadm settle --timeout=60
for a in $VGA $HDA; do echo "$a $(basename "$(readlink /sys/bus/pci/devices/$a/driver 2>/dev/null)")"; done > $OUT/drivers.txt
cat $OUT/drivers.txt
udevadm control --exit
