#!/bin/bash
# README command 1: set up and run Passage. Installs what the build needs, builds, starts the
# app. On a machine without an IOMMU or a second GPU it opens on the bundled demo host.
# Extra arguments go to the app (--host-root DIR opens a host captured with passagectl capture).
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
cargo build --release -q -p passage -p passagectl
exec target/release/passage "$@"
