#!/bin/bash
# meson builds the app, validates its data (meson test --suite data), and `meson install`
# puts every file where GNOME, D-Bus, systemd and polkit look for it: checked in a DESTDIR.
# The development profile is used (a debug build sharing the tests' target dir, so this adds
# little to the test run); both profiles install the same set of files.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
meson setup "$work/build" --prefix=/usr -Dprofile=development >/dev/null
meson compile -C "$work/build" >/dev/null
meson test -C "$work/build" --suite data --print-errorlogs
DESTDIR="$work/dest" meson install -C "$work/build" --no-rebuild >/dev/null
id=io.github.passage.Passage.Devel
. build-aux/install-layout.sh
want=$(install_layout $id)
have=$(cd "$work/dest" && find . -type f | sed 's|^\./||' | sort)
if [ "$have" != "$(echo "$want" | sort)" ]; then
  echo "meson install put other files than expected:"; diff <(echo "$want" | sort) <(echo "$have"); exit 1
fi
d="$work/dest/usr/share"
fail=0
# systemd's own reading of the preset and the unit's [Install]: the recovery is enabled.
systemctl preset --root="$work/dest" passage-helper-recover.service 2>/dev/null || { echo "systemctl preset failed"; fail=1; }
[ -L "$work/dest/etc/systemd/system/sysinit.target.wants/passage-helper-recover.service" ] \
  || { echo "systemctl preset did not enable passage-helper-recover.service"; fail=1; }
grep -q '^Name\[de\]=' "$d/applications/$id.desktop" || { echo "the desktop file has no German name"; fail=1; }
grep -q "^Icon=$id\$" "$d/applications/$id.desktop" || { echo "the desktop file's icon is not $id"; fail=1; }
grep -q 'xml:lang="de"' "$d/metainfo/$id.metainfo.xml" || { echo "the metainfo has no German"; fail=1; }
glib-compile-schemas --strict --targetdir "$work" "$d/glib-2.0/schemas" || fail=1
grep -qa "$id" "$work/dest/usr/bin/passage" || { echo "the installed app does not carry its id $id"; fail=1; }
grep -qa "/usr/share/locale" "$work/dest/usr/bin/passage" || { echo "the installed app does not know its locale dir"; fail=1; }
"$work/dest/usr/bin/passage" --help | grep -q -- --host-root || fail=1
# `passagectl vm` runs the VM commands' program from where meson installed it.
grep -qa "/usr/libexec/passagectl-vm" "$work/dest/usr/bin/passagectl" \
  || { echo "the installed passagectl does not name passagectl-vm's installed path"; fail=1; }
# systemd refuses to start a unit whose ReadWritePaths names a missing path: only paths every
# host has may go without the "-" that makes them optional.
unit="$work/dest/usr/lib/systemd/system/passage-helper.service"
for p in $(sed -n 's/^ReadWritePaths=//p' "$unit"); do
  case $p in -*|/etc|/boot|/var/lib/passage) ;; *) echo "$unit: ReadWritePaths $p is not on every host; write -$p"; fail=1;; esac
done
# The journal is root's alone, and the boot-time recovery, which holds sysinit.target, is bounded
# (a oneshot unit waits for ever by default).
grep -qx 'StateDirectoryMode=0700' "$unit" || { echo "$unit: the state directory is not StateDirectoryMode=0700"; fail=1; }
recover="$work/dest/usr/lib/systemd/system/passage-helper-recover.service"
timeout=$(sed -n 's/^TimeoutStartSec=//p' "$recover")
case $timeout in
  [1-9]min|1[0-5]min|[1-9][0-9]s|[1-9][0-9][0-9]s) ;;
  *) echo "$recover: TimeoutStartSec is '$timeout', not a bound between 10 s and 15 min"; fail=1;;
esac
if command -v systemd-analyze >/dev/null; then
  # systemd's own reading of both units (unknown keys and bad values are errors here).
  for u in "$unit" "$recover"; do
    out=$(systemd-analyze verify --root="$work/dest" "$u" 2>&1 | grep -Ei 'unknown|invalid|failed to parse' || true)
    [ -z "$out" ] || { echo "$u: $out"; fail=1; }
  done
fi
[ $fail = 0 ] && echo "meson install: $(echo "$have" | wc -l) files where GNOME, D-Bus, systemd and polkit expect them"
exit $fail
