#!/bin/bash
# Installs the system packages Passage's build, tests and test bed need (Debian 12).
# usage: build-aux/install-deps.sh [--testbed]
#   --testbed  also the packages that build and boot the nested QEMU test bed
#              (qemu-system-x86 from bookworm-backports, debootstrap, busybox, ...) and the
#              clean Debian 12 the package is installed on (debootstrap, systemd-nspawn)
# Idempotent: installs only what is missing. Needs root (uses sudo otherwise).
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

pkgs=(pciutils pci.ids usb.ids hyperfine python3 jq grub-common systemd dbus-daemon dbus-bin polkitd util-linux libxml2-utils libvirt-clients libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu ovmf seabios ipxe-qemu swtpm swtpm-tools pkg-config gettext locales
      libgtk-4-dev libadwaita-1-dev libvte-2.91-gtk4-dev libspice-client-glib-2.0-dev libgvnc-1.0-dev libglib2.0-dev-bin meson ninja-build desktop-file-utils appstream
      xvfb xauth xdotool x11-utils imagemagick fonts-cantarell adwaita-icon-theme librsvg2-common
      at-spi2-core python3-pyatspi gir1.2-atspi-2.0
      dpkg-dev build-essential debhelper lintian binutils
      openssh-client openssh-server netcat-openbsd
      libosinfo-bin osinfo-db xorriso)
testbed=0
for a in "$@"; do case $a in --testbed) testbed=1;; *) echo "unknown option: $a" >&2; exit 2;; esac; done
if [ $testbed = 1 ]; then
  pkgs+=(debootstrap busybox-static cpio kmod e2fsprogs xz-utils zstd gzip systemd-container)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# QEMU (and its SPICE module, which libvirt needs for SPICE displays) from bookworm-backports.
need_qemu=0
if ! command -v qemu-system-x86_64 >/dev/null || ! dpkg-query -W -f='${Status}' qemu-system-modules-spice 2>/dev/null | grep -q 'install ok installed'; then
  need_qemu=1
fi
[ ${#missing[@]} = 0 ] && [ $need_qemu = 0 ] && exit 0

# bookworm-backports, from the Debian mirror this machine already uses (never a hard-coded host).
if [ $need_qemu = 1 ] && ! grep -rqs -- '-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  . "$(dirname "$0")/apt-mirror.sh"
  mirror=$(debian_mirror "$suite")
  [ -n "$mirror" ] || { echo "install-deps: no Debian mirror for $suite found in /etc/apt; add $suite-backports by hand" >&2; exit 1; }
  printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" | $SUDO tee /etc/apt/sources.list.d/passage-backports.sources >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
[ ${#missing[@]} = 0 ] || $SUDO apt-get install -qy --no-install-recommends "${missing[@]}" >/dev/null
if [ $need_qemu = 1 ]; then
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  $SUDO apt-get install -qy --no-install-recommends -t "$suite-backports" qemu-system-x86 qemu-system-modules-spice >/dev/null
fi
