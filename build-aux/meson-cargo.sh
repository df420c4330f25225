#!/bin/sh
# meson's cargo step: builds passage, passagectl (with passagectl-vm) and passage-helper with the
# profile's app id, locale dir and the installed paths in libexecdir of the helper (libvirt's hook
# dispatcher names it) and of passagectl-vm (`passagectl vm` and the app run it), and copies them
# where meson expects its outputs.
# usage: meson-cargo.sh SOURCE_ROOT BUILD_ROOT PROFILE APP_ID LOCALEDIR OUTDIR LIBEXECDIR
# CARGO_TARGET_DIR is honoured (the test command shares the tests' target dir this way), and
# PASSAGE_CARGO_PROFILE=debug builds the default profile unoptimised (the package check).
set -eu
src=$1 build=$2 profile=$3 app_id=$4 localedir=$5 out=$6 libexecdir=$7
target=${CARGO_TARGET_DIR:-$build/target}
if [ "$profile" = development ] || [ "${PASSAGE_CARGO_PROFILE:-}" = debug ]; then
  mode=debug; release=""
else
  mode=release; release=--release
fi
PASSAGE_APP_ID=$app_id PASSAGE_PROFILE=$profile PASSAGE_LOCALEDIR=$localedir \
  PASSAGE_HELPER=$libexecdir/passage-helper PASSAGECTL_VM=$libexecdir/passagectl-vm \
  cargo build $release -j "${CARGO_BUILD_JOBS:-2}" --manifest-path "$src/Cargo.toml" --target-dir "$target" \
  -p passage -p passagectl -p passage-helper
for b in passage passagectl passagectl-vm passage-helper; do cp "$target/$mode/$b" "$out/$b"; done
