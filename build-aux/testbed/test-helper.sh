#!/bin/bash
# End-to-end on a real kernel: passage-helper, on a system bus with a real polkitd inside the
# nested test bed, binds the GPU-like group (VGA + HD audio) to vfio-pci and gives it back;
# the results are checked here.
# usage: build-aux/testbed/test-helper.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=${1:-$HERE/work}
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
P=$(mktemp -d); OUT=$(mktemp -d); chmod 755 "$P"  # the payload runs as other users too
trap 'rm -rf "$P" "$OUT"' EXIT
cp "$HERE/payload-helper/run.sh" "$TOP/target/release/passagectl" "$TOP/target/release/passage-helper" \
   "$TOP/data/io.github.passage.policy" "$TOP/data/io.github.passage.Helper1.conf" "$P/"
"$HERE/exchange.sh" "$W" "$P" "$OUT"
[ "${KEEP:-}" ] && cp -r "$OUT/." "$KEEP/"
PASSAGE_TESTBED_HELPER_OUT=$OUT cargo test -q -p passagectl --manifest-path "$TOP/Cargo.toml" --test helper_bus -- --ignored live_test_bed_helper
exit 0
