#!/bin/bash
# Build the vIOMMU test bed: L2 kernel + initramfs, L3 initramfs, L2 ext4 root image.
# usage: sudo ./build.sh [WORKDIR]
# env: SUITE (bookworm), MIRROR, BACKPORTS=1 (adds SUITE-backports: KPKG=linux-image-6.12...),
#      KPKG (kernel package; default = what linux-image-amd64 depends on), WITH_LIBVIRT=1, PRUNE_MODULES=1
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:-$HERE/work}; mkdir -p "$W"; cd "$W"
SUITE=${SUITE:-bookworm}; # The Debian mirror this machine already uses (never hard-code one).
mirror_from_apt(){ { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'; \
  grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -v security | head -1 || true; }
MIRROR=${MIRROR:-$(mirror_from_apt)}
[ -n "$MIRROR" ] || { echo "no Debian mirror found in /etc/apt; set MIRROR" >&2; exit 1; }
T0=$(date +%s); t(){ echo "### +$(( $(date +%s)-T0 ))s $*"; }

t "debootstrap $SUITE"
rm -rf rootfs
debootstrap --variant=minbase --include=kmod,pciutils,procps,iproute2,qemu-system-x86,udev,jq,grub-common $SUITE rootfs $MIRROR >debootstrap.log
t "kernel package (downloaded inside the rootfs, so the host distro does not matter)"
cp /etc/resolv.conf rootfs/etc/resolv.conf
[ "${BACKPORTS:-0}" = 1 ] && echo "deb $MIRROR $SUITE-backports main" >> rootfs/etc/apt/sources.list
chroot rootfs apt-get -q update >/dev/null
[ -n "${KPKG:-}" ] || KPKG=$(chroot rootfs apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
rm -rf kpkg kernel; mkdir -p kpkg kernel
chroot rootfs sh -c "cd /tmp && apt-get -q download $KPKG" >/dev/null; mv rootfs/tmp/*.deb kpkg/
dpkg -x kpkg/*.deb kernel
KV=$(ls kernel/lib/modules); cp kernel/boot/vmlinuz-$KV vmlinuz; depmod -b kernel "$KV"
MD=kernel/lib/modules/$KV

. "$HERE/initrd.sh"   # mkmods, mkinitrd

t "initramfs (L2 boot, L3 test)"
rm -rf ir2 ir3
mkinitrd ir2 $HERE/guest/l2-initramfs-init initrd-l2.gz crc16 mbcache jbd2 crc32c_generic ext4 virtio_pci virtio_blk
mkinitrd ir3 $HERE/guest/l3-init initrd-l3.gz nvme
mkacpi

if [ "${WITH_LIBVIRT:-1}" = 1 ]; then
  t "libvirt in rootfs"
  printf '#!/bin/sh\nexit 101\n' > rootfs/usr/sbin/policy-rc.d; chmod +x rootfs/usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive chroot rootfs apt-get -qy install --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients dbus-daemon dbus-bin polkitd initramfs-tools openssh-server netcat-openbsd >/dev/null
  chroot rootfs groupadd -r kvm || true; chroot rootfs groupadd -r libvirt-qemu
  chroot rootfs useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  mkdir -p rootfs/etc/libvirt; cp $HERE/guest/qemu.conf $HERE/guest/l3.xml rootfs/etc/libvirt/
fi
rm -rf rootfs/var/cache/apt/archives/*.deb rootfs/var/lib/apt/lists/* rootfs/usr/share/doc rootfs/usr/share/man rootfs/usr/share/locale

t "modules, scripts, image"
mkdir -p rootfs/lib/modules; cp -a $MD rootfs/lib/modules/
if [ "${PRUNE_MODULES:-1}" = 1 ]; then   # drop big module trees a PCI/vfio test never needs
  (cd rootfs/lib/modules/$KV/kernel && rm -rf drivers/gpu/drm/{amd,nouveau,i915,radeon,xe} drivers/net/wireless drivers/media \
     drivers/infiniband drivers/staging drivers/scsi/{lpfc,qla2xxx,mpt3sas,bfa,be2iscsi} drivers/net/ethernet/{mellanox,intel,broadcom,chelsio,qlogic} sound/soc fs/{btrfs,xfs,ocfs2,bcachefs} net/{bluetooth,mac80211,wireless})
  depmod -b rootfs "$KV"
fi
install -m755 $HERE/guest/l2-test.sh $HERE/guest/l2-libvirt.sh $HERE/guest/l2-extra.sh $HERE/guest/l2-exchange.sh rootfs/usr/local/sbin/
install -m755 $HERE/guest/l2-systemd-payload.sh rootfs/usr/local/sbin/
install -m644 $HERE/guest/passage-testbed.service rootfs/etc/systemd/system/
cp vmlinuz rootfs/boot/vmlinuz-l3; cp initrd-l3.gz rootfs/boot/ir3.cpio.gz
cp kernel/boot/config-$KV rootfs/boot/   # update-initramfs reads it (the systemd test bed rebuilds the initramfs)
rm -f l2.img; truncate -s 2G l2.img; mkfs.ext4 -q -F -L l2root -d rootfs l2.img
rm -f nvme.img; truncate -s 256M nvme.img; printf 'NVME-TEST-PATTERN-0123456789abcdef' | dd of=nvme.img conv=notrunc status=none
t "done: $(du -sh --apparent-size l2.img | cut -f1) image ($(du -sh l2.img | cut -f1) used), kernel $KV"
