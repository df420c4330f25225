#!/bin/bash
# The Debian package (build-aux/package.sh): it builds, lintian finds no error in it, it holds
# every file meson installs (build-aux/install-layout.sh) root's and not writable by anyone
# else, its dependencies are resolved, its maintainer scripts enable the boot-time recovery
# without starting it, and its postrm keeps the journal of a change still in effect on purge
# and says what stays (run against a temp root: crates/helper/tests/package_postrm.rs).
# The binaries are built unoptimised here (PASSAGE_DEB_CARGO_PROFILE=debug, reusing the tests'
# target dir): the layout and scripts are the same, and a release build from nothing would take
# most of CI's time. Set PASSAGE_DEB_CARGO_PROFILE=release to check the release package.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export PASSAGE_DEB_CARGO_PROFILE=${PASSAGE_DEB_CARGO_PROFILE:-debug}
# PASSAGE_DEB_CHECK_OUT=DIR keeps the package there for the next check (build-aux/test.sh hands
# it to check-package-system.sh); otherwise it is removed with the rest.
out=${PASSAGE_DEB_CHECK_OUT:-$CARGO_TARGET_DIR/deb-check}
work=$(mktemp -d); trap 'rm -rf "$work"; [ -n "${PASSAGE_DEB_CHECK_OUT:-}" ] || rm -rf "$out"' EXIT
fail=0

build-aux/package.sh "$out"
version=$(dpkg-parsechangelog -S Version)
deb=$out/passage_${version}_amd64.deb

# lintian: no error, and no warning but those debian/passage.lintian-overrides names with the
# reason each stays (the README lists them too).
lintian --fail-on error,warning --no-tag-display-limit "$deb" >"$work/lintian" 2>&1 \
  || { cat "$work/lintian"; echo "lintian found errors or warnings not overridden in $deb"; fail=1; }

# Every file meson installs, and the package's own documents; nothing else.
. build-aux/install-layout.sh
want=$( { install_layout io.github.passage.Passage | sed "s|^usr/lib/systemd/|lib/systemd/|"
          echo usr/share/doc/passage/copyright; echo usr/share/doc/passage/changelog.gz
          echo usr/share/lintian/overrides/passage; } | sort)
dpkg-deb -c "$deb" >"$work/list"
have=$(awk '$1 !~ /^d/ {sub(/^\.\//, "", $6); print $6}' "$work/list" | sort)
if [ "$have" != "$want" ]; then
  echo "the package holds other files than meson installs:"; diff <(echo "$want") <(echo "$have") || true; fail=1
fi
# root's alone to change (the libvirt hook runs the helper as root for every VM start, and the
# helper refuses to be named by it otherwise: passage_core::plan::hook::check_helper).
bad=$(awk '$2 != "root/root" || substr($1, 6, 1) == "w" || substr($1, 9, 1) == "w" || $1 ~ /[sS]/' "$work/list")
[ -z "$bad" ] || { echo "entries not root's alone, or set-id:"; echo "$bad"; fail=1; }
mode() { awk -v p="./$1" '$6 == p {print $1}' "$work/list"; }
for f in usr/libexec/passage-helper usr/libexec/passagectl-vm usr/bin/passage usr/bin/passagectl; do
  [ "$(mode $f)" = -rwxr-xr-x ] || { echo "$f is $(mode $f), not -rwxr-xr-x"; fail=1; }
done
for f in lib/systemd/system/passage-helper.service usr/share/polkit-1/actions/io.github.passage.policy \
         usr/share/dbus-1/system.d/io.github.passage.Helper1.conf; do
  [ "$(mode $f)" = -rw-r--r-- ] || { echo "$f is $(mode $f), not -rw-r--r--"; fail=1; }
done

# The files as installed: validated by the tools GNOME Software and the desktop read them with,
# and the binaries built for the package's paths (meson's options reached cargo).
dpkg-deb -x "$deb" "$work/root"
id=io.github.passage.Passage
desktop-file-validate "$work/root/usr/share/applications/$id.desktop" || fail=1
appstreamcli validate --no-net --explain "$work/root/usr/share/metainfo/$id.metainfo.xml" >/dev/null \
  || { echo "appstreamcli: the installed metainfo is not valid"; fail=1; }
grep -qa "$id" "$work/root/usr/bin/passage" || { echo "the packaged app does not carry its id $id"; fail=1; }
grep -qa /usr/libexec/passage-helper "$work/root/usr/bin/passagectl" \
  || { echo "the packaged passagectl does not name the helper's installed path"; fail=1; }
grep -qa /usr/libexec/passagectl-vm "$work/root/usr/bin/passagectl" \
  || { echo "the packaged passagectl does not name passagectl-vm's installed path"; fail=1; }
# The host commands start without libvirt; only the VM commands' program links it.
if readelf -d "$work/root/usr/bin/passagectl" | grep -q 'NEEDED.*\[libvirt'; then
  echo "the packaged passagectl links libvirt (only passagectl-vm may)"; fail=1
fi

# What Passage runs and links: the libraries found by dpkg-shlibdeps, the tools by name.
depends=$(dpkg-deb -f "$deb" Depends)
for p in libgtk-4-1 libadwaita-1-0 libvirt0 libvirt-daemon-system qemu-system-x86 ovmf polkitd dbus; do
  echo "$depends" | grep -Eq "(^|[ ,|])$p([ ,(]|\$)" || { echo "Depends lacks $p: $depends"; fail=1; }
done
dpkg-deb -f "$deb" Recommends | grep -q virt-viewer || { echo "virt-viewer is not recommended"; fail=1; }

# debhelper's maintainer scripts: the recovery enabled (what 90-passage.preset says), never
# started by the package; the helper only D-Bus-activated.
dpkg-deb -e "$deb" "$work/control"
grep -q "deb-systemd-helper.*enable 'passage-helper-recover.service'" "$work/control/postinst" \
  || { echo "postinst does not enable passage-helper-recover.service"; fail=1; }
if grep -Eq "deb-systemd-invoke.*(start|restart).*passage-helper" "$work/control/postinst"; then
  echo "postinst starts a Passage unit:"; grep -n deb-systemd-invoke "$work/control/postinst"; fail=1
fi

# The built postrm (with debhelper's parts, which honour DPKG_ROOT) against journals on temp roots.
PASSAGE_POSTRM=$work/control/postrm cargo test -q -p passage-helper --test package_postrm || fail=1

[ $fail = 0 ] && echo "package: $(basename "$deb"): lintian clean, $(echo "$have" | wc -l) files root's alone, purge keeps the journal of applied changes"
exit $fail
