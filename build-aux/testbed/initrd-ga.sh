# Sourced by test-session.sh in the work directory (after initrd.sh, with MD and HERE set):
# mkga builds initrd-ga.gz, the verify check's L3 guest (guest/ga-init as PID 1): busybox,
# Debian's qemu-guest-agent and pciutils' lspci with the libraries they link (copied from the
# test bed's Debian rootfs, where qemu-guest-agent is installed if it is not), and the modules
# for the virtio-serial port (virtio_console), the GPU-like VGA (bochs) and its HD audio
# (snd_hda_intel), so the guest has a driver on each.
mkga(){
  if [ ! -x rootfs/usr/sbin/qemu-ga ]; then
    cp /etc/resolv.conf rootfs/etc/resolv.conf
    chroot rootfs apt-get -q update >/dev/null
    DEBIAN_FRONTEND=noninteractive chroot rootfs apt-get -qy install --no-install-recommends qemu-guest-agent >/dev/null
    rm -rf rootfs/var/lib/apt/lists/* rootfs/var/cache/apt/archives/*.deb
  fi
  rm -rf irg; mkdir -p irg/bin irg/proc irg/sys irg/dev irg/tmp irg/mods
  cp /bin/busybox irg/bin/; install -m755 "$HERE/guest/ga-init" irg/init
  mkmods irg/mods virtio_pci virtio_console bochs snd-hda-intel
  local f lib
  for f in /usr/sbin/qemu-ga "$(chroot rootfs sh -c 'command -v lspci')"; do
    cp "rootfs$f" irg/bin/
    for lib in $(chroot rootfs ldd "$f" | grep -o '/[^ ]*'); do
      mkdir -p "irg$(dirname "$lib")"; cp -L "rootfs$lib" "irg$lib"
    done
  done
  (cd irg && find . | cpio -o -H newc 2>/dev/null | gzip -1) > initrd-ga.gz
  rm -rf irg
}
