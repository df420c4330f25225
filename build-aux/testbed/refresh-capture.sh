#!/bin/bash
# Re-captures crates/fixtures/data/qemu-viommu from the test bed's real kernel.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
D=$TOP/crates/fixtures/data/qemu-viommu
K=$(mktemp -d); trap 'rm -rf "$K"' EXIT
KEEP=$K "$HERE/test-scan.sh" "${1:-$HERE/work}"
cp "$K/capture.tar.gz" "$D/capture.tar.gz"
for f in groups.txt drivers.txt lspci.txt release.txt; do cp "$K/$f" "$D/$f"; done
echo "refreshed $D"
