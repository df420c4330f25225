#!/bin/bash
# README command 1: set up and run Passage. Installs what the build needs, builds, and starts
# the app. On a machine without an IOMMU or a second GPU it opens on the bundled demo host
# (a banner says so). Extra arguments go to the app (--host-root DIR opens a host captured
# with `passagectl capture`; --demo forces the demo host).
# On a real host (passagectl check finds the IOMMU on and a graphics card free for a VM) it
# builds the Debian package (build-aux/package.sh), installs it with apt (through sudo unless
# run as root) and starts the installed app: Apply needs the helper, its polkit actions and its
# D-Bus activation installed on the system. PASSAGE_HOST_ROOT=DIR makes that decision on a
# captured host instead of this computer (a test hook; the app still reads this computer).
# On a machine without a display (a server, CI) the app opens on a virtual X display (Xvfb);
# a screenshot of its window is written to target/run-app.png.
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
cargo build --release -q -p passage -p passagectl
release=${CARGO_TARGET_DIR:-target}/release

# passagectl's own check decides: the IOMMU is on ("iommu") and a card is free for a VM
# ("gpu"). Anything else (a blocker, or a check that could not run) keeps the demo as before.
can_pass_through() {
  local args=(check --json) out rc=0
  [ -z "${PASSAGE_HOST_ROOT:-}" ] || args+=(--root "$PASSAGE_HOST_ROOT")
  out=$("$release/passagectl" "${args[@]}") || rc=$?
  if [ $rc -gt 1 ]; then
    echo "run-app: passagectl check could not read the host (exit $rc); starting the app from the build, as on a demo host." >&2
    return 1
  fi
  jq -e '[.findings[] | select(.severity == "ok") | .id] | (index("iommu") != null and index("gpu") != null)' \
    <<<"$out" >/dev/null
}

# Builds the package and installs it with apt, which pulls its dependencies from Debian.
install_package() {
  local version deb sudo=()
  version=$(dpkg-parsechangelog -S Version)
  deb=target/deb/passage_${version}_amd64.deb
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  echo "run-app: this computer has an IOMMU and a graphics card a VM can have. Setting it up (Apply) needs"
  echo "run-app: Passage's helper, its polkit actions and D-Bus activation on the system: building the package and installing it with apt${sudo:+ (sudo asks for your password)}."
  build-aux/package.sh
  "${sudo[@]}" apt install --reinstall "./$deb"
}

if can_pass_through; then
  install_package
  app=$(command -v passage) || { echo "run-app: the package is installed, but no passage command is on PATH" >&2; exit 1; }
  echo "run-app: starting the installed Passage ($app)."
else
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
  app=$release/passage
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$app" "$@"
fi

echo "run-app: no display here; starting Passage on a virtual X display (Xvfb)."
exec 3< <(Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp 2>/dev/null)
xvfb=$!   # the process substitution's pid: Xvfb itself (ended by pid, never by name)
read -r n <&3
export DISPLAY=:$n GDK_BACKEND=x11
# A session bus of its own too: the app registers its actions there.
dbus-run-session -- "$app" "$@" &
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
