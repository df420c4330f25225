#!/bin/bash
# Runs Passage's domain reader, device editor and session settings over every domain of
# libvirt 9.0's own test data (Debian 12's source tarball, fetched into target/): nothing may
# panic, refusals must say why, and results must pass libvirt's schema
# (crates/core/tests/libvirt_sweep.rs). Not part of the test command: it downloads.
# usage: build-aux/sweep-libvirt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$PWD/target/libvirt-9.0.0
tarball=target/libvirt_9.0.0.orig.tar.xz
if [ ! -d "$dir/tests" ]; then
  mkdir -p target
  [ -f "$tarball" ] || curl -sfL -o "$tarball" https://deb.debian.org/debian/pool/main/libv/libvirt/libvirt_9.0.0.orig.tar.xz
  tar -xJf "$tarball" -C target --wildcards 'libvirt-9.0.0/tests/qemuxml2xmloutdata/*' 'libvirt-9.0.0/tests/qemuxml2argvdata/*.xml'
fi
for sub in qemuxml2xmloutdata qemuxml2argvdata; do
  echo "== $sub"
  LIBVIRT_TEST_DOMAINS=$dir/tests/$sub cargo test -q -p passage-core --test libvirt_sweep -- --ignored --nocapture 2>&1 | grep -E "swept|test result|problems|: "
done
