#!/bin/bash
# README command 1: set up and run Passage. Installs what the build needs, builds, and starts
# the app. On a machine without an IOMMU or a second GPU it opens on the bundled demo host
# (a banner says so). Extra arguments go to the app (--host-root DIR opens a host captured
# with `passagectl capture`; --demo forces the demo host).
# On a machine without a display (a server, CI) the app opens on a virtual X display (Xvfb);
# a screenshot of its window is written to target/run-app.png.
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
cargo build --release -q -p passage -p passagectl

# Settings and translations from the source tree (meson install puts them in /usr).
mkdir -p target/schemas
sed 's/@app-id@/io.github.passage.Passage/; s/@gettext-package@/passage/' \
  data/io.github.passage.Passage.gschema.xml.in > target/schemas/io.github.passage.Passage.gschema.xml
glib-compile-schemas target/schemas
export GSETTINGS_SCHEMA_DIR=$PWD/target/schemas${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}
for l in $(cat po/LINGUAS); do
  mkdir -p "target/locale/$l/LC_MESSAGES" && msgfmt -o "target/locale/$l/LC_MESSAGES/passage.mo" "po/$l.po"
done
export PASSAGE_LOCALEDIR=$PWD/target/locale

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec target/release/passage "$@"
fi

echo "run-app: no display here; starting Passage on a virtual X display (Xvfb)."
exec 3< <(Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp 2>/dev/null)
xvfb=$!   # the process substitution's pid: Xvfb itself (ended by pid, never by name)
read -r n <&3
export DISPLAY=:$n GDK_BACKEND=x11
# A session bus of its own too: the app registers its actions there.
dbus-run-session -- target/release/passage "$@" &
app=$!
trap 'kill $app 2>/dev/null; kill $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  xwininfo -root -tree 2>/dev/null | grep -q '"Passage"' && break
  sleep 0.2
done
sleep 1
import -window root -crop 960x680+0+0 +repage target/run-app.png
echo "run-app: Passage is running on display :$n; its window: target/run-app.png. Ctrl+C stops it."
wait $app
