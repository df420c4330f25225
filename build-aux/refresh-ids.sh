#!/bin/bash
# Refreshes the bundled fallback ID databases from this system's pci.ids / usb.ids.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in pci usb; do
  src=$(ls /usr/share/hwdata/$f.ids /usr/share/misc/$f.ids 2>/dev/null | head -1)
  [ -n "$src" ] || { echo "no $f.ids on this system (apt-get install $f.ids)" >&2; exit 1; }
  gzip -9cn "$src" > crates/core/data/$f.ids.gz
done
