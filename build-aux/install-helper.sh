#!/bin/bash
# Installs passage-helper as a host package would: the binary in libexecdir, the busconfig,
# D-Bus activation, the hardened systemd unit and the polkit actions.
# usage: sudo build-aux/install-helper.sh [PREFIX]      (default /usr; DESTDIR is honoured)
# The GUI can ship as a flatpak; the helper cannot (a flatpak cannot install system services).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${1:-/usr}
D=${DESTDIR:-}
LIBEXEC=$PREFIX/libexec
BIN=${PASSAGE_HELPER_BIN:-target/release/passage-helper}
[ -x "$BIN" ] || cargo build --release -q -p passage-helper
sub(){ sed "s|@libexecdir@|$LIBEXEC|g" "$1"; }
install -Dm755 "$BIN" "$D$LIBEXEC/passage-helper"
install -Dm644 data/io.github.passage.Helper1.conf "$D$PREFIX/share/dbus-1/system.d/io.github.passage.Helper1.conf"
install -Dm644 <(sub data/io.github.passage.Helper1.service.in) "$D$PREFIX/share/dbus-1/system-services/io.github.passage.Helper1.service"
install -Dm644 <(sub data/passage-helper.service.in) "$D$PREFIX/lib/systemd/system/passage-helper.service"
install -Dm644 <(sub data/passage-helper-recover.service.in) "$D$PREFIX/lib/systemd/system/passage-helper-recover.service"
install -Dm644 data/90-passage.preset "$D$PREFIX/lib/systemd/system-preset/90-passage.preset"
install -Dm644 data/io.github.passage.policy "$D$PREFIX/share/polkit-1/actions/io.github.passage.policy"
install -dm700 "$D/var/lib/passage"
# The boot-time recovery, enabled as its preset says (where systemctl can run on this root).
if [ -z "$D" ] && command -v systemctl >/dev/null; then
  systemctl preset passage-helper-recover.service 2>/dev/null || echo "enable the boot-time recovery: systemctl enable passage-helper-recover.service"
elif [ -n "$D" ] && command -v systemctl >/dev/null; then
  systemctl preset --root="$D" passage-helper-recover.service 2>/dev/null || true
fi
echo "installed passage-helper under ${D:-}$PREFIX"
