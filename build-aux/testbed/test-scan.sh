#!/bin/bash
# End-to-end on a real kernel: builds the test bed if needed, runs passagectl inside it (scan,
# check, capture) next to the kernel's own listings, then checks them against each other here.
# usage: build-aux/testbed/test-scan.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=${1:-$HERE/work}
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
P=$(mktemp -d); OUT=$(mktemp -d)
trap 'rm -rf "$P" "$OUT"' EXIT
cp "$HERE/payload-scan/run.sh" "$TOP/target/release/passagectl" "$P/"
"$HERE/exchange.sh" "$W" "$P" "$OUT"
[ "${KEEP:-}" ] && cp -r "$OUT/." "$KEEP/"
PASSAGE_TESTBED_OUT=$OUT cargo test -q -p passagectl --manifest-path "$TOP/Cargo.toml" --test cli -- --ignored live_test_bed
exit 0
