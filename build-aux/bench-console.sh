#!/bin/bash
# The console's redraw (issue 23, item 5): frames a second and the app's CPU while a guest
# repaints its whole screen without end (testkit's pattern guest on a private libvirtd, SPICE
# without a port), then virt-viewer's CPU on the same guest where it is installed (the
# baseline). Release build by default; --debug for a quick run. Needs root (libvirtd).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=(--release); [ "${1:-}" = --debug ] && profile=()
cargo build -q "${profile[@]}" -p passagectl
cargo test -q "${profile[@]}" -p passage --test gui console::bench_spice_redraw -- --ignored --nocapture 2>/dev/null \
  | grep -E '^(passage console|virt-viewer)'
