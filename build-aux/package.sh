#!/bin/bash
# Builds the Debian package passage_VERSION_amd64.deb with dpkg-buildpackage (debhelper drives
# meson, meson drives cargo) and puts it in OUTDIR (default target/deb).
# usage: build-aux/package.sh [OUTDIR]
# dpkg-buildpackage writes next to the source tree, so the checkout's files (committed or not,
# as `git ls-files` lists them) are copied to OUTDIR/src/passage-VERSION and built there; the
# Rust build goes to CARGO_TARGET_DIR (default the checkout's target/, so dependencies built
# before are reused). PASSAGE_DEB_CARGO_PROFILE=debug builds the binaries unoptimised, for a
# quicker check of the package's layout and scripts (build-aux/check-package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(realpath -m "${1:-target/deb}")

version=$(sed -n "s/^  version: '\(.*\)',$/\1/p" meson.build)
cargo_version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
deb_version=$(dpkg-parsechangelog -S Version)
if [ -z "$version" ] || [ "$version" != "$cargo_version" ] || [ "$version" != "$deb_version" ]; then
  echo "package: the versions differ (meson.build '$version', Cargo.toml '$cargo_version', debian/changelog '$deb_version'); make them one (dch -v $version for the changelog)" >&2
  exit 1
fi
command -v cargo >/dev/null || { echo "package: no cargo in PATH; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

# debhelper 13 sets HOME to a directory of its own: cargo and rustup would look there for
# their toolchain and crate cache. Name the real ones, so the build works offline once
# `cargo fetch` ran (as every earlier build here did) and on a fresh machine with network.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
export PASSAGE_CARGO_PROFILE=${PASSAGE_DEB_CARGO_PROFILE:-}

src=$out/src/passage-$version
rm -rf "$out/src"; mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar -c --null -T - | tar -x -C "$src"

t0=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$CARGO_BUILD_JOBS") > "$out/build.log" 2>&1 || {
  tail -40 "$out/build.log" >&2; echo "package: dpkg-buildpackage failed; the whole log is $out/build.log" >&2; exit 1; }
deb=passage_${version}_amd64.deb
mv "$out/src/$deb" "$out/$deb"
mv "$out/src"/passage_"${version}"_amd64.{buildinfo,changes} "$out/" 2>/dev/null || true
rm -rf "$out/src"
echo "package: $out/$deb ($(du -h "$out/$deb" | cut -f1), built in $(( $(date +%s) - t0 ))s)"
