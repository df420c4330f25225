#!/bin/bash
# README command 2: the whole test suite, as CI runs it on a fresh machine.
#   formatting, clippy -D warnings, every crate's tests (fixtures, the captured real-kernel
#   host, lspci reading the fixture trees), then the real-kernel stage: passagectl inside the
#   nested QEMU test bed (a real kernel with an emulated IOMMU), checked against that kernel, and
#   passage-helper binding and restoring a device group there, with a real polkitd deciding.
# Set PASSAGE_SKIP_TESTBED=1 to leave out the test bed stage (about 2 minutes) while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
stage(){ echo; echo "=== $* (+$(( $(date +%s) - T0 ))s)"; }

stage "system packages"
build-aux/install-deps.sh --testbed
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} CARGO_TERM_COLOR=never

stage "rustfmt"
cargo fmt --all --check

stage "clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

stage "tests"
cargo test --workspace

if [ "${PASSAGE_SKIP_TESTBED:-0}" != 1 ]; then
  stage "real kernel: passagectl inside the nested QEMU test bed"
  build-aux/testbed/test-scan.sh
  stage "real kernel: passage-helper binds a group to vfio-pci and gives it back (polkit in the loop)"
  build-aux/testbed/test-helper.sh
fi
stage "all passed"
